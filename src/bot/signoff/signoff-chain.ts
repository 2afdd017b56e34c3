// The check that a run record's sign-off is the one its signed approval chain records: every entry signed
// with the bot's evidence key (or, on a bot without one, every entry unsigned), each linked to the one
// before it from the bundle's attestation, each about this run, commit and verdict, and the approvals and
// outcome they add up to equal to what the record says. A record saying "complete" is a GO only then.

import { createPublicKey, type KeyObject } from "node:crypto";
import { verifyEnvelope, sha256Hex, APPROVAL_PAYLOAD_TYPE, chainHead, type ApprovalEntry } from "../../gates/evidence/index.js";
import type { RunRecord } from "../runs/run-record.js";

/** The entry a line of the chain holds, checked against the bot's key, or why it cannot be believed. */
function readEntry(line: string, publicKey: KeyObject | undefined): { entry: ApprovalEntry } | { problem: string } {
  let parsed: { unsigned?: ApprovalEntry } & Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return { problem: "is not JSON" };
  }
  if (!publicKey) {
    // A bot without EVIDENCE_SIGNING_KEY records entries unsigned; the record's seal is then all that vouches.
    return parsed.unsigned ? { entry: parsed.unsigned } : { problem: "is signed, but the bot has no EVIDENCE_SIGNING_KEY to check it" };
  }
  if (parsed.unsigned) return { problem: "is unsigned, but the bot signs every entry with its EVIDENCE_SIGNING_KEY" };
  const check = verifyEnvelope(parsed, publicKey, APPROVAL_PAYLOAD_TYPE);
  if (!check.ok) return { problem: `has no valid signature (${check.problem})` };
  try {
    return { entry: JSON.parse(check.payload.toString("utf8")) as ApprovalEntry };
  } catch {
    return { problem: "signs something that is not an approval entry" };
  }
}

/**
 * Why the record's sign-off is not backed by its signed chain, or null when it is. `key` is the bot's
 * evidence signing key (undefined when it has none). Pure: data in, an answer out.
 */
export function signoffChainProblem(run: RunRecord, key: KeyObject | undefined): string | null {
  const publicKey = key ? createPublicKey(key) : undefined;
  const lines = run.signoffLog ?? [];
  const approved = new Map<number, string>();
  let previous = run.attestationDigest ?? chainHead("", []);
  let last: ApprovalEntry | undefined;
  for (const [i, line] of lines.entries()) {
    const where = `signed sign-off entry ${i + 1} of run ${run.id}`;
    const read = readEntry(line, publicKey);
    if ("problem" in read) return `${where} ${read.problem}`;
    const e = read.entry;
    if (e.previous !== previous) return `${where} does not link to the entry before it (an entry was removed, added or reordered)`;
    if (
      e.run !== run.id ||
      e.gate !== run.gate ||
      e.commit !== run.headSha ||
      e.verdict !== (run.verdict ?? "ERROR") ||
      e.full !== run.full
    )
      return `${where} is about run ${e.run} (${e.gate}, commit ${e.commit.slice(0, 7)}, ${e.verdict}), not this one`;
    if (e.state === "approved") approved.set(e.reviewId, e.reviewer.toLowerCase());
    else approved.delete(e.reviewId);
    previous = sha256Hex(Buffer.from(line, "utf8"));
    last = e;
  }
  const status = run.signoff?.status ?? "pending";
  const recorded = run.signoff?.approvals ?? [];
  if (!last) return recorded.length || status === "complete" ? `no signed entry backs the sign-off of run ${run.id}` : null;
  // "superseded" is set by the bot without an entry: the chain's last outcome is what it was before.
  if (status !== "superseded" && last.outcome !== status)
    return `the record of run ${run.id} says its sign-off is ${status}, but its last signed entry says ${last.outcome}`;
  const same = recorded.length === approved.size && recorded.every((a) => approved.get(a.reviewId) === a.login.toLowerCase());
  if (!same)
    return `the approvals in the record of run ${run.id} (${recorded.map((a) => `@${a.login}`).join(", ") || "none"}) are not the ones its signed entries record`;
  return null;
}
