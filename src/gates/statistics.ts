// Latency statistics the verdict and the reports rest on: nearest-rank percentiles over every
// sample, an exact confidence interval for P95 from order statistics, and log-spaced histogram buckets.

import type { LatencySummary } from "./gate-run.js";

/** Values sorted ascending as a Float64Array (numeric sort, no string comparison surprises). */
export function sortAscending(values: ArrayLike<number>): Float64Array {
  const sorted = Float64Array.from(values);
  sorted.sort();
  return sorted;
}

/** 1-based nearest rank of percentile p (0 < p <= 100) among n samples: ceil(p/100 * n), clamped to [1, n]. */
export function nearestRank(p: number, n: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (n < 1) throw new RangeError("nearestRank needs at least one sample");
  // The epsilon keeps 95/100 * 1000 = 950.0000000000001 from becoming rank 951.
  const rank = Math.ceil((p / 100) * n - 1e-9);
  return Math.min(n, Math.max(1, rank));
}

/**
 * Nearest-rank percentile of values already sorted ascending: the smallest sample such that at
 * least p% of the samples are at or below it (n = 1000: P95 is the 950th value). No interpolation:
 * every reported percentile is a latency some request really had.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  return sorted[nearestRank(p, sorted.length) - 1];
}

/** Nearest-rank percentile of unsorted values; null when there are none (no data is not zero). */
export function percentile(values: ArrayLike<number>, p: number): number | null {
  if (values.length === 0) return null;
  return percentileOfSorted(sortAscending(values), p);
}

/**
 * 1-based ranks bounding a 95% confidence interval for the P95 of n samples, exact: the number of
 * samples below the true P95 is Binomial(n, 0.95), so the sample at rank u is at or above the true
 * P95 with probability P(B <= u-1). The upper rank is the smallest u with P(B <= u-1) >= 0.975, the
 * lower the largest l with P(B <= l-1) <= 0.025 (two one-sided 97.5% bounds). n = 1000 gives 936..964.
 *
 * A bound may lie outside the sample: the upper rank is n + 1 when even the largest of n samples is
 * under the true P95 more than 2.5% of the time (n < 72), and the lower rank is 0 when the smallest
 * is not low enough. Such a phase is too small to prove its P95 is under a bar, however fast it was.
 */
export function p95ConfidenceRanks(n: number): [number, number] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`p95ConfidenceRanks needs a whole number of samples >= 1, got ${n}`);
  const above = binomialUpperTail(n, 0.95);
  let upper = n + 1;
  for (let k = 1; k <= n; k++) {
    if (above[k] <= 0.025) {
      upper = k;
      break;
    }
  }
  let lower = 0;
  for (let k = n; k >= 1; k--) {
    if (above[k] >= 0.975) {
      lower = k;
      break;
    }
  }
  return [lower, upper];
}

/** The fewest samples whose P95 has a 95% upper bound within the sample: 72. Fewer can never PASS a P95 bar. */
export const MIN_SAMPLES_FOR_P95_BOUND = (() => {
  let n = 1;
  while (p95ConfidenceRanks(n)[1] > n) n++;
  return n;
})();

/**
 * P(B >= k) for k = 0..n+1, B ~ Binomial(n, p). Computed from log probabilities, scaled by the
 * largest term, so that n = 30,000 (where 0.95^n underflows) is as exact as n = 10.
 */
function binomialUpperTail(n: number, p: number): Float64Array {
  const logPmf = new Float64Array(n + 1);
  logPmf[n] = n * Math.log(p);
  const ratio = Math.log((1 - p) / p);
  for (let k = n; k >= 1; k--) logPmf[k - 1] = logPmf[k] + Math.log(k / (n - k + 1)) + ratio;
  let max = -Infinity;
  for (let k = 0; k <= n; k++) max = Math.max(max, logPmf[k]);
  const tail = new Float64Array(n + 2);
  for (let k = n; k >= 0; k--) tail[k] = tail[k + 1] + Math.exp(logPmf[k] - max);
  const total = tail[0];
  for (let k = 0; k <= n + 1; k++) tail[k] /= total;
  return tail;
}

/**
 * P50/P95/P99/max with n and the P95 confidence interval. Null for no samples: the caller must
 * treat that as "could not be measured" (the gate fails closed), never as a latency of zero.
 */
export function summarizeLatency(values: ArrayLike<number>): LatencySummary | null {
  const n = values.length;
  if (n === 0) return null;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`latency sample ${i} is not a finite number: ${values[i]}`);
  }
  const sorted = sortAscending(values);
  const [lo, hi] = p95ConfidenceRanks(n);
  return {
    n,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[n - 1],
    // Latencies are never negative, so 0 is a true lower bound when the sample holds none; no
    // sample is a true upper bound when the sample is too small, so the bound is Infinity.
    p95Ci: [lo >= 1 ? sorted[lo - 1] : 0, hi <= n ? sorted[hi - 1] : Infinity],
    p95CiRanks: [lo, hi],
  };
}

export interface HistogramBucket {
  /** Inclusive lower edge, ms. */
  lowerMs: number;
  /** Exclusive upper edge, ms; Infinity for the last bucket. */
  upperMs: number;
  count: number;
}

/**
 * Bucket edges in ms on the 1-2-5 series (0.1, 0.2, 0.5, 1, 2, 5, 10 ...): log-spaced, and every
 * edge a number people read at a glance. Covers [minMs, maxMs].
 */
export function logBucketEdges(minMs = 0.1, maxMs = 60_000): number[] {
  if (!(minMs > 0) || !(maxMs > minMs)) throw new RangeError(`bucket range must satisfy 0 < min < max, got ${minMs}..${maxMs}`);
  const edges: number[] = [];
  let decade = Math.pow(10, Math.floor(Math.log10(minMs)));
  for (;;) {
    for (const step of [1, 2, 5]) {
      // Rounding to 12 significant digits removes float noise such as 0.30000000000000004.
      const edge = Number((step * decade).toPrecision(12));
      if (edge >= minMs * (1 - 1e-12)) edges.push(edge);
      if (edge >= maxMs) return edges;
    }
    decade *= 10;
  }
}

/**
 * Counts of values per log-spaced bucket, from the first non-empty bucket to the last one. The
 * first bucket starts at 0 (everything under the smallest edge), the last is open-ended.
 */
export function latencyHistogram(values: ArrayLike<number>, edges: number[] = logBucketEdges()): HistogramBucket[] {
  if (edges.length === 0) throw new RangeError("latencyHistogram needs at least one edge");
  const lowers = [0, ...edges];
  const counts = new Array<number>(lowers.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    counts[bucketIndex(edges, values[i])]++;
  }
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return [];
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const buckets: HistogramBucket[] = [];
  for (let b = first; b <= last; b++) {
    buckets.push({ lowerMs: lowers[b], upperMs: b < edges.length ? edges[b] : Infinity, count: counts[b] });
  }
  return buckets;
}

/** Index into [0, ...edges] of the bucket holding v (binary search: edges are ascending). */
function bucketIndex(edges: number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v >= edges[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
