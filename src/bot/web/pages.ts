// The war-room pages, rendered on the server from the run records and live progress in Redis: the list
// of runs (with filters) and the live war room of one run. Plain HTML, one small stylesheet and one
// small script (both served by us, no build step, no CDN). Every text from a run passes the same
// redaction as the evidence before it is escaped, so nothing secret reaches a page.

import type { KeyObject } from "node:crypto";
import { promotionState, type PromotionState } from "../signoff/promotion.js";
import { type Gate, type Phase, formatDuration, formatMs } from "../../gates/model/index.js";
import { createRedactor, escapeHtml, formatUtcDateTime } from "../../gates/evidence/index.js";
import { renderWarRoomUpdate } from "../../gates/war-room/index.js";
import { capacityLine, CAPACITY_LABEL } from "../../gates/measure/index.js";
import { phasesUpTo } from "../../gates/gate-file/index.js";
import { evidenceBranch } from "../github/evidence-pr.js";
import type { PhaseProgress, ProgressPoint } from "../runs/run-progress.js";
import type { RunRecord } from "../runs/run-state.js";
import { warRoomViewOf } from "../github/war-room-comment.js";

const redact = createRedactor([]);

/** Run text, redacted, then escaped for HTML. */
function t(value: unknown): string {
  return escapeHtml(redact(value === null || value === undefined ? "" : String(value)));
}

function when(iso: string | undefined): string {
  return iso ? t(formatUtcDateTime(iso)) : "–";
}

export function layout(title: string, body: string, liveEvents?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t(title)}</title>
<link rel="stylesheet" href="/static/war-room.css">
${liveEvents ? `<script src="/static/war-room.js" defer></script>` : ""}
</head>
<body>
<header class="top"><a href="/">release-gate war room</a></header>
<main${liveEvents ? ` data-events="${t(liveEvents)}"` : ""}>
${body}
</main>
</body>
</html>
`;
}

export function errorPage(status: number, message: string): string {
  return layout(`${status}`, `<h1>${status}</h1><p class="problem">${t(message)}</p>`);
}

// ---- the list -------------------------------------------------------------------------------------

export interface RunFilters {
  gate?: string;
  repo?: string;
  state?: string;
  verdict?: string;
  who?: string;
}

export const RUN_STATES = ["queued", "running", "finished", "cancelled", "lost"] as const;
export const VERDICTS = ["PASS", "FAIL", "ERROR", "PARTIAL", "INCONCLUSIVE", "none"] as const;

export function readFilters(query: Record<string, unknown>): RunFilters {
  const pick = (k: string) =>
    typeof query[k] === "string" && (query[k] as string).trim() !== "" ? (query[k] as string).trim().slice(0, 100) : undefined;
  return { gate: pick("gate"), repo: pick("repo"), state: pick("state"), verdict: pick("verdict"), who: pick("who") };
}

export function filterRuns(runs: readonly RunRecord[], f: RunFilters): RunRecord[] {
  return runs.filter(
    (r) =>
      (!f.gate || r.gate === f.gate) &&
      (!f.repo || `${r.owner}/${r.repo}`.toLowerCase() === f.repo.toLowerCase()) &&
      (!f.state || r.phase === f.state) &&
      (!f.verdict || (f.verdict === "none" ? !r.verdict : r.verdict === f.verdict)) &&
      (!f.who || r.requestedBy.toLowerCase() === f.who.replace(/^@/, "").toLowerCase()),
  );
}

function durationOf(r: RunRecord, now: Date): string {
  if (!r.startedAt) return "–";
  const end = r.finishedAt ? Date.parse(r.finishedAt) : r.phase === "running" ? now.getTime() : NaN;
  return Number.isNaN(end) ? "–" : formatDuration(Math.max(0, end - Date.parse(r.startedAt)));
}

function verdictBadge(v: string | undefined): string {
  return v ? `<span class="badge ${t(v)}">${t(v)}</span>` : `<span class="muted">–</span>`;
}

function stateBadge(r: RunRecord): string {
  const label = r.phase === "finished" && r.aborted ? "aborted" : r.phase;
  return `<span class="state ${t(r.phase)}">${t(label)}</span>`;
}

function select(name: string, label: string, current: string | undefined, options: readonly string[]): string {
  const opts = [
    `<option value="">any</option>`,
    ...options.map((o) => `<option value="${t(o)}"${o === current ? " selected" : ""}>${t(o)}</option>`),
  ];
  return `<label>${t(label)} <select name="${name}">${opts.join("")}</select></label>`;
}

export function renderRunList(runs: readonly RunRecord[], all: readonly RunRecord[], f: RunFilters, now = new Date()): string {
  const gates = [...new Set(all.map((r) => r.gate))].sort();
  const repos = [...new Set(all.map((r) => `${r.owner}/${r.repo}`))].sort();
  const rows = runs.map(
    (r) => `<tr data-run="${t(r.id)}">
