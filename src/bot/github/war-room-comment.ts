// The war room on the PR: one comment per run, edited in place at each milestone (the latest update in
// the war room's format, the timeline underneath, banners for queued / stale / aborted / lost runs, all
// rendered from the run's record), and the final verdict comment. Always under GitHub's 65,536-character
// comment limit: the oldest timeline rows give way first.

import { renderStages } from "../signoff/promotion-stages.js";
import type { Gate, GateRun, TimelineEntry, WarRoomUpdate } from "../../gates/model/index.js";
import { renderTimeline, renderVerdictTable, renderWarRoomUpdate } from "../../gates/war-room/index.js";
import { type VerdictDocument, verdictIcon, levelText } from "../../gates/verdict/index.js";
import type { GitHub, RepoRef } from "./github.js";
import { httpStatus } from "./github.js";
import type { BotLog } from "../boot/bot-log.js";
import type { RunRecord } from "../runs/run-state.js";

/** GitHub rejects a comment body longer than this (characters). */
export const COMMENT_LIMIT = 65_536;

export interface RunLinks {
  checkRun?: string;
  evidencePullRequest?: string;
  warRoom?: string;
}

export interface WarRoomView {
  gate: Gate;
  runId: string;
  /** "replay 5k" */
  label: string;
  commit: string;
  requestedBy: string;
  /** The latest update, or null before the first milestone. */
  update: WarRoomUpdate | null;
  timeline: TimelineEntry[];
  /** Banners above the update: stale results, abort requested, runner lost. */
  notes: string[];
  links: RunLinks;
  /** The promotion stages' table and decision log (Markdown), once a deployment was decided. */
  stages?: string;
}

/** Hidden marker that says which run a comment belongs to. */
export function warRoomMarker(runId: string): string {
  return `<!-- release-gate:war-room run=${runId} -->`;
}

function linkLine(links: RunLinks): string {
  const parts = [
    links.checkRun ? `[check run](${links.checkRun})` : "",
    links.evidencePullRequest ? `[evidence PR](${links.evidencePullRequest})` : "",
    links.warRoom ? `[war room](${links.warRoom})` : "",
  ].filter(Boolean);
  return parts.length ? `\n\n${parts.join(" · ")}` : "";
}

/**
 * Fits `head` + a table of `rows` + `tail` into `limit` characters, dropping the oldest rows first and
 * saying how many went; if even the head does not fit, the head is cut and says so.
 */
export function fitRows(
  head: string,
  rows: TimelineEntry[],
  tail: string,
  limit: number,
  renderRows: (rows: TimelineEntry[]) => string,
): string {
  const compose = (dropped: number) => {
    const omitted = dropped
      ? `_${dropped} earlier timeline row${dropped === 1 ? "" : "s"} omitted to stay under GitHub's ${limit.toLocaleString("en-US")}-character comment limit._\n\n`
      : "";
    const table = rows.length - dropped > 0 ? renderRows(rows.slice(dropped)) : "";
    return `${head}${omitted}${table}${tail}`;
  };
  if (compose(0).length <= limit) return compose(0);
  // Length only shrinks as rows go, so the fewest rows to drop is found by bisection.
  let lo = 1;
  let hi = rows.length;
  if (compose(hi).length > limit) {
    const cut = `\n\n… (cut to fit GitHub's ${limit.toLocaleString("en-US")}-character limit)`;
    const whole = compose(hi);
    return `${whole.slice(0, Math.max(0, limit - cut.length))}${cut}`;
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compose(mid).length <= limit) hi = mid;
    else lo = mid + 1;
  }
  return compose(lo);
}

