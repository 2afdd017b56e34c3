// A run record whose sign-off is backed by a signed approval chain, as the bot's sign-off would leave it:
// for tests of what a GO is, without replaying reviews through webhooks.

import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import { appendEntry } from "../../../src/bot/signoff/signoff-record.js";

/** An Ed25519 key standing for the bot's EVIDENCE_SIGNING_KEY. */
export function approvalKey(): KeyObject {
  return generateKeyPairSync("ed25519").privateKey;
}

/**
 * `r` with a signoffLog recording each of its approvals in order, signed with `key` (unsigned without
 * one), the last entry's outcome the record's status ("complete" for a superseded run, which has no entry).
 */
export function withSignedChain(r: RunRecord, key: KeyObject | undefined): RunRecord {
  const approvals = r.signoff?.approvals ?? [];
  let out: RunRecord = { ...r, signoffLog: [] };
  approvals.forEach((a, i) => {
    const last = i === approvals.length - 1;
    const status = r.signoff!.status === "superseded" ? "complete" : r.signoff!.status;
    out = {
      ...out,
      signoffLog: appendEntry(out, key, {
        reviewer: a.login,
        state: "approved",
        reviewId: a.reviewId,
        reviewedCommit: a.commitId,
        at: a.at,
        outcome: last ? status : "pending",
      }),
    };
  });
  return out;
}
