// Stand-in for issue 12's module (sign-off state): what a run means for promotion. Keep theirs at merge.

import type { RunRecord } from "./run-state.js";

/**
 * go: a full PASS whose sign-off is complete; pending: a full PASS awaiting sign-off; partial: a PASS
 * of only some phases; no-go: not a PASS; superseded: a newer run replaced it; unfinished: no verdict yet.
 */
export function promotionState(run: RunRecord): "go" | "no-go" | "pending" | "partial" | "superseded" | "unfinished" {
  if (run.signoff?.status === "superseded") return "superseded";
  if (run.phase !== "finished" || !run.verdict) return run.phase === "cancelled" || run.phase === "lost" ? "no-go" : "unfinished";
  if (run.verdict !== "PASS" || run.aborted) return "no-go";
  if (!run.full) return "partial";
  return run.signoff?.status === "complete" ? "go" : "pending";
}
