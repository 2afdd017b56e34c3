// The promotion status: one commit status per gate, `release-gate/<gate>`, set only by the App from its
// own run record. Its context never changes with the command's label, so branch protection can require it.

import type { KeyObject } from "node:crypto";
import type { Gate } from "../../gates/model/index.js";
import type { GitHub, RepoRef } from "./github.js";
import { promotionState } from "../signoff/promotion.js";
import type { RunRecord } from "../runs/run-state.js";

/** GitHub cuts a commit status description at this many characters. */
export const STATUS_DESCRIPTION_LIMIT = 140;

export function promotionContext(gateName: string): string {
  return `release-gate/${gateName}`;
}

/** How many approvals a GO needs: the policy's, and never fewer than one person. */
export function requiredApprovals(gate: Gate): number {
  return Math.max(1, gate.signoff.approvals);
}

export interface PromotionStatus {
  state: "success" | "pending" | "failure";
  description: string;
}

/** " (attempt 3 of 3 on this commit, after FAIL, FAIL)": which attempt the run was, and what came before. */
export function attemptNote(run: RunRecord): string {
  const a = run.attempt;
  if (!a) return "";
  const after = a.earlier.length ? `, after ${a.earlier.map((e) => e.verdict).join(", ")}` : "";
  return ` (attempt ${a.number} of ${a.max} on this commit${after})`;
}

/**
 * What the promotion status says for a run, or null when the run must not set it at all (a partial run,
 * an unfinished one). Success only for a GO; a FAIL or ERROR is red whoever acknowledges it.
 */
export function promotionStatusFor(
  run: RunRecord,
  gate: Gate,
  approvalKey: KeyObject | undefined,
  withdrawnBy?: string,
): PromotionStatus | null {
  const state = promotionState(run, approvalKey);
  const who = (run.signoff?.approvals ?? []).map((a) => `@${a.login}`).join(", ");
  const count = `${run.signoff?.approvals.length ?? 0} of ${requiredApprovals(gate)} approval${requiredApprovals(gate) === 1 ? "" : "s"}`;
  const attempt = attemptNote(run);
  switch (state) {
    case "go":
      return { state: "success", description: `GO${attempt}: ${run.verdict} of run ${run.id} signed off by ${who}` };
    case "no-go":
      return {
        state: "failure",
        description:
          run.signoff?.status === "complete"
            ? `NO-GO (${run.verdict})${attempt} acknowledged by ${who}`
            : `NO-GO${attempt}: run ${run.id} ended ${run.aborted ? "aborted" : run.verdict}`,
      };
    case "pending":
      return {
        state: "pending",
        description: withdrawnBy
          ? `approval withdrawn by @${withdrawnBy}: ${count}`
          : `awaiting sign-off of run ${run.id}${attempt}: ${count}`,
      };
    case "superseded":
      return { state: "pending", description: `run ${run.id} was superseded by run ${run.signoff?.supersededBy ?? "a newer run"}` };
    case "withheld":
      return { state: "pending", description: `no GO yet${attempt}: ${run.attempt?.goWithheld ?? "the retry rule"}` };
    case "unverified":
      return {
        state: "failure",
        description: run.attempt?.ledgerProblem
          ? `NO-GO: the attempt ledger of ${run.headSha.slice(0, 7)} failed its check; the bot's log has why`
          : `NO-GO: the sign-off of run ${run.id} is not backed by its signed approvals; the bot's log has why`,
      };
    case "partial":
    case "unfinished":
      return null;
  }
}

export async function setPromotionStatus(
  github: GitHub,
  where: RepoRef,
  gate: Gate,
  run: RunRecord,
  o: { approvalKey: KeyObject | undefined; targetUrl?: string; withdrawnBy?: string },
): Promise<PromotionStatus | null> {
  const status = promotionStatusFor(run, gate, o.approvalKey, o.withdrawnBy);
  // The status belongs to the commit the run measured; a run of an unknown commit has nowhere to put it,
  // and a record of another repository never speaks for this one.
  if (!status || !/^[0-9a-f]{40}$/i.test(run.headSha)) return null;
  if (run.owner.toLowerCase() !== where.owner.toLowerCase() || run.repo.toLowerCase() !== where.repo.toLowerCase()) return null;
  await github.rest.repos.createCommitStatus({
    ...where,
    sha: run.headSha,
    state: status.state,
    context: promotionContext(gate.name),
    description: status.description.slice(0, STATUS_DESCRIPTION_LIMIT),
    ...(o.targetUrl ? { target_url: o.targetUrl } : {}),
  });
  return status;
}
