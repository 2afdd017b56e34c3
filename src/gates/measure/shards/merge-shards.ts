// The merge job's arithmetic: adds the shards' histograms (exact for HDR) and applies the one-machine
// rules to the sum: the exact-rank P95 interval, the windowed one over the same windows, and the
// replay-validity rule. A bucket's edges stand in for the sample inside it, always on the safe side:
// the upper edge for what a PASS rests on (the upper bounds, the driver's lag), the lower edge for
// what a FAIL rests on (the lower bounds). Pure.

import type { LatencySummary, RequestOutcome, WindowedP95, RateWindow, ScheduleCheck } from "../../model/index.js";
import {
  type DriverFree,
  judgeSchedule,
  RATE_WINDOW_MS,
  DEFAULT_ONE_SIDED_ALPHA,
  effectiveSampleSize,
  MIN_P95_WINDOWS,
  MIN_WINDOW_SAMPLES,
  nearestRank,
  p95ConfidenceRanks,
  p95WindowBounds,
  p95WindowCount,
  windowedP95Interval,
} from "../../verdict/index.js";
import { bucketsAtRanks, countAbove, decodeHdr, encodeHdr, mergeHdr, type Bucket, type Hdr } from "./shard-histogram.js";
import { OUTCOMES, type ShardSummary } from "./shard-summary.js";

/** One window of the windowed P95 interval, merged over the shards: its P95's bucket. */
export interface MergedWindow {
  /** 0-based, in due order. */
  window: number;
  /** The phase's global positions [fromIndex, toIndex) it holds. */
  fromIndex: number;
  toIndex: number;
  /** Answered samples in it. */
  n: number;
  /** The bucket of the window's nearest-rank P95 (null for an empty window). */
  p95: Bucket | null;
  /** The window's merged histogram, encoded. */
  hdr: string;
}

export interface ShardView {
  shard: number;
  runner: ShardSummary["runner"];
  requests: number;
  n: number;
  /** Upper edges of the shard's own P95 and own-lag P99 buckets, ms (null: no answer). */
  p95Ms: number | null;
  sendLagP99Ms: number | null;
  /** Driver CPU per dispatched request, µs. */
  cpuPerRequestUs: number | null;
  latency: string;
}

export interface MergedPhase {
  shards: number;
  latency: LatencySummary | null;
  schedule: ScheduleCheck;
  /** The merged histograms, encoded (latency from due time; send lag). */
  histograms: { latency: string; sendLag: string };
  windows: MergedWindow[];
  counts: Record<RequestOutcome, number>;
  byStatus: Record<string, number>;
  /** Bit i set: event i was answered accepted or duplicate by its shard. */
  accepted: Uint8Array;
  perShard: ShardView[];
  /** Driver CPU of all shards together, µs (null when a shard did not report it). */
  driverCpuUs: number | null;
}

/** The shards do not add up to one phase: which are missing or doubled. */
export class MergeError extends Error {
  readonly code = "shards_incomplete";
}

/**
 * A P95 summary read off a histogram, every value on its safe side (see the header). `windows` are
 * the merged histograms of the phase's windows in due order (mergeShards), [] for none; the upper
 * bounds a PASS is judged on are taken at `judgeAlpha`, as summarizeLatency takes them.
 */
export function summarizeHistogram(h: Hdr, windows: readonly Hdr[] = [], judgeAlpha = DEFAULT_ONE_SIDED_ALPHA): LatencySummary | null {
  const n = h.totalCount;
  if (n === 0) return null;
  const [lo, hi] = p95ConfidenceRanks(n);
  const [, passRank] = p95ConfidenceRanks(n, judgeAlpha);
  const [p50, p95, p99, max, lower, upper, pass] = bucketsAtRanks(h, [
    nearestRank(50, n),
    nearestRank(95, n),
    nearestRank(99, n),
    n,
    lo,
    hi,
    passRank,
  ]);
  const p95Ci: [number, number] = [lower ? lower.lowerMs : 0, upper ? upper.upperMs : Infinity];
  const windowed = windowedFromHistograms(windows, p95!, judgeAlpha);
  return {
    n,
    p50: p50!.upperMs,
    p95: p95!.upperMs,
    p99: p99!.upperMs,
    max: max!.upperMs,
    p95Ci,
    p95CiRanks: [lo, hi],
    p95CiBatch: windowed && [windowed.lower, windowed.upper],
    windows: windowed && windowed.windows,
    effectiveSampleSize: windowed && effectiveSampleSize(n, p95Ci, windowed.windows.standardError),
    passBounds: { oneSidedAlpha: judgeAlpha, exact: pass ? pass.upperMs : Infinity, exactRank: passRank, batch: windowed && windowed.pass },
  };
}

