// The candidate's latency histogram over the baseline's, for one phase: the candidate as bars, the baseline as an
// outline on the same buckets (each as a share of its own requests, since the two runs may differ in size), and
// both P95s marked. Standalone SVG (a bundle file) that report.html also inlines.

import { escapeHtml } from "./report-format.js";
import { FONT, HEIGHT, LEFT, PLOT_H, PLOT_W, TOP } from "./plot-layout.js";
import { axes, n1, niceStep, shareBars, shares, stepOutline, svgStart, xAxisTitle, xTicks, yAxisTitle } from "./svg-plot.js";
import { percentile } from "../../verdict/index.js";
import { formatCount, formatMs } from "../../model/index.js";

const BUCKETS = 40;
const CANDIDATE = "#74a9cf";
const CANDIDATE_P95 = "#d9480f";
const BASELINE = "#343a40";

export interface OverlayInput {
  phase: string;
  candidate: readonly number[];
  baseline: readonly number[];
  /** "this run" / "baseline run gate-a-…": the legend's words. */
  candidateLabel: string;
  baselineLabel: string;
  /** The regression objective's verdict and measured text, for the title. */
  verdict: string;
  measured: string;
}

export function baselineOverlaySvg(o: OverlayInput): string {
  const cP95 = percentile(o.candidate, 95);
  const bP95 = percentile(o.baseline, 95);
  const title = `${o.phase}: P95 ${cP95 === null ? "n/a" : formatMs(cP95)} against the baseline's ${bP95 === null ? "n/a" : formatMs(bP95)}: latency_p95_regression ${o.verdict} (${o.measured})`;
  const top = Math.max(percentile(o.candidate, 99) ?? 0, percentile(o.baseline, 99) ?? 0, 1) * 1.15;
  const step = niceStep(top / BUCKETS);
  const c = shares(asLatencies(o.candidate), o.candidate.length, step, BUCKETS);
  const b = shares(asLatencies(o.baseline), o.baseline.length, step, BUCKETS);
  const maxShare = Math.max(1e-9, ...c, ...b);
  const slotW = PLOT_W / BUCKETS;
  const y = (share: number) => TOP + PLOT_H - (share / maxShare) * PLOT_H;
  const xOf = (ms: number) => LEFT + Math.min(ms / step, BUCKETS) * slotW;
  const out: string[] = [
    ...svgStart("histogram baseline-overlay", o.phase, HEIGHT, title),
    `<text x="${LEFT}" y="20" ${FONT} font-size="14" font-weight="bold" fill="#212529">${escapeHtml(o.phase)}: compared with the baseline <tspan font-weight="normal" font-size="12" fill="#495057">latency_p95_regression ${escapeHtml(o.verdict)}, ${escapeHtml(o.measured)}</tspan></text>`,
    `<rect x="${LEFT}" y="33" width="14" height="10" fill="${CANDIDATE}"/>`,
    `<text x="${LEFT + 19}" y="42" ${FONT} font-size="12" fill="#212529">${escapeHtml(`${o.candidateLabel} (${formatCount(o.candidate.length)} requests, P95 ${cP95 === null ? "n/a" : formatMs(cP95)})`)}</text>`,
    `<line x1="${LEFT + 360}" y1="38" x2="${LEFT + 374}" y2="38" stroke="${BASELINE}" stroke-width="2"/>`,
    `<text x="${LEFT + 379}" y="42" ${FONT} font-size="12" fill="#212529">${escapeHtml(`${o.baselineLabel} (${formatCount(o.baseline.length)}, P95 ${bP95 === null ? "n/a" : formatMs(bP95)})`)}</text>`,
    ...axes(TOP, PLOT_H, `${(maxShare * 100).toFixed(1)}%`),
    yAxisTitle(TOP, PLOT_H, "share of requests"),
    ...shareBars({ cls: "candidate", shares: c, step, slotW, y, baseY: TOP + PLOT_H, fill: CANDIDATE, ofWhat: "this run" }),
  ];
  // The baseline as a step outline over the bars.
  const path = stepOutline(b, slotW, y);
  out.push(`<path class="baseline" d="${path}" fill="none" stroke="${BASELINE}" stroke-width="2"/>`);
  out.push(...xTicks(BUCKETS * step, niceStep((BUCKETS * step) / 6), xOf, TOP + PLOT_H));
  out.push(xAxisTitle(HEIGHT, "latency, ms (due time to answer); the last bucket holds everything beyond"));
  if (bP95 !== null)
    out.push(
      `<line class="baseline-p95" x1="${n1(xOf(bP95))}" y1="${TOP}" x2="${n1(xOf(bP95))}" y2="${TOP + PLOT_H}" stroke="${BASELINE}" stroke-width="2" stroke-dasharray="3 3"/>`,
    );
  if (cP95 !== null)
    out.push(
      `<line class="candidate-p95" x1="${n1(xOf(cP95))}" y1="${TOP}" x2="${n1(xOf(cP95))}" y2="${TOP + PLOT_H}" stroke="${CANDIDATE_P95}" stroke-width="2" stroke-dasharray="6 3"/>`,
    );
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}

/** Each latency once, as `shares` counts them. */
function asLatencies(values: readonly number[]): { ms: number; count: number }[] {
  return values.map((ms) => ({ ms, count: 1 }));
}
