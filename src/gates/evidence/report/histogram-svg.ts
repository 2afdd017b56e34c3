// A latency histogram as a picture a reviewer can read at a glance: the bars, P50/P95/P99 marked, and the
// phase's SLO bar drawn in red. Standalone SVG (a bundle file) that report.html also inlines as is.

import type { LatencyHistogram } from "./latency-buckets.js";
import { escapeHtml } from "./report-format.js";
import { FONT, HEIGHT, LEFT, PLOT_H, PLOT_W, RIGHT, TOP, WIDTH } from "./plot-layout.js";
import { axes, emptyPlot, n1, niceStep, slotBar, svgStart, xAxisTitle, xTicks, yAxisTitle } from "./svg-plot.js";
import { formatCount, formatMs } from "../../model/index.js";
import { VERDICT_MEANING } from "../../verdict/index.js";

const MARKERS = [
  { key: "p50", label: "P50", color: "#2f3b4c", dash: "2 3" },
  { key: "p95", label: "P95", color: "#d9480f", dash: "6 3" },
  { key: "p99", label: "P99", color: "#7048e8", dash: "10 3" },
] as const;
const BAR_COLOR = "#c92a2a";
const VERDICT_COLOR: Record<string, string> = Object.fromEntries(Object.entries(VERDICT_MEANING).map(([v, m]) => [v, m.color]));

export function histogramSvg(h: LatencyHistogram): string {
  const verdictColor = VERDICT_COLOR[h.verdict] ?? "#495057";
  const p = h.percentiles;
  const title = p
    ? `${h.phase}: ${formatCount(h.samples)} requests, P95 ${formatMs(p.p95)} against a bar of ${formatMs(h.barMs)}: ${h.verdict}`
    : `${h.phase}: ${h.note ?? "no latency measured"}: ${h.verdict}`;
  const out: string[] = [
    ...svgStart("histogram", h.phase, HEIGHT, title),
    `<text x="${LEFT}" y="20" ${FONT} font-size="14" font-weight="bold" fill="#212529">${escapeHtml(h.phase)} <tspan fill="${verdictColor}">${escapeHtml(h.verdict)}</tspan><tspan font-weight="normal" font-size="12" fill="#495057">  ${escapeHtml(h.samples ? `${formatCount(h.samples)} requests` : "")}</tspan></text>`,
  ];
  if (!p || h.samples === 0) {
    out.push(...emptyPlot(TOP, PLOT_W, PLOT_H, h.note ?? "no latency measured"), `</svg>`);
    return `${out.join("\n")}\n`;
  }

  const slots = h.buckets.length + (h.overflow.count > 0 ? 1 : 0);
  const slotW = PLOT_W / slots;
  const maxCount = Math.max(1, ...h.buckets.map((b) => b.count), h.overflow.count);
  const xOf = (ms: number): number => LEFT + Math.min(ms / h.bucketWidthMs, h.buckets.length + (h.overflow.count > 0 ? 0.5 : 0)) * slotW;
  const barHeight = (count: number): number => (count === 0 ? 0 : Math.max(1, (count / maxCount) * PLOT_H));

  // Legend: the values, so labels never collide on the plot when the percentiles sit close together.
  let lx = LEFT;
  const legendY = 42;
  for (const m of MARKERS) {
    const text = `${m.label} ${formatMs(p[m.key])}`;
    out.push(
      `<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 22}" y2="${legendY - 4}" stroke="${m.color}" stroke-width="2" stroke-dasharray="${m.dash}"/>`,
      `<text x="${lx + 27}" y="${legendY}" ${FONT} font-size="12" fill="#212529">${escapeHtml(text)}</text>`,
    );
    lx += 34 + text.length * 7;
  }
  if (!h.valid) {
    // Said on the picture itself, since a picture travels without its table.
    out.push(
      `<text class="invalid" x="${WIDTH - RIGHT}" y="20" ${FONT} font-size="12" font-weight="bold" text-anchor="end" fill="${VERDICT_COLOR.ERROR}">RATE NOT HELD: these latencies cannot prove a PASS</text>`,
    );
  }
  const barText = `SLO bar: P95 ≤ ${formatMs(h.barMs)}`;
  out.push(
    `<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 22}" y2="${legendY - 4}" stroke="${BAR_COLOR}" stroke-width="3"/>`,
    `<text x="${lx + 27}" y="${legendY}" ${FONT} font-size="12" fill="${BAR_COLOR}">${escapeHtml(barText)}</text>`,
  );

  // The top of the count scale as a faint rule, then the axes.
  out.push(
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT + PLOT_W}" y2="${TOP}" stroke="#e9ecef"/>`,
    ...axes(TOP, PLOT_H, formatCount(maxCount)),
    yAxisTitle(TOP, PLOT_H, "requests"),
  );

  h.buckets.forEach((b, i) => {
    const height = barHeight(b.count);
    if (height === 0) return;
    out.push(
      slotBar({
        slotX: LEFT + i * slotW,
        slotW,
        y: TOP + PLOT_H - height,
        height,
        fill: "#74a9cf",
        title: `${n1(b.lowerMs)}–${n1(b.upperMs)} ms: ${b.count}`,
      }),
    );
  });
  if (h.overflow.count > 0) {
    const height = barHeight(h.overflow.count);
    const x = LEFT + h.buckets.length * slotW;
    out.push(
      slotBar({
        slotX: x,
        slotW,
        y: TOP + PLOT_H - height,
        height,
        fill: "#868e96",
        title: `≥ ${n1(h.overflow.fromMs)} ms: ${h.overflow.count}`,
      }),
      `<text x="${n1(x + slotW / 2)}" y="${TOP + PLOT_H + 30}" ${FONT} font-size="10" text-anchor="middle" fill="#495057">≥${n1(h.overflow.fromMs)}</text>`,
    );
  }

  // X ticks at round values, about six of them.
  const range = h.buckets.length * h.bucketWidthMs;
  out.push(
    ...xTicks(range, niceStep(range / 6), xOf, TOP + PLOT_H),
    xAxisTitle(HEIGHT, "latency, ms (due time to answer, coordinated omission corrected)"),
  );

  // The SLO bar, then the percentile markers on top of it.
  const barX = xOf(h.barMs);
  out.push(
    `<line class="slo-bar" x1="${n1(barX)}" y1="${TOP - 6}" x2="${n1(barX)}" y2="${TOP + PLOT_H}" stroke="${BAR_COLOR}" stroke-width="3"/>`,
  );
  for (const m of MARKERS) {
    const x = xOf(p[m.key]);
    out.push(
      `<line class="marker-${m.key}" x1="${n1(x)}" y1="${TOP}" x2="${n1(x)}" y2="${TOP + PLOT_H}" stroke="${m.color}" stroke-width="2" stroke-dasharray="${m.dash}"/>`,
    );
  }
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
