// The parts the report's SVG plots share (laid out by plot-layout.ts): numbers to a tenth, round tick steps,
// latency shares per bucket, the frame, the axes, the x ticks and the bars. Each plot draws its own story.

import { escapeHtml } from "./report-format.js";
import { FONT, LEFT, PLOT_W, WIDTH } from "./plot-layout.js";

/** A coordinate or a value in ms, to a tenth: short SVG, no float noise. */
export function n1(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

/** The smallest round step (1, 2, 2.5 or 5 times a power of ten, or the multiples given) at least `raw`. */
export function niceStep(raw: number, multiples: readonly number[] = [1, 2, 2.5, 5, 10]): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  for (const m of multiples) if (m * power >= raw * (1 - 1e-12)) return m * power;
  return 10 * power;
}

/** Latencies counted per plot bucket of width `step` from 0, as shares of `total`; the last bucket holds everything beyond. */
export function shares(latencies: Iterable<{ ms: number; count: number }>, total: number, step: number, buckets: number): number[] {
  const counts = new Array<number>(buckets).fill(0);
  for (const l of latencies) counts[Math.min(buckets - 1, Math.floor(Math.max(0, l.ms) / step))]! += l.count;
  return counts.map((c) => (total ? c / total : 0));
}

/** The opening of a standalone SVG that report.html can also inline: its class, phase, size, title and white ground. */
export function svgStart(cls: string, phase: string, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="${cls}" data-phase="${escapeHtml(phase)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
  ];
}

/** An empty plot area saying why there is nothing to draw. */
export function emptyPlot(top: number, width: number, height: number, note: string): string[] {
  return [
    `<rect x="${LEFT}" y="${top}" width="${width}" height="${height}" fill="#f8f9fa" stroke="#ced4da"/>`,
    `<text x="${LEFT + width / 2}" y="${top + height / 2}" ${FONT} font-size="14" text-anchor="middle" fill="#495057">${escapeHtml(note)}</text>`,
  ];
}

/** The x and y axes of a plot of the histograms' width, with the y scale's top value and its 0. */
export function axes(top: number, height: number, maxLabel: string): string[] {
  return [
    `<line x1="${LEFT}" y1="${top + height}" x2="${LEFT + PLOT_W}" y2="${top + height}" stroke="#868e96"/>`,
    `<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${top + height}" stroke="#868e96"/>`,
    `<text x="${LEFT - 6}" y="${top + 4}" ${FONT} font-size="11" text-anchor="end" fill="#495057">${maxLabel}</text>`,
    `<text x="${LEFT - 6}" y="${top + height + 4}" ${FONT} font-size="11" text-anchor="end" fill="#495057">0</text>`,
  ];
}

/** What the y axis counts, written up its side. */
export function yAxisTitle(top: number, height: number, text: string): string {
  return `<text x="14" y="${top + height / 2}" ${FONT} font-size="11" text-anchor="middle" fill="#495057" transform="rotate(-90 14 ${top + height / 2})">${text}</text>`;
}

/** What the x axis measures, along the bottom of a plot of the histograms' width, `height` tall. */
export function xAxisTitle(height: number, text: string): string {
  return `<text x="${LEFT + PLOT_W / 2}" y="${height - 4}" ${FONT} font-size="11" text-anchor="middle" fill="#495057">${text}</text>`;
}

/** Ticks with their values under an x axis at `axisY`, every `tick` from 0 to `range`. */
export function xTicks(range: number, tick: number, xOf: (v: number) => number, axisY: number): string[] {
  const out: string[] = [];
  for (let v = 0; v <= range + 1e-9; v += tick) {
    const x = n1(xOf(v));
    out.push(
      `<line x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 4}" stroke="#868e96"/>`,
      `<text x="${x}" y="${axisY + 16}" ${FONT} font-size="11" text-anchor="middle" fill="#495057">${n1(v)}</text>`,
    );
  }
  return out;
}

/** A bar filling the slot that starts at `slotX`, less a pixel between neighbours, with a hover title when given. */
export function slotBar(o: {
  cls?: string;
  slotX: number;
  slotW: number;
  y: number;
  height: number;
  fill: string;
  title?: string;
}): string {
  const cls = o.cls ? `class="${o.cls}" ` : "";
  const rect = `<rect ${cls}x="${n1(o.slotX + 0.5)}" y="${n1(o.y)}" width="${n1(Math.max(0.5, o.slotW - 1))}" height="${n1(o.height)}" fill="${o.fill}"`;
  return o.title === undefined ? `${rect}/>` : `${rect}><title>${o.title}</title></rect>`;
}

/** Latency shares as bars, one per bucket of width `step` (ms), titled with their bucket and share of `ofWhat`. */
export function shareBars(o: {
  cls: string;
  shares: readonly number[];
  step: number;
  slotW: number;
  y: (share: number) => number;
  baseY: number;
  fill: string;
  ofWhat: string;
}): string[] {
  const last = o.shares.length - 1;
  return o.shares.flatMap((share, i) =>
    share === 0
      ? []
      : [
          slotBar({
            cls: o.cls,
            slotX: LEFT + i * o.slotW,
            slotW: o.slotW,
            y: o.y(share),
            height: o.baseY - o.y(share),
            fill: o.fill,
            title: `${n1(i * o.step)}–${i === last ? "∞" : n1((i + 1) * o.step)} ms: ${(share * 100).toFixed(2)}% of ${o.ofWhat}`,
          }),
        ],
  );
}

/** Latency shares as a step outline, to draw one histogram over another's bars. */
export function stepOutline(shares: readonly number[], slotW: number, y: (share: number) => number): string {
  return shares
    .map((share, i) => `${i === 0 ? "M" : "L"}${n1(LEFT + i * slotW)},${n1(y(share))} L${n1(LEFT + (i + 1) * slotW)},${n1(y(share))}`)
    .join(" ");
}