/**
 * The windowed P95 interval from the windows' merged histograms, on the safe side of the buckets.
 * Null, as on one machine, under 10 windows or when a window holds fewer than 20 answers.
 *
 * The one-machine interval (statistics.ts windowedP95Interval) rests on the true window P95s x_j and
 * the true overall P95 x. A histogram gives each only as a bucket: x_j in [L_j, U_j), x in [L, U).
 * Upper bound (what a PASS rests on): read every value off its bucket's upper edge. Then
 * U_j − x_j is in (0, w_j] and U − x in (0, w], w_j and w being the bucket widths; both errors lie on
 * the same side, so the read deviation (U_j − U) differs from the true one (x_j − x) by less than
 * e_j = max(w_j, w). windowedP95Interval widens s by √(Σ e_j² / (b − 1)) (triangle inequality), so
 * the standard error used is at least the true one; U >= x; the t quantile is the same (same b, same
 * α): U + t·SE_read >= x + t·SE_true, the merged upper bound is never below the one-machine one.
 * Lower bound (what a FAIL rests on): the same with the lower edges (x_j − L_j in [0, w_j), x − L in
 * [0, w)): L − t·SE_read <= x − t·SE_true. Each edge costs at most a bucket (3 significant digits:
 * under 0.1% of the value), and e_j adds at most about that much again to the half-width.
 */
function windowedFromHistograms(
  windows: readonly Hdr[],
  overall: Bucket,
  judgeAlpha: number,
): { lower: number; upper: number; pass: number; windows: WindowedP95 } | null {
  if (windows.length < MIN_P95_WINDOWS || windows.some((h) => h.totalCount < MIN_WINDOW_SAMPLES)) return null;
  const buckets = windows.map((h) => bucketsAtRanks(h, [nearestRank(95, h.totalCount)])[0]!);
  const width = (b: Bucket) => b.upperMs - b.lowerMs;
  const errors = buckets.map((b) => Math.max(width(b), width(overall)));
  const uppers = buckets.map((b) => b.upperMs);
  const high = windowedP95Interval(uppers, overall.upperMs, DEFAULT_ONE_SIDED_ALPHA, errors);
  const low = windowedP95Interval(
    buckets.map((b) => b.lowerMs),
    overall.lowerMs,
    DEFAULT_ONE_SIDED_ALPHA,
    errors,
  );
  const pass = windowedP95Interval(uppers, overall.upperMs, judgeAlpha, errors);
  if (!high || !low || !pass) return null;
  return {
    lower: low.lower,
    upper: high.upper,
    pass: pass.upper,
    windows: {
      count: high.windows,
      size: Math.min(...windows.map((h) => h.totalCount)),
      p95s: uppers,
      // The larger of the two: the safe one for the effective sample size as for the bounds.
      standardError: Math.max(high.standardError, low.standardError),
    },
  };
}

/**
 * The driver-free lower bound (replay-validity.ts) on histograms: D is the upper edge of the own-lag
 * P99's bucket, so every sample at or under that bucket lost at most D to the driver; the m samples
 * in higher buckets are set aside as the slowest; the bound is the lower edge of the latency at rank
 * (lower rank - m), less D. The argument of the one-machine rule holds for (D, m) as it does there.
 */
export function driverFreeFromHistograms(latency: Hdr, ownLag: Hdr): DriverFree {
  const nLag = ownLag.totalCount;
  const lagBucket = nLag > 0 ? bucketsAtRanks(ownLag, [nearestRank(99, nLag)])[0] : null;
  const lagP99Ms = lagBucket ? lagBucket.upperMs : 0;
  const lagAboveP99 = lagBucket ? countAbove(ownLag, lagBucket.upperMs) : 0;
  const n = latency.totalCount;
  if (n === 0) return { lowerMs: null, lagP99Ms, lagAboveP99 };
  const [lower] = p95ConfidenceRanks(n);
  const rank = lower - lagAboveP99;
  if (rank < 1 || lower > n) return { lowerMs: null, lagP99Ms, lagAboveP99 };
  return { lowerMs: bucketsAtRanks(latency, [rank])[0]!.lowerMs - lagP99Ms, lagP99Ms, lagAboveP99 };
}

/** Checks that the summaries are shards 0..N-1 of one phase, each once. */
function checkComplete(summaries: readonly ShardSummary[], shards: number): void {
  const seen = new Map<number, number>();
  for (const s of summaries) {
    if (s.shards !== shards)
      throw new MergeError(`shard ${s.shard} (${s.runner.id}) was planned as one of ${s.shards} shards, not ${shards}`);
    seen.set(s.shard, (seen.get(s.shard) ?? 0) + 1);
  }
  const missing = [...Array(shards).keys()].filter((k) => !seen.has(k));
  const doubled = [...seen.entries()].filter(([, c]) => c > 1).map(([k]) => k);
  if (missing.length || doubled.length) {
    throw new MergeError(
      [
        missing.length ? `shards ${missing.join(", ")} of ${shards} sent no result` : "",
        doubled.length ? `shards ${doubled.join(", ")} came back more than once` : "",
      ]
        .filter(Boolean)
        .join("; "),
    );
  }
}

/**
 * Each window's histograms merged over the shards: the phase's N positions cut into p95WindowCount(N)
 * windows, as the shards cut them. Throws MergeError when a shard's windows are not those windows
 * (a runner of another version) or do not add up to its latency histogram.
 */