export function renderWarRoomComment(view: WarRoomView, limit = COMMENT_LIMIT): string {
  const title = `### ${view.gate.title} war room: \`${view.label}\` on ${view.commit.slice(0, 7)}`;
  const meta = `Run \`${view.runId}\`, requested by @${view.requestedBy}.`;
  const notes = view.notes.map((n) => `> ${n.replace(/\n/g, "\n> ")}`).join("\n>\n");
  const update = view.update ? `\`\`\`\n${renderWarRoomUpdate(view.update)}\n\`\`\`` : "_Waiting for a runner…_";
  const head = [warRoomMarker(view.runId), title, meta, notes, update, view.stages ?? "", "#### Timeline", ""]
    .filter((s, i, all) => s !== "" || i === all.length - 1)
    .join("\n\n");
  return fitRows(head, view.timeline, linkLine(view.links), limit, (rows) => renderTimeline(rows));
}

/** The final comment: verdict, reason, verdict table and links. */
export function renderFinalComment(run: GateRun, label: string, links: RunLinks, notes: string[] = [], limit = COMMENT_LIMIT): string {
  const icon = verdictIcon(run.verdict);
  const head = [
    `<!-- release-gate:verdict run=${run.id} -->`,
    `### ${icon} ${run.gate.title} ${run.verdict}: \`${label}\` on ${run.commit.slice(0, 7)}`,
    ...notes.map((n) => `> ${n}`),
    run.reason,
  ].join("\n\n");
  const body = `${head}\n\n${renderVerdictTable(run)}${linkLine(links)}`;
  if (body.length <= limit) return body;
  const cut = `\n\n… (verdict table cut to fit GitHub's comment limit; the evidence PR has it whole)${linkLine(links)}`;
  return `${body.slice(0, limit - cut.length)}${cut}`;
}

/**
 * Creates the comment, or edits it in place when `commentId` is known. A comment someone deleted is
 * created again rather than failing the run. Returns the comment's id and URL.
 */
