// Latency statistics the verdict and the reports rest on: nearest-rank percentiles over every
// sample, two confidence intervals for P95 (exact order statistics for independent samples, and
// sectioning over consecutive windows for correlated ones), and log-spaced histogram buckets.

import type { LatencySummary, WindowedP95 } from "../model/index.js";
import { studentTQuantile } from "./student-t.js";

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

/** The one-sided α of each bound of a 95% interval, and of a PASS's upper bound unless the run asks for a stricter one. */
export const DEFAULT_ONE_SIDED_ALPHA = 0.025;

/**
 * 1-based ranks bounding a confidence interval for the P95 of n samples, exact for independent
 * samples: the number of samples below the true P95 is Binomial(n, 0.95), so the sample at rank u is
 * at or above the true P95 with probability P(B <= u-1). The upper rank is the smallest u with
 * P(B <= u-1) >= 1 - α, the lower the largest l with P(B <= l-1) <= α: two one-sided bounds at
 * 1 - α each (α = 0.025: a 95% interval; n = 1000 gives ranks 936..964).
 *
 * A bound may lie outside the sample: the upper rank is n + 1 when even the largest of n samples is
 * under the true P95 more than α of the time (n < 72 at α = 0.025), and the lower rank is 0 when the
 * smallest is not low enough. Such a phase is too small to prove its P95 is under a bar, however fast it was.
 */
export function p95ConfidenceRanks(n: number, oneSidedAlpha = DEFAULT_ONE_SIDED_ALPHA): [number, number] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`p95ConfidenceRanks needs a whole number of samples >= 1, got ${n}`);
  if (!(oneSidedAlpha > 0 && oneSidedAlpha < 0.5)) throw new RangeError(`a one-sided alpha must be in (0, 0.5), got ${oneSidedAlpha}`);
  const above = binomialUpperTail(n, 0.95);
  let upper = n + 1;
  for (let k = 1; k <= n; k++) {
    if (above[k] <= oneSidedAlpha) {
      upper = k;
      break;
    }
  }
  let lower = 0;
  for (let k = n; k >= 1; k--) {
    if (above[k] >= 1 - oneSidedAlpha) {
      lower = k;
      break;
    }
  }
  return [lower, upper];
}

/** The fewest samples whose P95 has an upper bound within the sample at a one-sided α: 72 at 0.025. */
export function minSamplesForP95Bound(oneSidedAlpha = DEFAULT_ONE_SIDED_ALPHA): number {
  // P(B >= n) = 0.95^n must fall to α: start just under that, step up to the first n that holds.
  let n = Math.max(1, Math.floor(Math.log(oneSidedAlpha) / Math.log(0.95)) - 1);
  while (p95ConfidenceRanks(n, oneSidedAlpha)[1] > n) n++;
  return n;
}

/** The fewest samples whose P95 has a 95% upper bound within the sample: 72. Fewer can never PASS a P95 bar. */
export const MIN_SAMPLES_FOR_P95_BOUND = minSamplesForP95Bound();

/** A one-sided bound's confidence for people: α 0.025 → "97.5%", 0.0125 → "98.75%". */
export function confidenceLabel(oneSidedAlpha: number): string {
  return `${Number((100 * (1 - oneSidedAlpha)).toPrecision(8))}%`;
}

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

/** How many consecutive windows a phase is cut into for the windowed interval (Schmeiser: 10 to 30 batches). */
export const P95_WINDOWS = 20;
/** The fewest samples in a window: its P95 is then at most its second-largest sample. */
export const MIN_WINDOW_SAMPLES = 20;
/** The fewest windows the interval is computed from; fewer, and there is no windowed interval (no PASS). */
export const MIN_P95_WINDOWS = 10;
/** The fewest samples that give the windowed interval: 200 (10 windows of 20). */
export const MIN_SAMPLES_FOR_WINDOWED_P95 = MIN_P95_WINDOWS * MIN_WINDOW_SAMPLES;

/**
 * How many consecutive windows a phase of n samples is cut into: b = min(20, floor(n / 20)), or 0
 * when that is under 10 (too few windows: no windowed interval).
 */
