// What the bundle's two front pages, summary.md (summary-markdown.ts) and report.html (report-html.ts), share:
// their input, the facts both state, and the sign-off section between markers that recordApproval re-renders
// in place, leaving every other byte as it was.

import { EvidenceError } from "../evidence-error.js";
import { type ApprovalLog, approvalLogMarkdown, approvalStatusLine } from "../approval-log.js";
import type { DecisionLog } from "../decision-log.js";
import { EVIDENCE_ITEM_LIST, type EvidenceItem, type ReportInput } from "../items/index.js";
import { type GateRun, type LatencySummary, type PhaseResult, formatCount, formatMs } from "../../model/index.js";
import { confidenceLabel, DEFAULT_ONE_SIDED_ALPHA, MIN_SAMPLES_FOR_WINDOWED_P95, MIN_WINDOW_SAMPLES } from "../../verdict/index.js";
import { renderDecisionLog } from "../../war-room/index.js";
import type { LatencyHistogram } from "./latency-buckets.js";
import { escapeHtml, formatUtcDateTime } from "./report-format.js";
export type { ReportInput } from "../items/index.js";

export const SIGNOFF_START = "<!-- signoff:start -->";
export const SIGNOFF_END = "<!-- signoff:end -->";

// ---- Shared facts ---------------------------------------------------------------------------------------------

export function durationText(run: GateRun): string {
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isNaN(ms) ? "" : ` (${formatMs(ms)})`;
}

export function latencyCells(h: LatencyHistogram | undefined): string[] {
  const l = h?.percentiles ?? null;
  if (!l) return [formatCount(0), "n/a", "n/a", "n/a", "n/a"];
  const invalid = h && !h.valid ? " (rate not held)" : "";
  return [
    `${formatCount(l.n)}${invalid}`,
    formatMs(l.p50),
    `${formatMs(l.p95)} (95% CI ${formatMs(l.p95Ci[0])} to ${formatMs(l.p95Ci[1])}; ${windowedText(l)})`,
    formatMs(l.p99),
    formatMs(l.max),
  ];
}

/** The windowed P95 interval, its effective sample size, and the level a PASS was judged at when stricter. */
function windowedText(l: LatencySummary): string {
  // Runs recorded before the windowed interval have none of its fields; from runners, a window may have held too few answers.
  if (!l.p95CiBatch)
    return l.n < MIN_SAMPLES_FOR_WINDOWED_P95
      ? `no windowed CI: under ${formatCount(MIN_SAMPLES_FOR_WINDOWED_P95)} samples`
      : `no windowed CI: a window held under ${MIN_WINDOW_SAMPLES} answers`;
  const ess =
    l.effectiveSampleSize === null || l.effectiveSampleSize === undefined ? "" : `, ESS ${formatCount(Math.round(l.effectiveSampleSize))}`;
  const pass = l.passBounds;
  const level =
    pass && pass.oneSidedAlpha !== DEFAULT_ONE_SIDED_ALPHA
      ? `; PASS judged on upper bounds at ${confidenceLabel(pass.oneSidedAlpha)}: ${formatMs(pass.exact)}${pass.batch === null ? "" : ` and ${formatMs(pass.batch)} windowed`}`
      : "";
  return `windowed ${formatMs(l.p95CiBatch[0])} to ${formatMs(l.p95CiBatch[1])} over ${l.windows?.count ?? "?"} windows${ess}${level}`;
}

export function phaseReplayNote(p: PhaseResult): string {
  const r = p.replay;
  if (!r) return p.ran ? "no replay recorded" : "did not run";
  const parts = [
    `${formatCount(r.samples.length)} sent at ${r.achievedRate.toFixed(1)}/s of ${r.targetRate}/s offered, driver lag p99 ${formatMs(r.sendLagP99Ms)} (sending, and answers waiting to be read)`,
  ];
  if (!r.valid) parts.push(`rate not held, so no PASS can stand: ${r.invalidReason ?? "the driver did not offer the phase's rate"}`);
  if (r.aborted) parts.push(`aborted: ${r.aborted}`);
  return parts.join("; ");
}

