// report.html, the bundle's front page as one self-contained page: inline CSS and SVG, no script, nothing fetched.

import { durationText, itemEntries, latencyCells, phaseReplayNote, signoffHtml, type ReportInput } from "./evidence-report.js";
import { MANIFEST_FILE, MANIFEST_HISTORY_FILE } from "../manifest.js";
import { didNotRun, escapeHtml } from "./report-format.js";
import { formatCount, formatMs, type TimelineEntry } from "../../model/index.js";
import { formatUtcTime, renderWarRoomUpdate } from "../../war-room/index.js";
import { baselineLine } from "../../verdict/index.js";
import { resourcesHtml } from "./resources-report.js";

// The war room's own formats (timeline, update, decision log) come from war-room.ts; report.html shows the same,
// with words and colours instead of emoji, which a headless or minimal machine may have no font for.
const TIMELINE_CLASS: Record<TimelineEntry["status"], string> = {
  done: "ok",
  running: "pending",
  pending: "muted",
  failed: "bad",
  skipped: "muted",
};

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
.badge.NOT_RUN { background: #868e96; }
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
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n")
    : `<tr><td colspan="${header.length}">${escapeHtml(empty)}</td></tr>`;
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
    ...(run.baseline ? [`<tr><th>Baseline</th><td>${e(baselineLine(run.baseline)!)}</td></tr>`] : []),
    `<tr><th>DRI / status owner</th><td>${e(gate.dri)} / ${e(gate.statusOwner)}</td></tr>`,
    `</tbody></table>`,
    `<h2>Verdict by phase</h2>`,
    table(
      ["Phase", "Requests", "Rate", "Latency bar (P95)", "Replay", "Verdict", "Reason"],
      run.phases.map((p) => [
        e(p.name),
        e(formatCount(p.requests)),
        e(`${p.rate}/s`),
        e(formatMs(p.latencyBarMs)),
        e(phaseReplayNote(p)),
        badge(p.verdict),
        e(p.reason),
      ]),
      "no phase",
    ),
  ];
  if (input.problems.length > 0)
    parts.push(`<h2>Problems</h2><ul class="problems">${input.problems.map((p) => `<li>${e(p)}</li>`).join("")}</ul>`);
  parts.push(...resourcesHtml(run, input.timelines ?? [], new Set(input.items.flatMap((i) => i.files))));
  parts.push(`<h2>Phases: each SLO against its bar, and the latency histogram</h2>`);
  for (const p of run.phases) {
    const h = byPhase.get(p.name);
    const l = latencyCells(h?.histogram);
    parts.push(
      `<section class="phase" data-phase="${e(p.name)}"><h3>${e(p.name)} ${badge(p.verdict)}</h3>`,
      table(
        ["SLO", "Measured", "Bar", "Verdict", "Detail"],
        p.slos.map((s) => [e(s.name), e(s.measuredDisplay), e(s.bar), badge(s.verdict), e(s.detail ?? "")]),
        p.ran ? "no SLO was evaluated" : didNotRun(p.reason),
      ),
      table(["n", "P50", "P95", "P99", "Max"], [l.map(e)]),
      h ? h.svg.trim() : "",
      (input.overlays ?? []).find((o) => o.phase === p.name)?.svg.trim() ?? "",
      (input.shards ?? []).find((s) => s.phase === p.name)?.svg.trim() ?? "",
      h
        ? `<p>Data: <a href="${e(h.files.json)}">${e(h.files.json)}</a> · <a href="${e(h.files.csv)}">${e(h.files.csv)}</a> · <a href="${e(h.files.svg)}">${e(h.files.svg)}</a></p>`
        : "",
      `</section>`,
    );
  }
  const ledger = input.ledger;
  parts.push(
    `<h2>Error budget</h2>`,
    `<p>From ${e(ledger.source)}.</p>`,
    table(
      ["Scope", "Requests sent", "Allowed", "Spent", "Spent on", "Left", "Status"],
      [...ledger.phases, ledger.overall].map((x) => [
        e(x.scope),
        e(x.ran ? formatCount(x.sent) : "—"),
        e(x.ran ? formatCount(x.allowed) : "—"),
        e(formatCount(x.spent)),
        e(x.byCause.map((c) => `${c.cause}: ${c.count}`).join(", ") || "none"),
        e(x.ran ? formatCount(x.left) : "—"),
        e(x.status),
      ]),
    ),
    `<h2>Evidence items</h2><ol>`,
    ...itemEntries(input).map(
      ({ item, files, note }) =>
        `<li><strong>${e(item.title)}</strong>: ${files.map((f) => `<a href="${e(f)}">${e(f)}</a>`).join(", ")}${e(note)}</li>`,
    ),
    `</ol><p>Also: ${input.rootFiles.map((f) => `<a href="${e(f)}">${e(f)}</a>`).join(", ")}.</p>`,
    `<h2>War-room timeline</h2>`,
    table(
      ["Time (UTC)", "Milestone", "Owner", "Status", "Blocker"],
      run.timeline.map((t) => [
        e(t.time ? formatUtcTime(t.time) : "—"),
        e(t.milestone),
        e(t.owner),
        `<span class="status ${TIMELINE_CLASS[t.status] ?? "muted"}">${e(t.status)}</span>`,
        e(t.blocker || "N/A"),
      ]),
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