export function p95WindowCount(n: number): number {
  const b = Math.min(P95_WINDOWS, Math.floor(n / MIN_WINDOW_SAMPLES));
  return b >= MIN_P95_WINDOWS ? b : 0;
}

/**
 * The window (0-based) holding position i (0-based) of n, cut into b windows: window j holds
 * [floor(j·n/b), floor((j+1)·n/b)). Runners use it to cut their share of a phase by global position
 * into the same windows one driver cuts the whole phase into (p95Windows).
 */
export function p95WindowOf(i: number, n: number, b: number): number {
  // floor(j·n/b) <= i < floor((j+1)·n/b)  <=>  j·n < (i+1)·b <= (j+1)·n, over whole numbers.
  return Math.floor(((i + 1) * b - 1) / n);
}

/** The positions [from, to) of window j of n positions cut into b windows. */
export function p95WindowBounds(j: number, n: number, b: number): [number, number] {
  return [Math.floor((j * n) / b), Math.floor(((j + 1) * n) / b)];
}

/**
 * The P95 of each of b consecutive windows of samples given in due order (equal counts, sizes
 * differing by at most one; under an open-loop schedule that is equal spans of due time):
 * b = p95WindowCount(n). Empty when there are fewer than 10 windows.
 */
export function p95Windows(valuesInDueOrder: ArrayLike<number>): number[] {
  const n = valuesInDueOrder.length;
  const b = p95WindowCount(n);
  const p95s: number[] = [];
  for (let j = 0; j < b; j++) {
    const [from, to] = p95WindowBounds(j, n, b);
    const window = new Float64Array(to - from);
    for (let i = from; i < to; i++) window[i - from] = valuesInDueOrder[i];
    window.sort();
    p95s.push(percentileOfSorted(window, 95));
  }
  return p95s;
}

/**
 * The windowed (sectioning) interval for P95, which stays honest when samples are correlated in
 * time (a GC pause, a noisy neighbour, a queue that builds for a second: latencies come in runs).
 * Each window's P95 is one estimate; their spread about the overall P95 gives its standard error
 * s / √b, with s² = Σ (windowP95 − overallP95)² / (b − 1), and each bound is
 * overallP95 ∓ t(b−1, 1−α) · s / √b (sectioning: Asmussen & Glynn, Stochastic Simulation, 2007,
 * §III.5a; for quantiles, Nakayama 2014). The caller may get its window P95s anywhere: a phase's
 * own samples (p95Windows) or per-window histograms merged from several runners. Null under 10
 * windows: too few to estimate a spread, so nothing can PASS on it. The lower bound is at least 0.
 *
 * `deviationErrorMs`, for P95s read off histogram buckets rather than samples: for each window, the
 * most its deviation (windowP95 − overallP95) may differ from the true one. s is widened by
 * √(Σ e_j² / (b − 1)): the deviations form a vector d of b numbers and s = |d| / √(b − 1), so by the
 * triangle inequality |d_true| <= |d_read| + |d_true − d_read| <= |d_read| + √(Σ e_j²). The widened
 * s is then at least the true one, and so is the half-width built on it.
 */
export function windowedP95Interval(
  windowP95s: readonly number[],
  overallP95: number,
  oneSidedAlpha = DEFAULT_ONE_SIDED_ALPHA,
  deviationErrorMs: readonly number[] = [],
): { lower: number; upper: number; standardError: number; windows: number } | null {
  if (!(oneSidedAlpha > 0 && oneSidedAlpha < 0.5)) throw new RangeError(`a one-sided alpha must be in (0, 0.5), got ${oneSidedAlpha}`);
  if (!Number.isFinite(overallP95)) throw new RangeError(`the overall P95 must be a finite number, got ${overallP95}`);
  const b = windowP95s.length;
  if (deviationErrorMs.length !== 0 && deviationErrorMs.length !== b)
    throw new RangeError(`one deviation error per window: got ${deviationErrorMs.length} for ${b} windows`);
  if (b < MIN_P95_WINDOWS) return null;
  let squares = 0;
  for (const w of windowP95s) {
    if (!Number.isFinite(w)) throw new RangeError(`a window's P95 must be a finite number, got ${w}`);
    squares += (w - overallP95) ** 2;
  }
  let errorSquares = 0;
  for (const e of deviationErrorMs) {
    if (!(e >= 0 && Number.isFinite(e))) throw new RangeError(`a deviation error must be a finite number >= 0, got ${e}`);
    errorSquares += e ** 2;
  }
  const s = Math.sqrt(squares / (b - 1)) + Math.sqrt(errorSquares / (b - 1));
  const standardError = s / Math.sqrt(b);
  const half = studentTQuantile(1 - oneSidedAlpha, b - 1) * standardError;
  return { lower: Math.max(0, overallP95 - half), upper: overallP95 + half, standardError, windows: b };
}

