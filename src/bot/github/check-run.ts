// The check run a gate run shows on the PR's head commit ("Gate A", whatever the command's label, so
// it can be required): in progress while it runs, then completed with the verdict and the verdict table.

import type { Gate, Verdict } from "../../gates/model/index.js";
import type { GitHub, RepoRef } from "./github.js";

/** GitHub rejects a check run output.summary or output.text larger than this many bytes (UTF-8). */
export const CHECK_SUMMARY_LIMIT = 65_535;

export type CheckConclusion = "success" | "failure" | "neutral" | "cancelled" | "timed_out" | "action_required" | "skipped";

/** One stable name per gate: a name that changed with the label ("replay 5k") could not be required. */
export function checkRunName(gate: Gate, _label?: string): string {
  return gate.title;
}

/**
 * PASS of a full run is success; FAIL, ERROR and INCONCLUSIVE are failure (a gate that could not run
 * or could not tell must not look green); an abort is cancelled. A PASS of some phases only, and a
 * PARTIAL run, are action_required, never success (nor neutral, which a required check would accept):
 * a partial run is not a promotion decision.
 */
export function conclusionFor(verdict: Verdict, aborted: boolean, full = true): CheckConclusion {
  if (aborted) return "cancelled";
  if (verdict === "PARTIAL") return "action_required";
  if (verdict !== "PASS") return "failure";
  return full ? "success" : "action_required";
}

export const PARTIAL_NOTE = "partial: not a promotion decision";

/** The text within `limit` UTF-8 bytes (the verdict table's icons take 3 to 6 bytes each), cut with a note. */
export function fitSummary(text: string, limit = CHECK_SUMMARY_LIMIT): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= limit) return text;
  const cut = "\n\n… (cut to fit GitHub's check run summary limit; the evidence bundle has it whole)";
  const room = limit - Buffer.byteLength(cut, "utf8");
  // Decoding a cut in the middle of a character leaves a replacement character: drop it.
  const head = bytes
    .subarray(0, room)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
  return `${head}${cut}`;
}

export interface CheckRunRef {
  id: number;
  url: string;
}

export async function startCheckRun(
  github: GitHub,
  where: RepoRef,
  o: { name: string; headSha: string; externalId: string; summary: string; detailsUrl?: string },
): Promise<CheckRunRef> {
  const { data } = await github.rest.checks.create({
    ...where,
    name: o.name,
    head_sha: o.headSha,
    status: "in_progress",
    started_at: new Date().toISOString(),
    external_id: o.externalId,
    ...(o.detailsUrl ? { details_url: o.detailsUrl } : {}),
    output: { title: "Running", summary: fitSummary(o.summary) },
  });
  return { id: data.id, url: data.html_url ?? "" };
}

/** Replaces the in-progress summary, e.g. at each milestone. */
export async function progressCheckRun(github: GitHub, where: RepoRef, id: number, title: string, summary: string): Promise<void> {
  await github.rest.checks.update({ ...where, check_run_id: id, output: { title, summary: fitSummary(summary) } });
}

export async function completeCheckRun(
  github: GitHub,
  where: RepoRef,
  id: number,
  o: { conclusion: CheckConclusion; title: string; summary: string; text?: string },
): Promise<void> {
  await github.rest.checks.update({
    ...where,
    check_run_id: id,
    status: "completed",
    conclusion: o.conclusion,
    completed_at: new Date().toISOString(),
    output: {
      title: o.title.slice(0, 1000),
      summary: fitSummary(o.summary),
      ...(o.text ? { text: fitSummary(o.text) } : {}),
    },
  });
}

/** A check run created already completed, e.g. the neutral "results are stale" on a new head commit. */
export async function createCompletedCheckRun(
  github: GitHub,
  where: RepoRef,
  o: { name: string; headSha: string; conclusion: CheckConclusion; title: string; summary: string },
): Promise<CheckRunRef> {
  const { data } = await github.rest.checks.create({
    ...where,
    name: o.name,
    head_sha: o.headSha,
    status: "completed",
    conclusion: o.conclusion,
    completed_at: new Date().toISOString(),
    output: { title: o.title.slice(0, 1000), summary: fitSummary(o.summary) },
  });
  return { id: data.id, url: data.html_url ?? "" };
}
