// The war room on the PR: one comment per run, edited in place at each milestone (the latest update in
// the war room's format, the timeline underneath), and the final verdict comment. Always under GitHub's
// 65,536-character comment limit: the oldest timeline rows give way first.

import type { Gate } from "../gates/gate.js";
import type { GateRun, TimelineEntry, WarRoomUpdate } from "../gates/gate-run.js";
import { renderTimeline, renderVerdictTable, renderWarRoomUpdate } from "../gates/war-room.js";
import type { VerdictDocument } from "../gates/verdict-document.js";
import type { GitHub, RepoRef } from "./github.js";
import { httpStatus } from "./github.js";

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
  const head = [warRoomMarker(view.runId), title, meta, notes, update, "#### Timeline", ""]
    .filter((s, i, all) => s !== "" || i === all.length - 1)
    .join("\n\n");
  return fitRows(head, view.timeline, linkLine(view.links), limit, (rows) => renderTimeline(rows));
}

/** The final comment: verdict, reason, verdict table and links. */
export function renderFinalComment(
  run: GateRun,
  label: string,
  links: RunLinks,
  notes: string[] = [],
  limit = COMMENT_LIMIT,
): string {
  const icon = run.verdict === "PASS" ? "✅" : run.verdict === "FAIL" ? "❌" : "⚠️";
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
  const icon = verdict.verdict === "PASS" ? "✅" : verdict.verdict === "FAIL" ? "❌" : "⚠️";
  const rows = verdict.phases.map((p) => `| ${[p.name, String(p.requests), `${p.rate}/s`, p.verdict, p.reason].map(cellText).join(" | ")} |`);
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
