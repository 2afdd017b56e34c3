// The bundle's two front pages, made from the run itself: summary.md (what the evidence PR shows) and report.html
// (one self-contained page: inline CSS and SVG, no script, nothing fetched). Both carry a sign-off section
// between markers that recordApproval re-renders in place, leaving every other byte as it was.

import { capacityMarkdown } from "./capacity-probe.js";
import { preflightMarkdown } from "./preflight.js";
import { EvidenceError } from "./evidence-error.js";
import type { ApprovalLog } from "./approval-log.js";
import { approvalLogMarkdown, approvalStatusLine } from "./approval-log.js";
import type { DecisionLog } from "./decision-log.js";
import type { ErrorBudgetLedger } from "./error-budget.js";
import { EVIDENCE_ITEM_LIST, type EvidenceItem } from "./evidence-items/index.js";
import type { GateRun, PhaseResult, TimelineEntry } from "./gate-run.js";
import type { LatencyHistogram } from "./latency-histogram.js";
import { MANIFEST_FILE, MANIFEST_HISTORY_FILE } from "./manifest.js";
import { didNotRun, escapeHtml, formatUtcDateTime, markdownCell, markdownTable } from "./report-format.js";
import { formatCount, formatMs } from "./units.js";
import { formatUtcTime, renderDecisionLog, renderTimeline, renderWarRoomUpdate } from "./war-room.js";
import { resourcesHtml, resourcesMarkdown, type TimelineFiles } from "./resources-report.js";

export interface ReportInput {
  run: GateRun;
  histograms: { histogram: LatencyHistogram; svg: string; files: { json: string; csv: string; svg: string } }[];
  /** Each phase's latency over time; shown before the histograms. */
  timelines?: TimelineFiles[];
  ledger: ErrorBudgetLedger;
  approvals: ApprovalLog;
  decisions: DecisionLog;
  /** The items in the bundle, in number order, with their files for the links. */
  items: { item: EvidenceItem; files: string[] }[];
  /** The other files at the bundle's root, for the links. */
  rootFiles: string[];
  /** Things a reviewer must know that are not a verdict: an evidence item the gate asks for that does not exist, a log that could not be read. */
  problems: string[];
}

export const SIGNOFF_START = "<!-- signoff:start -->";
export const SIGNOFF_END = "<!-- signoff:end -->";

// The war room's own formats (timeline, update, decision log) come from war-room.ts; report.html shows the same,
// with words and colours instead of emoji, which a headless or minimal machine may have no font for.
const TIMELINE_CLASS: Record<TimelineEntry["status"], string> = { done: "ok", running: "pending", pending: "muted", failed: "bad", skipped: "muted" };

// ---- Shared facts ---------------------------------------------------------------------------------------------

function durationText(run: GateRun): string {
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isNaN(ms) ? "" : ` (${formatMs(ms)})`;
}

function latencyCells(h: LatencyHistogram | undefined): string[] {
  const l = h?.percentiles ?? null;
  if (!l) return [formatCount(0), "n/a", "n/a", "n/a", "n/a"];
  const invalid = h && !h.valid ? " (rate not held)" : "";
  return [`${formatCount(l.n)}${invalid}`, formatMs(l.p50), `${formatMs(l.p95)} (95% CI ${formatMs(l.p95Ci[0])} to ${formatMs(l.p95Ci[1])})`, formatMs(l.p99), formatMs(l.max)];
}

function phaseReplayNote(p: PhaseResult): string {
  const r = p.replay;
  if (!r) return p.ran ? "no replay recorded" : "did not run";
  const parts = [`${formatCount(r.samples.length)} sent at ${r.achievedRate.toFixed(1)}/s of ${r.targetRate}/s offered, driver send lag p99 ${formatMs(r.sendLagP99Ms)}`];
  if (!r.valid) parts.push(`rate not held, so no PASS can stand: ${r.invalidReason ?? "the driver did not offer the phase's rate"}`);
  if (r.aborted) parts.push(`aborted: ${r.aborted}`);
  return parts.join("; ");
}

