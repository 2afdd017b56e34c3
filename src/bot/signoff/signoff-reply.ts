// What the sign-off says: the decision a complete sign-off records, the one its withdrawal records, and the
// reply on the evidence PR. Pure: the texts are data, tested without GitHub.

import type { KeyObject } from "node:crypto";
import type { Gate, Decision, Verdict } from "../../gates/model/index.js";
import { promotionState } from "./promotion.js";
import { promotionContext, requiredApprovals } from "../github/promotion-status.js";
import type { RunRecord } from "../runs/run-state.js";

/** The decision a completed sign-off records: a GO only ever for a PASS. */
export function signoffDecision(gateTitle: string, verdict: Verdict, approvers: string[], at: string, prUrl: string): Decision {
  const who = approvers.map((a) => `@${a}`).join(", ");
  return verdict === "PASS"
    ? {
        time: at,
        title: `${gateTitle} GO`,
        authority: `sign-off by ${who}`,
        decision: "GO for production promotion",
        rationale: `the full run PASSed and the sign-off policy's approvals are complete (${prUrl})`,
      }
    : {
        time: at,
        title: `${gateTitle} NO-GO acknowledged`,
        authority: `sign-off by ${who}`,
        decision: `NO-GO acknowledged: the run's verdict is ${verdict}; an approval cannot turn it into a GO`,
        rationale: `the evidence of a ${verdict} was reviewed and acknowledged (${prUrl})`,
      };
}

export function withdrawalDecision(gateTitle: string, by: string, at: string, prUrl: string): Decision {
  return {
    time: at,
    title: `${gateTitle} GO withdrawn`,
    authority: `dismissal of @${by}'s approval`,
    decision: "GO withdrawn: the sign-off is incomplete again",
    rationale: prUrl,
  };
}

export function signoffReply(
  gate: Gate,
  reviewer: string,
  state: "approved" | "dismissed",
  run: RunRecord,
  decision: Decision | undefined,
  /** The key entries are signed and checked with; undefined: recorded unsigned. */
  approvalKey: KeyObject | undefined,
): string {
  const unsigned = !approvalKey;
  const required = requiredApprovals(gate);
  const have = run.signoff?.approvals.length ?? 0;
  const count = `${have} of ${required} required approval${required === 1 ? "" : "s"}`;
  const context = `\`${promotionContext(gate.name)}\``;
  const signed = unsigned ? " ⚠️ The bot has no EVIDENCE_SIGNING_KEY: this entry is recorded unsigned." : "";
  const recorded =
    state === "approved"
      ? `Recorded @${reviewer}'s approval of run \`${run.id}\` (${count}).${signed}`
      : `Recorded the dismissal of @${reviewer}'s approval (${count} remain).${signed}`;
  const verdict = promotionState(run, approvalKey);
  if (verdict === "go")
    return `${recorded}\n\n✅ **${decision?.title ?? `${gate.title} GO`}: GO for production promotion.** ${context} on ${run.headSha.slice(0, 7)} is green.`;
  if (verdict === "no-go" && run.signoff?.status === "complete") {
    return `${recorded}\n\n**NO-GO acknowledged.** The verdict is ${run.verdict}; an approval cannot make it a GO, so ${context} on ${run.headSha.slice(0, 7)} stays red.`;
  }
  if (verdict === "withheld")
    return `${recorded}\n\n**No GO from this run:** ${run.attempt?.goWithheld ?? "the gate's retry rule does not count it"}. ${context} on ${run.headSha.slice(0, 7)} stays pending.`;
  if (run.signoff?.status === "withdrawn") return `${recorded} The GO is withdrawn: ${context} is pending again.`;
  return `${recorded} The sign-off is pending.`;
}
