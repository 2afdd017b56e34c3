// A phase's latency over time as a picture: per second, P50, P95, max and the send lag on a log scale
// with the SLO bar drawn in red, and below them the 202s answered per second and the service's queue
// depth. Standalone SVG (a bundle file) that report.html inlines first, as is.

import type { LatencyTimeline, TimelineSecond } from "./latency-timeline.js";
import { escapeHtml } from "./report-format.js";
import { FONT, LEFT, TOP, WIDTH } from "./plot-layout.js";
import { emptyPlot, n1, niceStep, slotBar, svgStart, xTicks, yAxisTitle } from "./svg-plot.js";
import { formatCount, formatMs } from "../../model/index.js";

const HEIGHT = 420;
/** Wider than the histograms' right margin: the queue depth's scale sits there. */
const RIGHT = 64;
const PLOT_W = WIDTH - LEFT - RIGHT;
const LAT_H = 200;
const FLOW_TOP = TOP + LAT_H + 34;
const FLOW_H = 70;
const FLOOR_MS = 0.1;

const SERIES = [
  { key: "p50Ms", cls: "series-p50", label: "P50", color: "#2f3b4c", width: 2, dash: "" },
  { key: "p95Ms", cls: "series-p95", label: "P95", color: "#d9480f", width: 2, dash: "" },
  { key: "maxMs", cls: "series-max", label: "max", color: "#7048e8", width: 1.2, dash: "" },
  { key: "sendLagMaxMs", cls: "series-lag", label: "send lag (max)", color: "#868e96", width: 1.2, dash: "4 3" },
] as const;
const BAR_COLOR = "#c92a2a";
const ACCEPTED_COLOR = "#74a9cf";
const QUEUE_COLOR = "#2b8a3e";
const VERDICT_COLOR: Record<string, string> = { PASS: "#2b8a3e", FAIL: "#c92a2a", ERROR: "#e67700" };