/** Each item of the registry as the bundle has it: its files, MISSING, or why it is not there or is there unasked. */
function itemEntries(input: ReportInput): { item: EvidenceItem; files: string[]; note: string }[] {
  const file = input.run.gate.source.file;
  return EVIDENCE_ITEM_LIST.map((item) => {
    const files = input.items.find((i) => i.item.id === item.id)?.files;
    if (!files) return { item, files: [], note: `not in this bundle: ${file} does not ask for it` };
    const unasked = item.required && !input.run.gate.evidence.includes(item.id) ? ` (in every bundle, though ${file} does not list it: ${item.required})` : "";
    return { item, files, note: files.length ? unasked : `MISSING${unasked}` };
  });
}

function itemLinksMarkdown(input: ReportInput): string[] {
  return itemEntries(input).map(({ item, files, note }) => {
    const links = files.map((f) => `[${f.slice(f.lastIndexOf("/") + 1)}](${f})`).join(", ");
    return `${item.number}. **${item.title}**: ${links}${note}`;
  });
}

/** summary.md's Layout paragraph: the files of the items in this bundle, then the ones at the root. */
function layoutParagraph(items: readonly EvidenceItem[]): string {
  const inFolders = items.filter((i) => !i.rootFiles).map((i) => i.layout);
  const atRoot = items.filter((i) => i.rootFiles).map((i) => i.layout);
  return `Stable names, one folder per numbered item: ${inFolders.join("; ")}; and at the root ${[...atRoot, ROOT_LAYOUT].join(", ")}. Every file is redacted: no credential used in the run appears in it.`;
}

const ROOT_LAYOUT = "`summary.md`, `report.html`, `verdict.json` (the document `gate run --json` prints), `attestation.intoto.json` (in-toto Statement v1, test-result predicate)";

// ---- The sign-off section (re-rendered by recordApproval) ------------------------------------------------------

export function signoffMarkdown(approvals: ApprovalLog, decisions: DecisionLog): string {
  const log = approvalLogMarkdown(approvals).split("\n").slice(2).join("\n").trimEnd();
  return [SIGNOFF_START, "## HOTL sign-off", "", log, "", renderDecisionLog(decisions.decisions), SIGNOFF_END].join("\n");
}

export function signoffHtml(approvals: ApprovalLog, decisions: DecisionLog): string {
  const statusClass = approvals.status === "complete" ? "ok" : approvals.status === "pending" ? "pending" : "muted";
  const approvalRows = approvals.history.length
    ? approvals.history.map((a) => `<tr><td>@${escapeHtml(a.reviewer)}</td><td>${escapeHtml(a.at)}</td><td><code>${escapeHtml(a.commit)}</code></td><td>${escapeHtml(a.verdict)}</td><td>${escapeHtml(a.state)}</td><td>${escapeHtml(a.pullRequest ?? "")}</td></tr>`).join("\n")
    : `<tr><td colspan="6">pending: no approval recorded yet</td></tr>`;
  const decisionRows = decisions.decisions.length
    ? decisions.decisions.map((d, i) => `<tr><td>${i + 1}</td><td>${escapeHtml(formatUtcDateTime(d.time))}</td><td>${escapeHtml(d.title)}</td><td>${escapeHtml(d.authority)}</td><td>${escapeHtml(d.decision)}</td><td>${escapeHtml(d.rationale)}</td></tr>`).join("\n")
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
    throw new EvidenceError("no_signoff_section", `${file} has no "${SIGNOFF_START}" ... "${SIGNOFF_END}" section to record the sign-off in; rewrite the bundle with gate run`);
  }
  return text.slice(0, start) + section + text.slice(end + SIGNOFF_END.length);
}

// ---- summary.md -----------------------------------------------------------------------------------------------