/** 1.959964: the standard normal's 97.5% point, to read the exact interval as a standard error. */
const Z_975 = 1.959963984540054;

/**
 * The effective sample size of the P95: n × (standard error if the samples were independent ÷ the
 * windowed standard error)², where the independent one is the exact 95% interval's width ÷ (2 × 1.96).
 * Near n for independent samples; far below n when latencies come in runs. Null when the windowed
 * standard error is 0 or either is unknown.
 */
export function effectiveSampleSize(n: number, exactCi: [number, number], windowedStandardError: number): number | null {
  const iid = (exactCi[1] - exactCi[0]) / (2 * Z_975);
  if (!Number.isFinite(iid) || !(windowedStandardError > 0)) return null;
  return n * (iid / windowedStandardError) ** 2;
}

/** The summary's options: the one-sided α of the upper bounds a PASS is judged on (default 0.025). */
export interface SummaryOptions {
  judgeAlpha?: number;
}

/**
 * P50/P95/P99/max with n and both P95 intervals: the exact one (independent samples) and the
 * windowed one (correlated samples), 95% each, plus both upper bounds at the judge's level. Values
 * must come in due order, for the windows. Null for no samples: the caller must treat that as
 * "could not be measured" (the gate fails closed), never as a latency of zero.
 */
export function summarizeLatency(values: ArrayLike<number>, o: SummaryOptions = {}): LatencySummary | null {
  const judgeAlpha = o.judgeAlpha ?? DEFAULT_ONE_SIDED_ALPHA;
  const n = values.length;
  if (n === 0) return null;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`latency sample ${i} is not a finite number: ${values[i]}`);
  }
  const sorted = sortAscending(values);
  const [lo, hi] = p95ConfidenceRanks(n);
  const [, passRank] = judgeAlpha === DEFAULT_ONE_SIDED_ALPHA ? [lo, hi] : p95ConfidenceRanks(n, judgeAlpha);
  const p95 = percentileOfSorted(sorted, 95);
  // Latencies are never negative, so 0 is a true lower bound when the sample holds none; no
  // sample is a true upper bound when the sample is too small, so the bound is Infinity.
  const at = (rank: number, outside: number) => (rank >= 1 && rank <= n ? sorted[rank - 1] : outside);
  const p95Ci: [number, number] = [at(lo, 0), at(hi, Infinity)];
  const windowP95s = p95Windows(values);
  const ci = windowedP95Interval(windowP95s, p95);
  const windows: WindowedP95 | null = ci && {
    count: ci.windows,
    size: Math.floor(n / ci.windows),
    p95s: windowP95s,
    standardError: ci.standardError,
  };
  return {
    n,
    p50: percentileOfSorted(sorted, 50),
    p95,
    p99: percentileOfSorted(sorted, 99),
    max: sorted[n - 1],
    p95Ci,
    p95CiRanks: [lo, hi],
    p95CiBatch: ci && [ci.lower, ci.upper],
    windows,
    effectiveSampleSize: ci && effectiveSampleSize(n, p95Ci, ci.standardError),
    passBounds: {
      oneSidedAlpha: judgeAlpha,
      exact: at(passRank, Infinity),
      exactRank: passRank,
      batch: ci && windowedP95Interval(windowP95s, p95, judgeAlpha)!.upper,
    },
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