/** A path through the points, broken where a value is missing. */
function path(points: [number, number | null][]): string {
  let d = "";
  let pen = false;
  for (const [x, y] of points) {
    if (y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${n1(x)} ${n1(y)} `;
    pen = true;
  }
  return d.trim();
}

export function timelineSvg(t: LatencyTimeline): string {
  const verdictColor = VERDICT_COLOR[t.verdict] ?? "#495057";
  const windowText = t.windowMs >= 1000 ? "second" : `${t.windowMs} ms`;
  const spanS = (t.seconds.length * t.windowMs) / 1000;
  const title = t.seconds.length
    ? `${t.phase}: latency per ${windowText} over ${n1(spanS)} s (P50, P95, max, send lag) against a P95 bar of ${formatMs(t.barMs)}, with 202s per second and queue depth: ${t.verdict}`
    : `${t.phase}: ${t.note ?? "no latency measured"}: ${t.verdict}`;
  const out: string[] = [
    ...svgStart("timeline", t.phase, HEIGHT, title),
    `<text x="${LEFT}" y="20" ${FONT} font-size="14" font-weight="bold" fill="#212529">${escapeHtml(t.phase)} over time <tspan fill="${verdictColor}">${escapeHtml(t.verdict)}</tspan></text>`,
  ];
  if (t.seconds.length === 0) {
    out.push(...emptyPlot(TOP, PLOT_W, LAT_H, t.note ?? "no latency measured"), `</svg>`);
    return `${out.join("\n")}\n`;
  }
  if (!t.valid) {
    out.push(
      `<text class="invalid" x="${WIDTH - RIGHT}" y="20" ${FONT} font-size="12" font-weight="bold" text-anchor="end" fill="${VERDICT_COLOR.ERROR}">INVALID REPLAY: these latencies say nothing</text>`,
    );
  }

  // Legend.
  let lx = LEFT;
  const legendY = 42;
  for (const s of SERIES) {
    out.push(
      `<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 22}" y2="${legendY - 4}" stroke="${s.color}" stroke-width="${s.width + 0.8}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
      `<text x="${lx + 27}" y="${legendY}" ${FONT} font-size="12" fill="#212529">${escapeHtml(s.label)}</text>`,
    );
    lx += 40 + s.label.length * 7;
  }
  out.push(
    `<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 22}" y2="${legendY - 4}" stroke="${BAR_COLOR}" stroke-width="3"/>`,
    `<text x="${lx + 27}" y="${legendY}" ${FONT} font-size="12" fill="${BAR_COLOR}">${escapeHtml(`P95 bar ${formatMs(t.barMs)}`)}</text>`,
  );

  // Latency panel, log scale from 0.1 ms to a power of ten above the worst second and the bar.
  const worst = Math.max(t.barMs, ...t.seconds.map((s) => Math.max(s.maxMs ?? 0, s.sendLagMaxMs ?? 0)));
  const decades = Math.max(1, Math.ceil(Math.log10(Math.max(worst * 1.05, FLOOR_MS * 10) / FLOOR_MS)));
  const yLat = (ms: number): number => TOP + LAT_H * (1 - Math.log10(Math.max(ms, FLOOR_MS) / FLOOR_MS) / decades);
  const count = t.seconds.length;
  const windowS = t.windowMs / 1000;
  const slot = PLOT_W / count;
  const xOf = (second: number): number => LEFT + (second / windowS + 0.5) * slot;
  out.push(
    `<rect x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${LAT_H}" fill="none" stroke="#ced4da"/>`,
    yAxisTitle(TOP, LAT_H, "latency, ms (log)"),
  );
  for (let d = 0; d <= decades; d++) {
    const ms = FLOOR_MS * 10 ** d;
    const y = yLat(ms);
    out.push(
      `<line x1="${LEFT}" y1="${n1(y)}" x2="${LEFT + PLOT_W}" y2="${n1(y)}" stroke="#f1f3f5"/>`,
      `<text x="${LEFT - 6}" y="${n1(y + 4)}" ${FONT} font-size="11" text-anchor="end" fill="#495057">${escapeHtml(ms >= 1000 ? `${ms / 1000} s` : `${Number(ms.toPrecision(1))}`)}</text>`,
    );
  }
  const barY = yLat(t.barMs);
  out.push(
    `<line class="slo-bar" x1="${LEFT}" y1="${n1(barY)}" x2="${LEFT + PLOT_W}" y2="${n1(barY)}" stroke="${BAR_COLOR}" stroke-width="2"/>`,
  );
  for (const s of SERIES) {
    const d = path(
      t.seconds.map((row) => [
        xOf(row.second),
        row[s.key as keyof TimelineSecond] === null ? null : yLat(row[s.key as keyof TimelineSecond] as number),
      ]),
    );
    if (d)
      out.push(
        `<path class="${s.cls}" d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
      );
  }
  // A hover title per second, for the numbers behind the lines.
  for (const row of t.seconds) {
    const span = `${n1(row.second)}-${n1(row.second + windowS)} s`;
    const flow = `${formatCount(Math.round(row.acceptedPerS))} accepted/s${row.queueDepth === null ? "" : `; queue ${row.queueDepth}`}`;
    const text = row.requests
      ? `${span}: ${row.requests} due, P50 ${formatMs(row.p50Ms!)}, P95 ${formatMs(row.p95Ms!)}, max ${formatMs(row.maxMs!)}, send lag max ${formatMs(row.sendLagMaxMs!)}; ${flow}`
      : `${span}: nothing due; ${flow}`;
    out.push(
      `<rect x="${n1(LEFT + (row.second / windowS) * slot)}" y="${TOP}" width="${n1(slot)}" height="${LAT_H}" fill="transparent"><title>${escapeHtml(text)}</title></rect>`,
    );
  }

  // Flow panel: 202s per second as bars (left scale), queue depth as a line (right scale).
  const maxAccepted = Math.max(1, ...t.seconds.map((s) => s.acceptedPerS));
  const depths = t.seconds.map((s) => s.queueDepth).filter((d): d is number => d !== null);
  const maxDepth = Math.max(1, ...depths);
  out.push(
    `<rect x="${LEFT}" y="${FLOW_TOP}" width="${PLOT_W}" height="${FLOW_H}" fill="none" stroke="#ced4da"/>`,
    `<text x="${LEFT - 6}" y="${FLOW_TOP + 8}" ${FONT} font-size="11" text-anchor="end" fill="#1c7ed6">${escapeHtml(formatCount(Math.round(maxAccepted)))}</text>`,
    `<text x="${LEFT - 6}" y="${FLOW_TOP + FLOW_H}" ${FONT} font-size="11" text-anchor="end" fill="#1c7ed6">0</text>`,
    `<text x="${LEFT}" y="${FLOW_TOP - 6}" ${FONT} font-size="11" fill="#1c7ed6">accepted (202) per second</text>`,
  );
  for (const row of t.seconds) {
    const h = (row.acceptedPerS / maxAccepted) * FLOW_H;
    if (h > 0)
      out.push(
        slotBar({
          cls: "series-accepted",
          slotX: LEFT + (row.second / windowS) * slot,
          slotW: slot,
          y: FLOW_TOP + FLOW_H - h,
          height: h,
          fill: ACCEPTED_COLOR,
        }),
      );
  }
  if (t.queueSampled) {
    // Sampled every 250 ms: a window without a sample is skipped over, not drawn as a gap.
    const d = path(
      t.seconds
        .filter((row) => row.queueDepth !== null)
        .map((row) => [xOf(row.second), FLOW_TOP + FLOW_H - (row.queueDepth! / maxDepth) * FLOW_H]),
    );
    if (d) out.push(`<path class="series-queue" d="${d}" fill="none" stroke="${QUEUE_COLOR}" stroke-width="2"/>`);
    out.push(
      `<text x="${LEFT + PLOT_W + 6}" y="${FLOW_TOP + 8}" ${FONT} font-size="11" fill="${QUEUE_COLOR}">${escapeHtml(formatCount(depths.length ? maxDepth : 0))}</text>`,
      `<text x="${LEFT + PLOT_W + 6}" y="${FLOW_TOP + FLOW_H}" ${FONT} font-size="11" fill="${QUEUE_COLOR}">0</text>`,
      `<text x="${LEFT + PLOT_W}" y="${FLOW_TOP - 6}" ${FONT} font-size="11" text-anchor="end" fill="${QUEUE_COLOR}">queue depth (deepest sample in the window)</text>`,
    );
  } else {
    out.push(
      `<text class="queue-absent" x="${LEFT + PLOT_W}" y="${FLOW_TOP - 6}" ${FONT} font-size="11" text-anchor="end" fill="#868e96">queue depth: not sampled (the target's queue is not reachable from the gate)</text>`,
    );
  }

  // Seconds along the bottom.
  const tick = niceStep((count * windowS) / 8, [1, 2, 5, 10]);
  out.push(...xTicks(count * windowS, tick, (v) => LEFT + (v / windowS) * slot, FLOW_TOP + FLOW_H));
  out.push(
    `<text x="${LEFT + PLOT_W / 2}" y="${HEIGHT - 4}" ${FONT} font-size="11" text-anchor="middle" fill="#495057">${escapeHtml(`seconds since the replay started, in windows of ${windowText === "second" ? "1 s" : windowText} (latency by due time, answers by arrival)`)}</text>`,
  );
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
