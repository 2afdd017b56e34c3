// Publishing a finished run to GitHub, written once: the evidence PR of its bundle (one commit, the gate's
// reviewers asked), the verdict on a check run of the gated commit, then the war-room comment. The App's
// runner publishes its runs through publishRun; `gate publish` and `gate ci` publish a bundle made in a
// workflow through publishBundle, which never sets the promotion status: only the App does, from its
// own record of a run.

import type { Gate } from "../../gates/model/index.js";
import type { GitHub, RepoRef } from "./github.js";
import { openEvidencePullRequest, readBundleFacts, strayFilesNote, type EvidencePullRequest } from "./evidence-pr.js";
import { completeCheckRun, conclusionFor, createCompletedCheckRun, type CheckConclusion } from "./check-run.js";
import { findMarkedComment, latestUpdateFromSummary, renderPublishedComment, upsertComment, warRoomMarker } from "./war-room-comment.js";

/** The verdict as a check run shows it. */
export interface VerdictCheck {
  /** The App's check run, in progress since the run started; or a new one on the gated commit (a workflow's). */
  run: { id: number } | { name: string; headSha: string };
  conclusion: CheckConclusion;
  title: string;
  /** Followed by the evidence PR's link, or by why there is none. */
  summary: string;
}

export interface Publication {
  gate: Gate;
  bundleDir: string;
  /** The pull request that asked for the run ("#12"), named in the evidence PR. */
  sourcePullRequest?: string;
  /** Where the verdict goes; none when there is no commit to put it on. */
  check?: VerdictCheck;
  /**
   * Without it, an evidence PR that cannot be opened stops the publishing (its error is thrown). With it,
   * publishing goes on, and what it returns says why there is no evidence PR.
   */
  withoutEvidence?(err: unknown): string;
  /** What the caller records once the evidence PR is open (or is not), before the check run tells anyone. */
  recordEvidence?(evidence: EvidencePullRequest | null): Promise<void>;
}

export interface PublishedRun {
  evidence: EvidencePullRequest | null;
  /** Why there is no evidence PR (see withoutEvidence); "" when there is one. */
  evidenceProblem: string;
  /** The check run created for the verdict; null when an existing one was completed, or none was written. */
  checkRunUrl: string | null;
  /** What went wrong without stopping the publishing: reviewers not requested, the check run not written. */
  problems: string[];
}

export async function publishRun(github: GitHub, where: RepoRef, p: Publication): Promise<PublishedRun> {
  let evidence: EvidencePullRequest | null = null;
  let evidenceProblem = "";
  try {
    evidence = await openEvidencePullRequest(github, where, {
      gate: p.gate,
      bundleDir: p.bundleDir,
      sourcePullRequest: p.sourcePullRequest,
    });
  } catch (err) {
    if (!p.withoutEvidence) throw err;
    evidenceProblem = p.withoutEvidence(err);
  }
  const problems = evidence?.reviewerProblem ? [evidence.reviewerProblem] : [];
  if (evidence?.strayFiles) {
    // Left out of the commit already; the reviewers must hear that someone wrote into the bundle folder.
    const note = strayFilesNote(evidence.strayFiles);
    problems.push(note);
    await github.rest.issues
      .createComment({ ...where, issue_number: evidence.number, body: `⚠️ ${note}` })
      .catch((err: unknown) => problems.push(`could not tell the evidence PR about stray files (${(err as Error).message})`));
  }
  await p.recordEvidence?.(evidence);
  let checkRunUrl: string | null = null;
  if (p.check) {
    const { run, ...verdict } = p.check;
    const summary = `${verdict.summary}\n\n${evidence ? `Evidence PR: ${evidence.url}` : `⚠️ ${evidenceProblem}`}`;
    try {
      if ("id" in run) await completeCheckRun(github, where, run.id, { ...verdict, summary });
      else checkRunUrl = (await createCompletedCheckRun(github, where, { ...run, ...verdict, summary })).url;
    } catch (err) {
      const message = (err as Error).message;
      problems.push(
        "id" in run
          ? `could not complete the check run (${message})`
          : `could not create the check run on ${run.headSha.slice(0, 7)} (${message}); give the workflow \`checks: write\``,
      );
    }
  }
  return { evidence, evidenceProblem, checkRunUrl, problems };
}

export interface PublishResult {
  runId: string;
  verdict: string;
  evidencePullRequest: { number: number; url: string; branch: string; commit: string };
  warRoomComments: { issue: number; url: string }[];
  checkRun: string | null;
  problems: string[];
}

/**
 * Publishes a bundle written elsewhere (a workflow's `gate run` or `gate ci`): the evidence PR, a check
 * run "<Gate> (gate publish)" on the bundle's commit when it names one, and the war-room comment on the
 * evidence PR and on `pullRequest`.
 */
export async function publishBundle(
  github: GitHub,
  where: RepoRef,
  o: { gate: Gate; bundleDir: string; pullRequest?: number },
): Promise<PublishResult> {
  const { verdict, summary } = await readBundleFacts(o.bundleDir);
  const published = await publishRun(github, where, {
    gate: o.gate,
    bundleDir: o.bundleDir,
    // Not the App's required check: a workflow's result is reported, never a promotion decision.
    check: /^[0-9a-f]{40}$/i.test(verdict.commit)
      ? {
          run: { name: `${o.gate.title} (gate publish)`, headSha: verdict.commit },
          conclusion: conclusionFor(verdict.verdict, false),
          title: `${verdict.verdict}: ${verdict.reason}`,
          summary: verdict.reason,
        }
      : undefined,
  });
  const evidence = published.evidence!;
  const checkRun = published.checkRunUrl;
  const body = renderPublishedComment(o.gate, verdict, latestUpdateFromSummary(summary), {
    evidencePullRequest: evidence.url,
    ...(checkRun ? { checkRun } : {}),
  });
  const marker = warRoomMarker(verdict.run_id);
  const warRoomComments: PublishResult["warRoomComments"] = [];
  for (const issue of new Set([evidence.number, ...(o.pullRequest ? [o.pullRequest] : [])])) {
    const existing = await findMarkedComment(github, where, issue, marker);
    const c = await upsertComment(github, where, issue, existing, body);
    warRoomComments.push({ issue, url: c.url });
  }
  return {
    runId: verdict.run_id,
    verdict: verdict.verdict,
    evidencePullRequest: { number: evidence.number, url: evidence.url, branch: evidence.branch, commit: evidence.commitSha },
    warRoomComments,
    checkRun,
    problems: published.problems,
  };
}