export async function upsertComment(
  github: GitHub,
  where: RepoRef,
  issueNumber: number,
  commentId: number | null,
  body: string,
): Promise<{ id: number; url: string }> {
  if (commentId !== null) {
    try {
      const { data } = await github.rest.issues.updateComment({ ...where, comment_id: commentId, body });
      return { id: data.id, url: data.html_url };
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
  }
  const { data } = await github.rest.issues.createComment({ ...where, issue_number: issueNumber, body });
  return { id: data.id, url: data.html_url };
}

/** The latest war-room update as a bundle's summary.md keeps it (the block under "## Latest war-room update"). */
export function latestUpdateFromSummary(summary: string): string | null {
  const m = /## Latest war-room update\s*\n+```\n([\s\S]*?)\n```/.exec(summary);
  return m ? m[1] : null;
}

/**
 * The war-room comment `gate publish` posts for a run that happened elsewhere (GitHub Actions): the
 * latest update, the verdict by phase from verdict.json, and links. Same marker as the bot's, so
 * publishing the same run again edits it in place.
 */
export function renderPublishedComment(
  gate: Gate,
  verdict: VerdictDocument,
  latestUpdate: string | null,
  links: RunLinks,
  limit = COMMENT_LIMIT,
): string {
  const icon = verdictIcon(verdict.verdict);
  const rows = verdict.phases.map(
    (p) => `| ${[p.name, String(p.requests), `${p.rate}/s`, p.verdict, p.reason].map(cellText).join(" | ")} |`,
  );
  const body = [
    warRoomMarker(verdict.run_id),
    `### ${icon} ${gate.title} ${verdict.verdict} on ${verdict.commit.slice(0, 7)}`,
    `Run \`${verdict.run_id}\`, ${verdict.started_at} to ${verdict.finished_at}. ${verdict.reason}`,
    latestUpdate ? `\`\`\`\n${latestUpdate}\n\`\`\`` : "",
    ["| Phase | Requests | Rate | Verdict | Reason |", "|---|---|---|---|---|", ...rows].join("\n"),
  ]
    .filter(Boolean)
    .join("\n\n");
  const full = `${body}${linkLine(links)}`;
  if (full.length <= limit) return full;
  const cut = `\n\n… (cut to fit GitHub's comment limit)${linkLine(links)}`;
  return `${full.slice(0, limit - cut.length)}${cut}`;
}

function cellText(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

/** The comment carrying `marker` on an issue or PR, if any (so a re-publish edits instead of adding). */
export async function findMarkedComment(github: GitHub, where: RepoRef, issueNumber: number, marker: string): Promise<number | null> {
  for (let page = 1; page <= 20; page++) {
    const { data } = await github.rest.issues.listComments({ ...where, issue_number: issueNumber, per_page: 100, page });
    const found = data.find((c) => c.body?.startsWith(marker));
    if (found) return found.id;
    if (data.length < 100) return null;
  }
  return null;
}

// ---- a run's war room, from its record -----------------------------------------------------------

/** The rows the bot adds above the gate's own timeline: who asked, which runner, abort, stale. */
function botRows(record: RunRecord, gate: Gate): TimelineEntry[] {
  const rows: TimelineEntry[] = [
    {
      time: record.requestedAt,
      milestone: `\`${gate.command.prefix} ${record.label}\` requested`,
      owner: `@${record.requestedBy}`,
      status: "done",
      blocker: "",
    },
  ];
  if (record.startedAt) {
    rows.push({
      time: record.startedAt,
      milestone: `Picked up by runner ${record.runner ?? ""}`.trim(),
      owner: "release-gate",
      status: "done",
      blocker: "",
    });
  }
  if (record.abortRequestedBy) {
    rows.push({
      time: "",
      milestone: `Abort requested by @${record.abortRequestedBy}`,
      owner: `@${record.abortRequestedBy}`,
      status: record.phase === "running" ? "running" : "done",
      blocker: "",
    });
  }
  if (record.staleSince) {
    rows.push({
      time: record.staleSince.at,
      milestone: `New commits pushed (${record.staleSince.headSha.slice(0, 7)}): results stale`,
      owner: "release-gate",
      status: "done",
      blocker: "",
    });
  }
  return rows;
}

/** "attempt 2 of 3 on this commit" */
export function attemptHeadlineOf(record: RunRecord): string {
  const a = record.attempt;
  return a ? `attempt ${a.number} of ${a.max} on this commit` : "attempt not yet numbered";
}

/**
 * "attempt 2 of 3 on this commit (rule: …; PASS bound at 98.75%); earlier: attempt 1 FAIL (run `x`)":
 * which attempt the run is, and every earlier verdict on the commit with its link.
 */
export function attemptLine(record: RunRecord): string {
  const a = record.attempt;
  if (!a) return attemptHeadlineOf(record);
  const earlier = a.earlier.length
    ? a.earlier
        .map((e) => `attempt ${e.attempt} ${e.verdict} (${e.link ? `[run \`${e.run}\`](${e.link})` : `run \`${e.run}\``})`)
        .join(", ")
    : "none";
  const problem = a.ledgerProblem ? `; ⚠️ ${a.ledgerProblem}` : a.goWithheld ? `; no GO from this run: ${a.goWithheld}` : "";
  return `${attemptHeadlineOf(record)} (rule: ${a.rule}; PASS bound at ${levelText(a.alpha)}); earlier: ${earlier}${problem}`;
}

/** Banners above the latest update. */
export function runNotes(record: RunRecord, gate: Gate): string[] {
  const notes: string[] = [];
  if (record.attempt) notes.push(`🔁 ${attemptLine(record).replace(/^a/, "A")}.`);
  if (record.baseline) notes.push(`📈 Baseline: ${record.baseline.line}.`);
  if (record.staleSince) {
    notes.push(
      `⚠️ **Stale.** Commits were pushed after ${record.headSha.slice(0, 7)} (the PR's head is now ${record.staleSince.headSha.slice(0, 7)}). ` +
        `These results belong to ${record.headSha.slice(0, 7)} only: run \`${gate.command.prefix} ${record.label}\` again for the new head.`,
    );
  }
  if (record.phase === "lost") {
    notes.push(
      `⚠️ **The runner stopped mid-run** (${record.reason ?? "lost"}). The run is marked failed; run \`${gate.command.prefix} ${record.label}\` again.`,
    );
  }
  if (record.phase === "cancelled") notes.push(`Cancelled before it started: ${record.cancelledBecause ?? "cancelled"}.`);
  if (record.phase === "queued" && record.waitingBehind) {
    const h = record.waitingBehind;
    notes.push(
      `⏳ **Queued.** @${h.requestedBy}'s \`${h.label}\` (run \`${h.id}\`, PR #${h.pullNumber}) holds ${gate.title} on this repository; ` +
        `this run starts when it ends. At most one run waits: a newer command replaces this one.`,
    );
  }
  if (record.phase === "running" || record.phase === "queued") {
    if (record.abortRequestedBy)
      notes.push(`🛑 Abort requested by @${record.abortRequestedBy}: stopping the replay; teardown still happens.`);
    else if (record.stoppedBecause) notes.push(`🛑 Stopping: ${record.stoppedBecause}; teardown still happens.`);
  }
  if (record.phase === "finished" && record.aborted) notes.push(abortedNote(record));
  if (record.gateFileNote) notes.push(`📄 ${record.gateFileNote}`);
  if (record.sourceFailure) notes.push(sourceFailureNote(record.sourceFailure));
  return notes;
}

/** A fetch or build that failed: the step, the exit code and the end of its (redacted) log. */
export function sourceFailureNote(f: NonNullable<RunRecord["sourceFailure"]>): string {
  const exit = f.exitCode === null ? "" : f.step === "fetch" ? ` (GitHub answered ${f.exitCode})` : ` (exit code ${f.exitCode})`;
  const tail = f.logTail.length
    ? `\n\n<details><summary>last ${f.logTail.length} log lines</summary>\n\n\`\`\`\n${f.logTail.join("\n").replace(/```/g, "ʼʼʼ")}\n\`\`\`\n</details>`
    : "";
  return `❌ **The service under test could not be prepared: ${f.step} failed${exit}** [${f.code}].${tail}`;
}

