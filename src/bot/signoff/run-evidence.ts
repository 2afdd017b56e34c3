// What the bot records when a run's evidence PR is open: the evidence commit it made (approvals count only
// on the bot's commits), the pending sign-off, older evidence PRs of the same commit superseded (commented
// and closed), and the promotion status, which only a full run sets.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Gate } from "../../gates/model/index.js";
import { ATTESTATION_DSSE_FILE } from "../../gates/evidence/index.js";
import type { BotLog } from "../boot/bot-log.js";
import type { EvidencePullRequest } from "../github/evidence-pr.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { setPromotionStatus } from "../github/promotion-status.js";
import type { RunRecord, RunState } from "../runs/run-state.js";

/** SHA-256 of the bundle's signed attestation envelope, the first link of the sign-off chain; undefined when unsigned. */
export async function attestationDigestOf(bundleDir: string): Promise<string | undefined> {
  try {
    return createHash("sha256")
      .update(await readFile(join(bundleDir, ATTESTATION_DSSE_FILE)))
      .digest("hex");
  } catch {
    return undefined;
  }
}

/**
 * A newer run supersedes the older evidence PRs of the same gate on the same commit: a full run every
 * older one, a partial run only older partial ones (a smoke check does not unseat a full run's evidence).
 */
export function supersedes(newer: RunRecord, older: RunRecord): boolean {
  return (
    older.id !== newer.id && older.evidencePullNumber !== undefined && older.signoff?.status !== "superseded" && (newer.full || !older.full)
  );
}

export async function recordEvidence(
  github: GitHub,
  where: RepoRef,
  gate: Gate,
  state: RunState,
  runId: string,
  evidence: EvidencePullRequest,
  o: { attestationDigest?: string; log: BotLog },
): Promise<RunRecord | null> {
  const run = await state.update(runId, (r) => ({
    evidencePullNumber: evidence.number,
    evidenceUrl: evidence.url,
    evidenceBase: evidence.base,
    evidenceCommits: [...new Set([...(r.evidenceCommits ?? []), evidence.commitSha])],
    // A fresh sign-off with this evidence, always: one already in the record (put there by anyone) never carries over.
    signoff: { status: "pending", approvals: [] },
    signoffLog: [],
    signoffWritten: 0,
    ...(o.attestationDigest ? { attestationDigest: o.attestationDigest } : {}),
  }));
  if (!run) return null;
  const runs = await state.runsForCommit(run.owner, run.repo, run.gate, run.headSha);
  const older = runs.slice(runs.findIndex((r) => r.id === run.id) + 1);
  for (const old of older) {
    if (!supersedes(run, old)) continue;
    const marked = await state.update(old.id, (r) =>
      r.signoff?.status === "superseded"
        ? null
        : { signoff: { ...(r.signoff ?? { approvals: [] }), status: "superseded", supersededBy: run.id } },
    );
    if (!marked || marked.signoff?.supersededBy !== run.id) continue;
    try {
      await github.rest.issues.createComment({
        ...where,
        issue_number: old.evidencePullNumber!,
        body:
          `Superseded: run \`${run.id}\` (${run.scope}, ${run.verdict}) measured the same commit ${run.headSha.slice(0, 7)} after run \`${old.id}\`. ` +
          `Approvals of this PR no longer count; review ${evidence.url} instead. Closing this PR.`,
      });
      await github.rest.pulls.update({ ...where, pull_number: old.evidencePullNumber!, state: "closed" });
    } catch (err) {
      o.log.warn({ err, runId: old.id }, "could not close a superseded evidence PR");
    }
  }
  await setPromotionStatus(github, where, gate, run, { approvalKey: state.approvalKey, targetUrl: evidence.url });
  return run;
}
