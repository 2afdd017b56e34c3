// What a run means for promotion, read from the bot's own record of it: only a finished run of every
// phase that PASSed and was signed off is a GO. Pure, so the deployment protection rule, the sign-off
// and the status share one answer.

import type { RunRecord } from "./run-state.js";

export type PromotionState = "go" | "no-go" | "pending" | "partial" | "superseded" | "unfinished";

export function promotionState(run: RunRecord): PromotionState {
  if (run.phase !== "finished" || !run.verdict) return "unfinished";
  if (run.signoff?.status === "superseded") return "superseded";
  // A smoke-only PASS says nothing about the bars of the phases it skipped.
  if (!run.full) return "partial";
  if (run.verdict !== "PASS" || run.aborted) return "no-go";
  return run.signoff?.status === "complete" ? "go" : "pending";
}