function abortedNote(record: RunRecord): string {
  return record.abortRequestedBy
    ? `🛑 Aborted by @${record.abortRequestedBy}; teardown completed.`
    : `🛑 Stopped: ${record.stoppedBecause ?? "aborted"}; teardown completed.`;
}

export function warRoomViewOf(gate: Gate, record: RunRecord): WarRoomView {
  return {
    gate,
    runId: record.id,
    label: record.label,
    commit: record.headSha,
    requestedBy: record.requestedBy,
    update: record.lastUpdate ?? null,
    timeline: [...botRows(record, gate), ...(record.timeline ?? [])],
    notes: runNotes(record, gate),
    links: { checkRun: record.checkRunUrl, evidencePullRequest: record.evidenceUrl },
    ...(record.stages?.length ? { stages: renderStages(gate, record.stages) } : {}),
  };
}

/** The repository a run belongs to. */
export function whereOf(record: RunRecord): RepoRef {
  return { owner: record.owner, repo: record.repo };
}

/** Edits the run's war-room comment from its record; never fails the run (GitHub being down is logged). */
export async function refreshWarRoom(
  github: GitHub,
  gate: Gate,
  record: RunRecord,
  log: BotLog,
): Promise<{ id: number; url: string } | null> {
  try {
    return await upsertComment(
      github,
      whereOf(record),
      record.pullNumber,
      record.warRoomCommentId ?? null,
      renderWarRoomComment(warRoomViewOf(gate, record)),
    );
  } catch (err) {
    log.warn({ err, runId: record.id }, "could not update the war-room comment");
    return null;
  }
}
