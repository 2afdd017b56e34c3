// A latency histogram as a picture a reviewer can read at a glance: the bars, P50/P95/P99 marked, and the
// phase's SLO bar drawn in red. Standalone SVG (a bundle file) that report.html also inlines as is.

import type { LatencyHistogram } from "./latency-histogram.js";
import { escapeHtml } from "./report-format.js";
import { formatCount, formatMs } from "./units.js";
import { VERDICT_MEANING } from "./verdict-meaning.js";

const WIDTH = 720;
const HEIGHT = 300;
const LEFT = 64;
const RIGHT = 20;
const TOP = 62;
const BOTTOM = 44;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;
const FONT = `font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"`;

const MARKERS = [
  { key: "p50", label: "P50", color: "#2f3b4c", dash: "2 3" },
  { key: "p95", label: "P95", color: "#d9480f", dash: "6 3" },
  { key: "p99", label: "P99", color: "#7048e8", dash: "10 3" },
] as const;
const BAR_COLOR = "#c92a2a";
const VERDICT_COLOR: Record<string, string> = Object.fromEntries(Object.entries(VERDICT_MEANING).map(([v, m]) => [v, m.color]));

function n1(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

function niceTick(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

export function histogramSvg(h: LatencyHistogram): string {
  const verdictColor = VERDICT_COLOR[h.verdict] ?? "#495057";
  const p = h.percentiles;
  const title = p
    ? `${h.phase}: ${formatCount(h.samples)} requests, P95 ${formatMs(p.p95)} against a bar of ${formatMs(h.barMs)}: ${h.verdict}`
    : `${h.phase}: ${h.note ?? "no latency measured"}: ${h.verdict}`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="histogram" data-phase="${escapeHtml(h.phase)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="20" ${FONT} font-size="14" font-weight="bold" fill="#212529">${escapeHtml(h.phase)} <tspan fill="${verdictColor}">${escapeHtml(h.verdict)}</tspan><tspan font-weight="normal" font-size="12" fill="#495057">  ${escapeHtml(h.samples ? `${formatCount(h.samples)} requests` : "")}</tspan></text>`,
  ];
  if (!p || h.samples === 0) {
    out.push(
      `<rect x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PLOT_H}" fill="#f8f9fa" stroke="#ced4da"/>`,
      `<text x="${LEFT + PLOT_W / 2}" y="${TOP + PLOT_H / 2}" ${FONT} font-size="14" text-anchor="middle" fill="#495057">${escapeHtml(h.note ?? "no latency measured")}</text>`,
      `</svg>`,
    );
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

  // Axes and the count scale.
  out.push(
    `<line x1="${LEFT}" y1="${TOP + PLOT_H}" x2="${LEFT + PLOT_W}" y2="${TOP + PLOT_H}" stroke="#868e96"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + PLOT_H}" stroke="#868e96"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT + PLOT_W}" y2="${TOP}" stroke="#e9ecef"/>`,
    `<text x="${LEFT - 6}" y="${TOP + 4}" ${FONT} font-size="11" text-anchor="end" fill="#495057">${formatCount(maxCount)}</text>`,
    `<text x="${LEFT - 6}" y="${TOP + PLOT_H + 4}" ${FONT} font-size="11" text-anchor="end" fill="#495057">0</text>`,
    `<text x="14" y="${TOP + PLOT_H / 2}" ${FONT} font-size="11" text-anchor="middle" fill="#495057" transform="rotate(-90 14 ${TOP + PLOT_H / 2})">requests</text>`,
  );

  h.buckets.forEach((b, i) => {
    const height = barHeight(b.count);
    if (height === 0) return;
    out.push(
      `<rect x="${n1(LEFT + i * slotW + 0.5)}" y="${n1(TOP + PLOT_H - height)}" width="${n1(Math.max(0.5, slotW - 1))}" height="${n1(height)}" fill="#74a9cf"><title>${n1(b.lowerMs)}–${n1(b.upperMs)} ms: ${b.count}</title></rect>`,
    );
  });
  if (h.overflow.count > 0) {
    const height = barHeight(h.overflow.count);
    const x = LEFT + h.buckets.length * slotW;
    out.push(
      `<rect x="${n1(x + 0.5)}" y="${n1(TOP + PLOT_H - height)}" width="${n1(Math.max(0.5, slotW - 1))}" height="${n1(height)}" fill="#868e96"><title>≥ ${n1(h.overflow.fromMs)} ms: ${h.overflow.count}</title></rect>`,
      `<text x="${n1(x + slotW / 2)}" y="${TOP + PLOT_H + 30}" ${FONT} font-size="10" text-anchor="middle" fill="#495057">≥${n1(h.overflow.fromMs)}</text>`,
    );
  }

  // X ticks at round values, about six of them.
  const range = h.buckets.length * h.bucketWidthMs;
  const tick = niceTick(range / 6);
  for (let v = 0; v <= range + 1e-9; v += tick) {
    const x = xOf(v);
    out.push(
      `<line x1="${n1(x)}" y1="${TOP + PLOT_H}" x2="${n1(x)}" y2="${TOP + PLOT_H + 4}" stroke="#868e96"/>`,
      `<text x="${n1(x)}" y="${TOP + PLOT_H + 16}" ${FONT} font-size="11" text-anchor="middle" fill="#495057">${n1(v)}</text>`,
    );
  }
  out.push(
    `<text x="${LEFT + PLOT_W / 2}" y="${HEIGHT - 4}" ${FONT} font-size="11" text-anchor="middle" fill="#495057">latency, ms (due time to answer, coordinated omission corrected)</text>`,
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