/** Each item of the registry as the bundle has it: its files, MISSING, or why it is not there or is there unasked. */
export function itemEntries(input: ReportInput): { item: EvidenceItem; files: string[]; note: string }[] {
  const file = input.run.gate.source.file;
  return EVIDENCE_ITEM_LIST.map((item) => {
    const files = input.items.find((i) => i.item.id === item.id)?.files;
    if (!files) return { item, files: [], note: `not in this bundle: ${file} does not ask for it` };
    const unasked =
      item.required && !input.run.gate.evidence.includes(item.id)
        ? ` (in every bundle, though ${file} does not list it: ${item.required})`
        : "";
    return { item, files, note: files.length ? unasked : `MISSING${unasked}` };
  });
}

// ---- The sign-off section (re-rendered by recordApproval) ------------------------------------------------------

export function signoffMarkdown(approvals: ApprovalLog, decisions: DecisionLog): string {
  const log = approvalLogMarkdown(approvals).split("\n").slice(2).join("\n").trimEnd();
  return [SIGNOFF_START, "## HOTL sign-off", "", log, "", renderDecisionLog(decisions.decisions), SIGNOFF_END].join("\n");
}

export function signoffHtml(approvals: ApprovalLog, decisions: DecisionLog): string {
  const statusClass = approvals.status === "complete" ? "ok" : approvals.status === "pending" ? "pending" : "muted";
  const approvalRows = approvals.history.length
    ? approvals.history
        .map(
          (a) =>
            `<tr><td>@${escapeHtml(a.reviewer)}</td><td>${escapeHtml(a.at)}</td><td><code>${escapeHtml(a.commit)}</code></td><td>${escapeHtml(a.verdict)}</td><td>${escapeHtml(a.state)}</td><td>${escapeHtml(a.pullRequest ?? "")}</td></tr>`,
        )
        .join("\n")
    : `<tr><td colspan="6">pending: no approval recorded yet</td></tr>`;
  const decisionRows = decisions.decisions.length
    ? decisions.decisions
        .map(
          (d, i) =>
            `<tr><td>${i + 1}</td><td>${escapeHtml(formatUtcDateTime(d.time))}</td><td>${escapeHtml(d.title)}</td><td>${escapeHtml(d.authority)}</td><td>${escapeHtml(d.decision)}</td><td>${escapeHtml(d.rationale)}</td></tr>`,
        )
        .join("\n")
    : `<tr><td colspan="6">no decision recorded</td></tr>`;
  return [
    SIGNOFF_START,
    `<section id="signoff"><h2>HOTL sign-off</h2>`,
    `<p class="signoff ${statusClass}">${escapeHtml(approvalStatusLine(approvals))}</p>`,
    `<table><thead><tr><th>Reviewer</th><th>At</th><th>Commit</th><th>Verdict approved</th><th>State</th><th>Pull request</th></tr></thead><tbody>`,
    approvalRows,
    `</tbody></table>`,
    `<h2>Decision log</h2>`,
    `<table><thead><tr><th>#</th><th>Time</th><th>Decision</th><th>Authority</th><th>What was decided</th><th>Rationale</th></tr></thead><tbody>`,
    decisionRows,
    `</tbody></table></section>`,
    SIGNOFF_END,
  ].join("\n");
}

/** Replace the sign-off section between its markers; an error value when the markers are gone (the file was edited). */
export function replaceSignoff(text: string, section: string, file: string): string {
  const start = text.indexOf(SIGNOFF_START);
  const end = text.indexOf(SIGNOFF_END);
  if (start < 0 || end < start) {
    throw new EvidenceError(
      "no_signoff_section",
      `${file} has no "${SIGNOFF_START}" ... "${SIGNOFF_END}" section to record the sign-off in; rewrite the bundle with gate run`,
    );
  }
  return text.slice(0, start) + section + text.slice(end + SIGNOFF_END.length);
}