export function renderSummaryMarkdown(input: ReportInput): string {
  const { run } = input;
  const gate = run.gate;
  const byPhase = new Map(input.histograms.map((h) => [h.histogram.phase, h]));
  const out: string[] = [
    `# ${gate.title}: ${run.verdict}`,
    "",
    `**${run.verdict}**: ${run.reason}`,
    "",
    markdownTable(
      ["", ""],
      [
        ["Gate", `\`${gate.name}\` from \`${gate.source.file}\` (sha256 \`${gate.source.sha256}\`)`],
        ["Application", gate.application],
        ["Commit under test", `\`${run.commit}\``],
        ["Run", `\`${run.id}\`, ${run.startedAt} to ${run.finishedAt}${durationText(run)}`],
        ["DRI / status owner", `${gate.dri} / ${gate.statusOwner}`],
        // The status itself lives in the sign-off section, the only part a recorded approval rewrites.
        ["Sign-off", `${input.approvals.required} approval(s) from ${input.approvals.approvers.length ? input.approvals.approvers.join(", ") : `anyone with ${input.approvals.permission} permission`}; status under [HOTL sign-off](#hotl-sign-off)`],
      ],
    ),
    "",
    "## Verdict by phase",
    "",
    markdownTable(
      ["Phase", "Requests", "Rate", "Latency bar (P95)", "Replay", "Verdict", "Reason"],
      run.phases.map((p) => [p.name, formatCount(p.requests), `${p.rate}/s`, formatMs(p.latencyBarMs), phaseReplayNote(p), `**${p.verdict}**`, p.reason]),
      "no phase",
    ),
    "",
    ...resourcesMarkdown(run, input.timelines ?? [], new Set(input.items.flatMap((i) => i.files))),
    "## Each SLO against its bar",
    "",
  ];
  for (const p of run.phases) {
    out.push(`### ${p.name}: ${p.verdict}`, "");
    out.push(markdownTable(["SLO", "Measured", "Bar", "Verdict", "Detail"], p.slos.map((s) => [s.name, s.measuredDisplay, s.bar, `**${s.verdict}**`, s.detail ?? ""]), p.ran ? "no SLO was evaluated" : didNotRun(p.reason)), "");
  }
  out.push(
    "## Latency",
    "",
    "Open-loop replay; latency is from each request's due time to its answer (coordinated omission corrected), over every request of the phase.",
    "",
    markdownTable(
      ["Phase", "n", "P50", "P95", "P99", "Max", "Bar", "Histogram"],
      run.phases.map((p) => {
        const h = byPhase.get(p.name);
        const links = h ? `[svg](${h.files.svg}) · [json](${h.files.json}) · [csv](${h.files.csv})` : "";
        return [p.name, ...latencyCells(h?.histogram), formatMs(p.latencyBarMs), links];
      }),
      "no phase",
    ),
    "",
  );
  for (const h of input.histograms) out.push(`![${markdownCell(h.histogram.phase)} latency histogram](${h.files.svg})`, "");
  const l = input.ledger;
  out.push(
    "## Error budget",
    "",
    `From ${l.source}.`,
    "",
    markdownTable(
      ["Scope", "Allowed", "Spent", "Left", "Status"],
      [...l.phases, l.overall].map((x) => [x.scope, x.ran ? formatCount(x.allowed) : "—", formatCount(x.spent), x.ran ? formatCount(x.left) : "—", x.status]),
    ),
    "",
    "## Evidence items",
    "",
    ...itemLinksMarkdown(input),
    "",
    `Also: ${input.rootFiles.map((f) => `[${f}](${f})`).join(", ")}.`,
    "",
  );
  if (input.problems.length > 0) out.push("## Problems", "", ...input.problems.map((p) => `- ${p}`), "");
  if (run.preflight) out.push(preflightMarkdown(run.preflight).replace(/^# /, "## "));
  if (run.capacity) out.push(capacityMarkdown(run.capacity));
  out.push("## War-room timeline", "", run.timeline.length ? renderTimeline(run.timeline) : "No milestone was recorded.", "");
  const latest = run.updates[run.updates.length - 1];
  out.push("## Latest war-room update", "", latest ? ["```", renderWarRoomUpdate(latest), "```"].join("\n") : "No update was recorded.", "");
  out.push(signoffMarkdown(input.approvals, input.decisions), "");
  out.push(
    "## How to check this bundle",
    "",
    "Inside the bundle's folder, with nothing but GNU coreutils:",
    "",
    "```",
    `sha256sum -c --strict ${MANIFEST_FILE}`,
    "```",
    "",
    `or \`gate verify DIR\`, which also names every file added since the manifest was written. When a sign-off is recorded the manifest is rewritten; the digest of each replaced manifest is listed in [${MANIFEST_HISTORY_FILE}](${MANIFEST_HISTORY_FILE}) and a copy kept under \`manifest-history/\`, so the bundle's history is a chain.`,
    "",
    "## Layout",
    "",
    layoutParagraph(input.items.map((i) => i.item)),
    "",
  );
  return out.join("\n");
}

// ---- report.html ----------------------------------------------------------------------------------------------

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 0; color: #212529; background: #f1f3f5; line-height: 1.45; }
main { max-width: 1000px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.verdict { display: inline-block; font-size: 28px; font-weight: bold; padding: 4px 18px; border-radius: 6px; color: #fff; letter-spacing: 1px; }
.verdict.PASS, .badge.PASS { background: #2b8a3e; }
.verdict.FAIL, .badge.FAIL { background: #c92a2a; }
.verdict.ERROR, .badge.ERROR { background: #e67700; }
.badge { color: #fff; padding: 1px 8px; border-radius: 4px; font-weight: bold; font-size: 13px; }
.reason { font-size: 16px; margin: 10px 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13.5px; }
th, td { border: 1px solid #dee2e6; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; background: #f1f3f5; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: #f8f9fa; border: 1px solid #dee2e6; padding: 10px; font-size: 13px; overflow-x: auto; }
.facts th { width: 190px; }
.phase { border: 1px solid #dee2e6; border-radius: 6px; padding: 4px 14px 10px; margin: 14px 0; }
.histogram, .timeline { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.signoff { font-weight: bold; padding: 6px 10px; border-radius: 4px; }
.signoff.pending { background: #fff3bf; }
.signoff.ok { background: #d3f9d8; }
.signoff.muted { background: #f1f3f5; }
.status { padding: 0 6px; border-radius: 3px; font-weight: bold; font-size: 12.5px; }
.status.ok { background: #d3f9d8; color: #2b8a3e; }
.status.bad { background: #ffe3e3; color: #c92a2a; }
.status.pending { background: #fff3bf; color: #8a6d00; }
.status.muted { background: #f1f3f5; color: #495057; }
.problems { background: #fff5f5; border: 1px solid #ffc9c9; padding: 8px 24px; }
footer { margin-top: 28px; font-size: 13px; color: #495057; }
`;

function table(header: string[], rows: string[][], empty = "none"): string {
  const body = rows.length ? rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n") : `<tr><td colspan="${header.length}">${escapeHtml(empty)}</td></tr>`;
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function badge(verdict: string): string {
  return `<span class="badge ${escapeHtml(verdict)}">${escapeHtml(verdict)}</span>`;
}

export function renderReportHtml(input: ReportInput): string {
  const { run } = input;
  const gate = run.gate;
  const e = escapeHtml;
  const byPhase = new Map(input.histograms.map((h) => [h.histogram.phase, h]));
  const parts: string[] = [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8">`,
    // Nothing may be fetched: the page must read the same offline, from a PR checkout or an archive.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<link rel="icon" href="data:,">`,
    `<title>${e(`${gate.title}: ${run.verdict}`)}</title>`,
    `<style>${CSS}</style></head><body><main>`,
    `<h1>${e(gate.title)}</h1>`,
    `<p><span class="verdict ${e(run.verdict)}" id="verdict">${e(run.verdict)}</span></p>`,
    `<p class="reason">${e(run.reason)}</p>`,
    `<table class="facts"><tbody>`,
    `<tr><th>Gate</th><td><code>${e(gate.name)}</code> from <code>${e(gate.source.file)}</code> (sha256 <code>${e(gate.source.sha256)}</code>)</td></tr>`,
    `<tr><th>Application</th><td>${e(gate.application)}</td></tr>`,
    `<tr><th>Commit under test</th><td><code>${e(run.commit)}</code></td></tr>`,
    `<tr><th>Run</th><td><code>${e(run.id)}</code>, ${e(run.startedAt)} to ${e(run.finishedAt)}${e(durationText(run))}</td></tr>`,
    `<tr><th>DRI / status owner</th><td>${e(gate.dri)} / ${e(gate.statusOwner)}</td></tr>`,
    `</tbody></table>`,
    `<h2>Verdict by phase</h2>`,
    table(
      ["Phase", "Requests", "Rate", "Latency bar (P95)", "Replay", "Verdict", "Reason"],
      run.phases.map((p) => [e(p.name), e(formatCount(p.requests)), e(`${p.rate}/s`), e(formatMs(p.latencyBarMs)), e(phaseReplayNote(p)), badge(p.verdict), e(p.reason)]),
      "no phase",
    ),
  ];
  if (input.problems.length > 0) parts.push(`<h2>Problems</h2><ul class="problems">${input.problems.map((p) => `<li>${e(p)}</li>`).join("")}</ul>`);
  parts.push(...resourcesHtml(run, input.timelines ?? [], new Set(input.items.flatMap((i) => i.files))));
  parts.push(`<h2>Phases: each SLO against its bar, and the latency histogram</h2>`);
  for (const p of run.phases) {
    const h = byPhase.get(p.name);
    const l = latencyCells(h?.histogram);
    parts.push(
      `<section class="phase" data-phase="${e(p.name)}"><h3>${e(p.name)} ${badge(p.verdict)}</h3>`,
      table(["SLO", "Measured", "Bar", "Verdict", "Detail"], p.slos.map((s) => [e(s.name), e(s.measuredDisplay), e(s.bar), badge(s.verdict), e(s.detail ?? "")]), p.ran ? "no SLO was evaluated" : didNotRun(p.reason)),
      table(["n", "P50", "P95", "P99", "Max"], [l.map(e)]),
      h ? h.svg.trim() : "",
      h ? `<p>Data: <a href="${e(h.files.json)}">${e(h.files.json)}</a> · <a href="${e(h.files.csv)}">${e(h.files.csv)}</a> · <a href="${e(h.files.svg)}">${e(h.files.svg)}</a></p>` : "",
      `</section>`,
    );
  }
  const ledger = input.ledger;
  parts.push(
    `<h2>Error budget</h2>`,
    `<p>From ${e(ledger.source)}.</p>`,
    table(
      ["Scope", "Requests sent", "Allowed", "Spent", "Spent on", "Left", "Status"],
      [...ledger.phases, ledger.overall].map((x) => [e(x.scope), e(x.ran ? formatCount(x.sent) : "—"), e(x.ran ? formatCount(x.allowed) : "—"), e(formatCount(x.spent)), e(x.byCause.map((c) => `${c.cause}: ${c.count}`).join(", ") || "none"), e(x.ran ? formatCount(x.left) : "—"), e(x.status)]),
    ),
    `<h2>Evidence items</h2><ol>`,
    ...itemEntries(input).map(({ item, files, note }) => `<li><strong>${e(item.title)}</strong>: ${files.map((f) => `<a href="${e(f)}">${e(f)}</a>`).join(", ")}${e(note)}</li>`),
    `</ol><p>Also: ${input.rootFiles.map((f) => `<a href="${e(f)}">${e(f)}</a>`).join(", ")}.</p>`,
    `<h2>War-room timeline</h2>`,
    table(
      ["Time (UTC)", "Milestone", "Owner", "Status", "Blocker"],
      run.timeline.map((t) => [e(t.time ? formatUtcTime(t.time) : "—"), e(t.milestone), e(t.owner), `<span class="status ${TIMELINE_CLASS[t.status] ?? "muted"}">${e(t.status)}</span>`, e(t.blocker || "N/A")]),
      "no milestone recorded",
    ),
    `<h2>Latest war-room update</h2>`,
    run.updates.length ? `<pre>${e(renderWarRoomUpdate(run.updates[run.updates.length - 1]!))}</pre>` : `<p>No update was recorded.</p>`,
    signoffHtml(input.approvals, input.decisions),
    `<footer><p>Check this bundle inside its folder with <code>sha256sum -c --strict ${MANIFEST_FILE}</code> (GNU coreutils) or <code>gate verify DIR</code>. Earlier manifests replaced by a sign-off are listed in <a href="${MANIFEST_HISTORY_FILE}">${MANIFEST_HISTORY_FILE}</a>.</p></footer>`,
    `</main></body></html>`,
    "",
  );
  return parts.join("\n");
}
