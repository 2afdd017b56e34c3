// A phase driven by several runners: each shard's latency histogram, as its runner sent it, drawn over the merged
// one the verdict read, so a reviewer sees at a glance whether one runner (a slow host, a bad clock) measured
// another service than the rest. The merged histogram as bars, each shard as a step outline, each shard's P95
// marked. From the encoded HDR histograms the bundle keeps; standalone SVG that report.html also inlines.

import { type ShardedReplay, formatCount, formatMs } from "../../model/index.js";
import { bucketsAtRanks, decodeHdr, hdrBuckets, type Hdr } from "../../measure/index.js";
import { nearestRank } from "../../verdict/index.js";
import { escapeHtml } from "./report-format.js";
import { BOTTOM, FONT, LEFT, PLOT_W } from "./plot-layout.js";
import { axes, n1, niceStep, shareBars, shares, stepOutline, svgStart, xAxisTitle, xTicks } from "./svg-plot.js";

const TOP_BASE = 40;
const LEGEND_LINE = 16;
/** Taller than the single histograms': the outlines need the room. */
const SHARDS_PLOT_H = 200;
const BUCKETS = 60;
const MERGED = "#ced4da";
/** One colour per shard, repeated past eight. */
const SHARD_COLORS = ["#1c7ed6", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#e67700", "#0b7285", "#5c940d"];

/** The upper edge of the bucket holding a histogram's nearest-rank percentile, ms (null when empty). */
function upperAt(h: Hdr, p: number): number | null {
  const n = h.totalCount;
  if (n === 0) return null;
  return bucketsAtRanks(h, [nearestRank(p, n)])[0]?.upperMs ?? null;
}

/** Shares per plot bucket of width `step` from 0; the last holds everything beyond. A sample counts where its HDR bucket starts. */
function hdrShares(h: Hdr, step: number): number[] {
  return shares(
    hdrBuckets(h).map((b) => ({ ms: b.lowerMs, count: b.count })),
    h.totalCount,
    step,
    BUCKETS,
  );
}

/** The picture of one phase driven by runners (its replay's `shards`). */
export function shardsSvg(phase: string, sharded: ShardedReplay): string {
  const merged = decodeHdr(sharded.histograms.latency);
  const shards = sharded.shards.map((s) => ({ record: s, h: decodeHdr(s.latencyHdr) }));
  const mergedP95 = upperAt(merged, 95);
  const top = Math.max(1, upperAt(merged, 99) ?? 0, ...shards.map((s) => upperAt(s.h, 99) ?? 0)) * 1.15;
  const step = niceStep(top / BUCKETS);
  const m = hdrShares(merged, step);
  const perShard = shards.map((s) => hdrShares(s.h, step));
  const maxShare = Math.max(1e-9, ...m, ...perShard.flat());
  const plotTop = TOP_BASE + LEGEND_LINE * (shards.length + 1);
  const height = plotTop + SHARDS_PLOT_H + BOTTOM;
  const slotW = PLOT_W / BUCKETS;
  const y = (share: number) => plotTop + SHARDS_PLOT_H - (share / maxShare) * SHARDS_PLOT_H;
  const xOf = (ms: number) => LEFT + Math.min(ms / step, BUCKETS) * slotW;
  const title = `${phase}: ${shards.length} runners; merged P95 ${mergedP95 === null ? "n/a" : formatMs(mergedP95)}; ${shards
    .map((s) => `shard ${s.record.shard + 1} P95 ${s.record.p95Ms === null ? "n/a" : formatMs(s.record.p95Ms)}`)
    .join(", ")}`;
  const out: string[] = [
    ...svgStart("histogram shards", phase, height, title),
    `<text x="${LEFT}" y="20" ${FONT} font-size="14" font-weight="bold" fill="#212529">${escapeHtml(phase)}: each runner's histogram over the merged one</text>`,
    `<rect x="${LEFT}" y="${TOP_BASE - 9}" width="14" height="10" fill="${MERGED}"/>`,
    `<text x="${LEFT + 19}" y="${TOP_BASE}" ${FONT} font-size="12" fill="#212529">${escapeHtml(
      `merged, what the verdict read (${formatCount(merged.totalCount)} requests, P95 ≤ ${mergedP95 === null ? "n/a" : formatMs(mergedP95)})`,
    )}</text>`,
  ];
  shards.forEach((s, k) => {
    const color = SHARD_COLORS[k % SHARD_COLORS.length];
    const ly = TOP_BASE + LEGEND_LINE * (k + 1);
    const r = s.record;
    const text = `shard ${r.shard + 1}/${sharded.runners}, runner ${r.runner.id} (${formatCount(r.n)} requests, P95 ≤ ${r.p95Ms === null ? "n/a" : formatMs(r.p95Ms)}, send lag P99 ${r.sendLagP99Ms === null ? "n/a" : formatMs(r.sendLagP99Ms)})`;
    out.push(
      `<line x1="${LEFT}" y1="${ly - 4}" x2="${LEFT + 14}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${LEFT + 19}" y="${ly}" ${FONT} font-size="12" fill="#212529">${escapeHtml(text)}</text>`,
    );
  });
  out.push(
    ...axes(plotTop, SHARDS_PLOT_H, `${(maxShare * 100).toFixed(1)}%`),
    ...shareBars({ cls: "merged", shares: m, step, slotW, y, baseY: plotTop + SHARDS_PLOT_H, fill: MERGED, ofWhat: "all requests" }),
  );
  perShard.forEach((sh, k) => {
    const color = SHARD_COLORS[k % SHARD_COLORS.length];
    const path = stepOutline(sh, slotW, y);
    out.push(`<path class="shard" data-shard="${shards[k].record.shard}" d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const p95 = shards[k].record.p95Ms;
    if (p95 !== null)
      out.push(
        `<line class="shard-p95" x1="${n1(xOf(p95))}" y1="${plotTop}" x2="${n1(xOf(p95))}" y2="${plotTop + SHARDS_PLOT_H}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      );
  });
  out.push(
    ...xTicks(BUCKETS * step, niceStep((BUCKETS * step) / 6), xOf, plotTop + SHARDS_PLOT_H),
    xAxisTitle(height, "latency, ms (due time to answer); dashed: each shard's P95; the last bucket holds the rest"),
    `</svg>`,
  );
  return `${out.join("\n")}\n`;
}