<td><a href="/runs/${encodeURIComponent(r.id)}">${t(r.gate)}</a></td>
<td>${t(`${r.owner}/${r.repo}`)}</td>
<td>#${r.pullNumber}</td>
<td><code>${t(r.headSha.slice(0, 7))}</code></td>
<td>${t(r.scope)}</td>
<td>${stateBadge(r)}</td>
<td>${verdictBadge(r.verdict)}</td>
<td>${when(r.startedAt ?? r.requestedAt)}</td>
<td>${t(durationOf(r, now))}</td>
<td>@${t(r.requestedBy)}</td>
</tr>`,
  );
  const form = `<form class="filters" method="get" action="/">
${select("gate", "gate", f.gate, gates)}
${select("repo", "repository", f.repo, repos)}
${select("state", "state", f.state, RUN_STATES)}
${select("verdict", "verdict", f.verdict, VERDICTS)}
<label>asked by <input name="who" value="${t(f.who ?? "")}" size="12" placeholder="login"></label>
<button type="submit">Filter</button> <a href="/">clear</a>
</form>`;
  const table = `<table id="runs"><thead><tr><th>Gate</th><th>Repository</th><th>PR</th><th>Commit</th><th>Scope</th><th>State</th><th>Verdict</th><th>Started</th><th>Duration</th><th>Asked by</th></tr></thead>
<tbody>${rows.join("\n") || `<tr><td colspan="10">No run matches.</td></tr>`}</tbody></table>`;
  return layout(
    "War room: runs",
    `<h1>Runs</h1>\n${form}\n<p class="muted">${runs.length} of ${all.length} run${all.length === 1 ? "" : "s"}</p>\n${table}`,
  );
}

// ---- one run ----------------------------------------------------------------------------------------

export interface RunView {
  record: RunRecord;
  /** The gate as this server knows it (null if its file is gone). */
  gate: Gate | null;
  progress: Record<string, PhaseProgress>;
  now?: Date;
  /** The bot's evidence signing key, which the sign-off chain is checked with (undefined: it has none). */
  approvalKey: KeyObject | undefined;
}

function selectedPhases(v: RunView): { name: string; requests: number; rate: number; barMs: number }[] {
  if (v.gate) {
    try {
      return phasesUpTo(v.gate, v.record.selector).map((p: Phase) => ({
        name: p.name,
        requests: p.requests,
        rate: p.rate,
        barMs: p.latencyP95Ms,
      }));
    } catch {
      // A gate file changed since the run: fall back to what the run recorded.
    }
  }
  return (v.record.phases ?? []).map((p) => ({ name: p.name, requests: p.requests, rate: p.rate, barMs: p.barMs }));
}

function p95Cell(p95: number | null, bar: number): string {
  if (p95 === null) return `<span class="muted">–</span> / ${t(formatMs(bar))}`;
  return `<span class="${p95 <= bar ? "ok" : "bad"}">${t(formatMs(p95))}</span> / ${t(formatMs(bar))}`;
}

function phaseTable(v: RunView): string {
  const ended = new Map((v.record.phases ?? []).map((p) => [p.name, p]));
  const rows = selectedPhases(v).map((ph) => {
    const done = ended.get(ph.name);
    const live = v.progress[ph.name];
    const head = `<td>${t(ph.name)}</td><td>${ph.requests.toLocaleString("en-US")} @ ${ph.rate.toLocaleString("en-US")}/s</td>`;
    if (done) {
      const status = done.ran ? verdictBadge(done.verdict) : `<span class="muted">not run</span>`;
      return `<tr data-phase="${t(ph.name)}" data-state="${done.ran ? "done" : "not-run"}">${head}<td>${done.sent.toLocaleString("en-US")}</td><td>${done.accepted.toLocaleString("en-US")}</td><td>${done.errors}</td><td>${p95Cell(done.p95Ms, ph.barMs)}</td><td><progress max="${ph.requests}" value="${done.sent}"></progress></td><td>${status}</td><td class="reason">${t(done.reason)}</td></tr>`;
    }
    if (live && v.record.phase === "running") {
      return `<tr data-phase="${t(ph.name)}" data-state="running">${head}<td>${live.sent.toLocaleString("en-US")}</td><td>${live.accepted.toLocaleString("en-US")}</td><td>${live.errors}</td><td>${p95Cell(live.p95Ms, ph.barMs)} <span class="muted">running</span></td><td><progress max="${live.total}" value="${live.sent}"></progress> ${Math.floor((100 * live.sent) / Math.max(1, live.total))}%</td><td><span class="state running">running</span></td><td class="reason">${live.currentRate.toLocaleString("en-US")}/s now</td></tr>`;
    }
    return `<tr data-phase="${t(ph.name)}" data-state="pending">${head}<td>–</td><td>–</td><td>–</td><td>${p95Cell(null, ph.barMs)}</td><td><progress max="${ph.requests}" value="0"></progress></td><td><span class="muted">pending</span></td><td></td></tr>`;
  });
  return `<table id="phases"><thead><tr><th>Phase</th><th>Requests</th><th>Sent</th><th>Accepted</th><th>Errors</th><th>P95 / bar</th><th>Progress</th><th>Verdict</th><th>Notes</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

