// What a run means for promotion, read from the bot's own record of it together with the signed approval
// chain the record carries: only a finished run of every phase that PASSed and was signed off, with every
// approval backed by a valid signed entry, is a GO. Pure, so the deployment protection rule, the sign-off
// and the status share one answer.

import type { KeyObject } from "node:crypto";
import type { RunRecord } from "../runs/run-record.js";
import { signoffChainProblem } from "./signoff-chain.js";

/**
 * "unverified": the record says GO, but its signed approval chain (or its commit's attempt ledger) does not
 * back it: never a GO. "withheld": a PASS the gate's retry rule does not let become a GO (yet).
 */
export type PromotionState = "go" | "no-go" | "pending" | "partial" | "superseded" | "unfinished" | "unverified" | "withheld";

/** `approvalKey` is the bot's evidence signing key (undefined when it has none): each caller must say which. */
export function promotionState(run: RunRecord, approvalKey: KeyObject | undefined): PromotionState {
  if (run.phase !== "finished" || !run.verdict) return "unfinished";
  if (run.signoff?.status === "superseded") return "superseded";
  // A smoke-only PASS says nothing about the bars of the phases it skipped.
  if (!run.full) return "partial";
  if (run.verdict !== "PASS" || run.aborted) return "no-go";
  // The retry rule declared in advance: a ledger that cannot be believed backs nothing, and a PASS the rule does not count is no GO.
  if (run.attempt?.ledgerProblem) return "unverified";
  if (run.attempt?.goWithheld) return "withheld";
  if (run.signoff?.status !== "complete") return "pending";
  return signoffChainProblem(run, approvalKey) === null ? "go" : "unverified";
}