function mergeWindows(ordered: readonly ShardSummary[], latencies: readonly Hdr[], totalRequests: number): Hdr[] {
  const b = p95WindowCount(totalRequests);
  const parts: Hdr[][] = Array.from({ length: b }, () => []);
  ordered.forEach((s, k) => {
    let counted = 0;
    for (const w of s.latencyWindows) {
      if (!(Number.isInteger(w.window) && w.window >= 0 && w.window < b))
        throw new MergeError(
          `shard ${s.shard} (${s.runner.id}) sent a latency window ${JSON.stringify(w.window)} that is not one of the phase's ${b} windows (a runner of another version?)`,
        );
      const h = decodeHdr(w.hdr);
      counted += h.totalCount;
      parts[w.window].push(h);
    }
    if (b > 0 && counted !== latencies[k].totalCount)
      throw new MergeError(
        `shard ${s.shard} (${s.runner.id}): its latency windows hold ${counted} samples, its latency histogram ${latencies[k].totalCount}`,
      );
  });
  return parts.map((hs) => mergeHdr(hs));
}

/**
 * Merges the shards of one phase into what the verdict reads, its PASS bounds at `judgeAlpha`
 * (default 0.025). Throws MergeError unless every shard is there once.
 */
export function mergeShards(
  summaries: readonly ShardSummary[],
  o: { shards: number; targetRate: number; totalRequests: number; judgeAlpha?: number },
): MergedPhase {
  checkComplete(summaries, o.shards);
  const ordered = [...summaries].sort((a, b) => a.shard - b.shard);
  const latencies = ordered.map((s) => decodeHdr(s.latency));
  const ownLags = ordered.map((s) => decodeHdr(s.ownLag));
  const latency = mergeHdr(latencies);
  const ownLag = mergeHdr(ownLags);
  const sendLag = mergeHdr(ordered.map((s) => decodeHdr(s.sendLag)));

  // The rate rule on the shards' windows, added up: they share t0 and window edges.
  const byWindow = new Map<number, RateWindow>();
  let dispatched = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const s of ordered) {
    dispatched += s.dispatched;
    if (s.dispatchSpanMs) {
      first = Math.min(first, s.dispatchSpanMs[0]);
      last = Math.max(last, s.dispatchSpanMs[1]);
    }
    for (const w of s.rateWindows) {
      let m = byWindow.get(w.fromMs);
      if (!m) byWindow.set(w.fromMs, (m = { fromMs: w.fromMs, toMs: w.fromMs + RATE_WINDOW_MS, due: 0, dispatched: 0, rate: 0 }));
      m.due += w.due;
      m.dispatched += w.dispatched;
    }
  }
  const windows = [...byWindow.values()].sort((a, b) => a.fromMs - b.fromMs);
  const schedule = judgeSchedule(o.targetRate, dispatched, [first, last], windows, driverFreeFromHistograms(latency, ownLag));

  const windowHistograms = mergeWindows(ordered, latencies, o.totalRequests);
  const mergedWindows = windowHistograms.map((h, window): MergedWindow => {
    const n = h.totalCount;
    const [fromIndex, toIndex] = p95WindowBounds(window, o.totalRequests, windowHistograms.length);
    return { window, fromIndex, toIndex, n, p95: n ? bucketsAtRanks(h, [nearestRank(95, n)])[0] : null, hdr: encodeHdr(h) };
  });

  const counts = Object.fromEntries(OUTCOMES.map((k) => [k, 0])) as Record<RequestOutcome, number>;
  const byStatus: Record<string, number> = {};
  const accepted = new Uint8Array(Math.ceil(o.totalRequests / 8));
  for (const s of ordered) {
    for (const k of OUTCOMES) counts[k] += s.counts[k];
    for (const [status, c] of Object.entries(s.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + c;
    const bits = Buffer.from(s.accepted, "base64");
    for (let b = 0; b < Math.min(bits.length, accepted.length); b++) accepted[b] |= bits[b];
  }
  const perShard = ordered.map((s, k) => {
    const own = bucketsAtRanks(latencies[k], [nearestRank(95, Math.max(1, latencies[k].totalCount))])[0];
    const lag = bucketsAtRanks(ownLags[k], [nearestRank(99, Math.max(1, ownLags[k].totalCount))])[0];
    return {
      shard: s.shard,
      runner: s.runner,
      requests: s.requests,
      n: latencies[k].totalCount,
      p95Ms: own ? own.upperMs : null,
      sendLagP99Ms: lag ? lag.upperMs : null,
      cpuPerRequestUs: s.driverCpuUs !== null && s.dispatched > 0 ? s.driverCpuUs / s.dispatched : null,
      latency: s.latency,
    };
  });
  const cpus = ordered.map((s) => s.driverCpuUs);
  return {
    shards: o.shards,
    latency: summarizeHistogram(latency, windowHistograms, o.judgeAlpha),
    schedule,
    histograms: { latency: encodeHdr(latency), sendLag: encodeHdr(sendLag) },
    windows: mergedWindows,
    counts,
    byStatus,
    accepted,
    perShard,
    driverCpuUs: cpus.every((c) => c !== null) ? cpus.reduce((a, b) => a! + b!, 0) : null,
  };
}