/** Running P95 against the bar over the phase's time: a small SVG drawn here, from the progress history. */
export function latencyChart(phase: string, history: readonly ProgressPoint[], barMs: number): string {
  const W = 640;
  const H = 170;
  const L = 48;
  const B = 24;
  const points = history.filter((p) => p.p95Ms !== null) as { t: number; p95Ms: number; rate: number }[];
  const maxT = Math.max(1, ...history.map((p) => p.t));
  const maxY = Math.max(barMs * 1.25, ...points.map((p) => p.p95Ms)) || 1;
  const x = (v: number) => (L + ((W - L - 8) * v) / maxT).toFixed(1);
  const y = (v: number) => (H - B - ((H - B - 8) * v) / maxY).toFixed(1);
  const line = points.map((p) => `${x(p.t)},${y(p.p95Ms)}`).join(" ");
  return `<svg class="chart" data-phase="${t(phase)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="running P95 of ${t(phase)} against its bar">
<rect x="${L}" y="8" width="${W - L - 8}" height="${H - B - 8}" fill="#fff" stroke="#ced4da"/>
<line class="bar" x1="${L}" x2="${W - 8}" y1="${y(barMs)}" y2="${y(barMs)}" stroke="#c92a2a" stroke-dasharray="6 4"/>
<text x="${W - 10}" y="${Number(y(barMs)) - 4}" text-anchor="end" font-size="11" fill="#c92a2a">bar ${t(formatMs(barMs))}</text>
${line ? `<polyline class="p95" points="${line}" fill="none" stroke="#1c7ed6" stroke-width="2"/>` : ""}
<text x="${L - 4}" y="14" text-anchor="end" font-size="10">${t(formatMs(maxY))}</text>
<text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="10">0</text>
<text x="${L}" y="${H - 6}" font-size="10">0 s</text>
<text x="${W - 8}" y="${H - 6}" text-anchor="end" font-size="10">${maxT.toFixed(1)} s</text>
<text x="${L + 6}" y="22" font-size="11" fill="#1c7ed6">running P95, ${t(phase)}</text>
</svg>`;
}

function charts(v: RunView): string {
  const bars = new Map(selectedPhases(v).map((p) => [p.name, p.barMs]));
  const phases = Object.values(v.progress).filter((p) => p.history.length > 0);
  if (!phases.length) return `<p class="muted">The chart fills in once a phase is replaying.</p>`;
  return phases.map((p) => latencyChart(p.phase, p.history, bars.get(p.phase) ?? p.barMs)).join("\n");
}

function links(r: RunRecord): string {
  const pr = r.warRoomUrl ? r.warRoomUrl.replace(/#.*$/, "") : null;
  const report = r.evidenceUrl
    ? r.evidenceUrl.replace(/\/pull\/\d+$/, `/blob/${evidenceBranch(r.gate, r.id)}/evidence/${encodeURIComponent(r.id)}/report.html`)
    : null;
  const items = [
    pr ? `<a href="${t(pr)}">pull request #${r.pullNumber}</a>` : `pull request #${r.pullNumber}`,
    r.warRoomUrl ? `<a href="${t(r.warRoomUrl)}">war-room comment</a>` : "",
    r.checkRunUrl ? `<a href="${t(r.checkRunUrl)}">check run</a>` : "",
    r.evidenceUrl ? `<a href="${t(r.evidenceUrl)}">evidence PR #${r.evidencePullNumber ?? ""}</a>` : "",
    report ? `<a href="${t(report)}">report.html</a>` : "",
  ].filter(Boolean);
  return `<p class="links">${items.join(" · ")}</p>`;
}

function blockers(r: RunRecord): string {
  const list = [
    ...(r.lastUpdate?.blockers ? [r.lastUpdate.blockers] : []),
    ...(r.timeline ?? []).filter((e) => e.status === "failed" && e.blocker).map((e) => `${e.milestone}: ${e.blocker}`),
  ];
  const unique = [...new Set(list)];
  return unique.length ? `<ul id="blockers">${unique.map((b) => `<li>${t(b)}</li>`).join("")}</ul>` : `<p id="blockers">None</p>`;
}

const PROMOTION_CLASS: Record<PromotionState, "success" | "pending" | "failure"> = {
  go: "success",
  pending: "pending",
  unfinished: "pending",
  "no-go": "failure",
  partial: "failure",
  superseded: "failure",
  unverified: "failure",
  withheld: "pending",
};

const PROMOTION_TEXT: Record<PromotionState, string> = {
  go: "GO: signed off",
  pending: "a full PASS awaiting sign-off",
  unfinished: "no verdict yet",
  "no-go": "not a PASS: no promotion",
  partial: "partial: not a promotion decision",
  superseded: "superseded by a newer run of the same commit",
  unverified:
    "NO-GO: the sign-off in the record is not backed by its signed approval chain, or its commit's attempt ledger failed its check",
  withheld: "a PASS the gate's retry rule does not count as a GO (yet)",
};

function signoff(v: RunView): string {
  const r = v.record;
  const policy = v.gate
    ? v.gate.signoff.approvals === 0
      ? "no sign-off required"
      : `${v.gate.signoff.approvals} approval${v.gate.signoff.approvals === 1 ? "" : "s"} from ${v.gate.signoff.approvers.length ? v.gate.signoff.approvers.join(", ") : `anyone with ${v.gate.signoff.permission} permission`}`
    : "";
  // Where the promotion stands, from the bot's own record of the run and its sign-off.
  const promotion = promotionState(r, v.approvalKey);
  const approvals = r.signoff?.approvals.map((a) => a.login).join(", ");
  const state =
    r.phase === "finished" || r.signoff
      ? `<span class="signoff ${PROMOTION_CLASS[promotion]}">${t(promotion)}</span> ${t(PROMOTION_TEXT[promotion])}` +
        (approvals
          ? ` <span class="muted">(approved by ${t(approvals)}${r.signoff?.decidedAt ? `, ${when(r.signoff.decidedAt)}` : ""})</span>`
          : "") +
        (r.evidenceUrl ? "" : ` <span class="muted">(no evidence PR)</span>`)
      : `<span class="muted">after the verdict, on the evidence PR</span>`;
  return `<p id="signoff">${state}${policy ? `<br><span class="muted">Policy: ${t(policy)}</span>` : ""}</p>`;
}

function decisions(r: RunRecord): string {
  const list = r.decisions ?? [];
  if (!list.length) return `<p class="muted">No decision yet.</p>`;
  return `<ol id="decisions">${list.map((d) => `<li><strong>${t(d.title)}</strong> <span class="muted">${when(d.time)}</span><br>${t(d.decision)}<br><span class="muted">Authority: ${t(d.authority)}. Rationale: ${t(d.rationale)}</span></li>`).join("")}</ol>`;
}

function preflight(r: RunRecord): string {
  if (!r.preflight?.length) return "";
  const rows = r.preflight.map(
    (c) =>
      `<tr><td>${t(c.check)}</td><td>${t(c.expected)}</td><td>${t(c.actual)}</td><td>${verdictBadge(c.verdict)}</td><td>${t(c.detail ?? "")}</td></tr>`,
  );
  return `<h2>Pre-flight</h2><table id="preflight"><thead><tr><th>Check</th><th>Expected</th><th>Found</th><th>Verdict</th><th>Detail</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function headroom(r: RunRecord): string {
  if (!r.capacity) return "";
  return `<h2>Headroom <span class="label">closed loop · not in the verdict</span></h2><p id="headroom" class="closed-loop">${t(capacityLine(r.capacity))}</p><p class="muted">${t(CAPACITY_LABEL)}: each connection waits for its answer before sending again, so queueing is hidden; the gate's own phases are open loop.</p>`;
}

function timeline(v: RunView): string {
  const rows = v.gate ? warRoomViewOf(v.gate, v.record).timeline : (v.record.timeline ?? []);
  return `<table id="timeline"><thead><tr><th>Time (UTC)</th><th>Milestone</th><th>Owner</th><th>Status</th><th>Blocker</th></tr></thead><tbody>${rows
    .map(
      (e) =>
        `<tr class="${t(e.status)}"><td>${e.time ? t(formatUtcDateTime(e.time).slice(11, 16)) : ""}</td><td>${t(e.milestone)}</td><td>${t(e.owner)}</td><td><span class="state ${t(e.status)}">${t(e.status)}</span></td><td>${t(e.blocker || "")}</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

/** Everything on the run's page that changes while it runs: sent again, whole, at each change. */
export function renderLive(v: RunView): string {
  const r = v.record;
  const u = r.lastUpdate;
  const status = u?.status ?? (r.phase === "queued" ? "YELLOW" : "GREEN");
  const banner = `<div id="status" class="status-${t(status)}" data-state="${t(r.phase)}" data-verdict="${t(r.verdict ?? "")}">
<span class="big">${r.verdict ? verdictBadge(r.verdict) : stateBadge(r)}</span> STATUS: ${t(status)}${u?.timeToDeadline ? ` · TIME TO DEADLINE: ${t(u.timeToDeadline)}` : ""}
${r.reason ? `<div class="reason">${t(r.reason)}</div>` : ""}</div>`;
  return [
    banner,
    `<h2>Phases</h2>`,
    phaseTable(v),
    `<h2>Latency over time</h2>`,
    charts(v),
    preflight(r),
    headroom(r),
    `<h2>Latest update</h2>`,
    u ? `<pre id="update">${t(renderWarRoomUpdate(u))}</pre>` : `<p class="muted">Waiting for a runner…</p>`,
    `<h2>Blockers</h2>`,
    blockers(r),
    `<h2>Timeline</h2>`,
    timeline(v),
    `<h2>Decision log</h2>`,
    decisions(r),
    `<h2>Sign-off</h2>`,
    signoff(v),
    links(r),
    `<p class="muted">Updated ${when((v.now ?? new Date()).toISOString())}${isLive(r) ? " · live" : ""}</p>`,
  ].join("\n");
}

/** Whether the page should keep listening: until the PR has been told the end. */
export function isLive(r: RunRecord): boolean {
  return r.phase === "queued" || r.phase === "running" || (r.phase === "finished" && !r.reportedAt);
}

export function pageTitle(r: RunRecord, gate: Gate | null): string {
  return `${gate?.title ?? r.gate}: ${r.label} on ${r.headSha.slice(0, 7)} (${r.verdict ?? r.phase})`;
}

export function renderRunPage(v: RunView): string {
  const r = v.record;
  const head = `<h1>${t(v.gate?.title ?? r.gate)}: <code>${t(r.label)}</code> on <code>${t(r.headSha.slice(0, 7))}</code></h1>
<p class="meta">Run <code>${t(r.id)}</code> · ${t(`${r.owner}/${r.repo}`)} #${r.pullNumber} · asked by @${t(r.requestedBy)} at ${when(r.requestedAt)} · scope ${t(r.scope)}</p>`;
  return layout(
    pageTitle(r, v.gate),
    `${head}\n<section id="live">\n${renderLive(v)}\n</section>`,
    isLive(r) ? `/runs/${encodeURIComponent(r.id)}/events` : undefined,
  );
}
