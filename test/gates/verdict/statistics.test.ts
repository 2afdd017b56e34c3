import {
  latencyHistogram,
  logBucketEdges,
  nearestRank,
  p95ConfidenceRanks,
  p95Windows,
  percentile,
  summarizeLatency,
  windowedP95Interval,
} from "../../../src/gates/verdict/statistics.js";

/** 1, 2, ..., n shuffled deterministically, so nothing depends on the input being sorted. */
function shuffledRanks(n: number): number[] {
  const values = Array.from({ length: n }, (_, i) => i + 1);
  let state = 12345;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

describe("nearest-rank percentiles", () => {
  test("for n = 1000 the P95 is the 950th value, the P50 the 500th and the P99 the 990th", () => {
    const s = summarizeLatency(shuffledRanks(1000))!;
    expect(s.n).toBe(1000);
    expect(s.p50).toBe(500);
    expect(s.p95).toBe(950);
    expect(s.p99).toBe(990);
    expect(s.max).toBe(1000);
  });

  test("a percentile is always a value some request really had (no interpolation)", () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 95)).toBe(40);
    expect(percentile([7], 95)).toBe(7);
    expect(nearestRank(95, 20)).toBe(19);
    expect(nearestRank(1, 20)).toBe(1);
  });

  test("values are compared as numbers, not as text", () => {
    expect(percentile([9, 100, 20, 3], 50)).toBe(9);
  });

  test("no samples gives no summary: the gate must fail closed rather than read a zero", () => {
    expect(summarizeLatency([])).toBeNull();
    expect(percentile([], 95)).toBeNull();
  });

  test("a non-finite latency is refused, not averaged away", () => {
    expect(() => summarizeLatency([1, Number.NaN])).toThrow(/not a finite number/);
  });
});

describe("P95 confidence interval from exact binomial order statistics", () => {
  test("for n = 1000 it spans ranks 936 to 964", () => {
    expect(p95ConfidenceRanks(1000)).toEqual([936, 964]);
    const s = summarizeLatency(shuffledRanks(1000))!;
    expect(s.p95Ci).toEqual([936, 964]);
    expect(s.p95CiRanks).toEqual([936, 964]);
  });

  test("each bound is the exact binomial one: the upper rank's coverage reaches 97.5% and one rank less would not", () => {
    // P(B <= k) for B ~ Binomial(1000, 0.95), computed independently (Python, lgamma): 963 -> 0.97885, 962 -> 0.96934.
    const [, upper] = p95ConfidenceRanks(1000);
    expect(upper - 1).toBe(963);
    // n = 200: the normal approximation gives ranks 183..197; the exact bounds are 184..197, since
    // P(B <= 183) = 0.0238 <= 0.025 and P(B <= 195) = 0.9736 < 0.975 <= P(B <= 196) = 0.9910.
    expect(p95ConfidenceRanks(200)).toEqual([184, 197]);
  });

  test("the interval narrows relative to n as samples grow", () => {
    const [lo30k, hi30k] = p95ConfidenceRanks(30_000);
    expect(lo30k).toBeLessThan(28_500);
    expect(hi30k).toBeGreaterThan(28_500);
    expect((hi30k - lo30k) / 30_000).toBeLessThan((964 - 936) / 1000);
  });

  test("a sample too small to hold an upper bound has none: 71 samples cannot bound a P95, 72 can", () => {
    expect(p95ConfidenceRanks(10)).toEqual([8, 11]);
    expect(p95ConfidenceRanks(71)[1]).toBe(72);
    expect(p95ConfidenceRanks(72)[1]).toBe(72);
    expect(p95ConfidenceRanks(1)).toEqual([0, 2]);
  });

  test("with ten samples the upper bound is not the maximum but unbounded, so a gate cannot pass on luck", () => {
    const s = summarizeLatency([1, 1, 1, 1, 1, 1, 1, 1, 1, 500])!;
    expect(s.p95).toBe(500);
    expect(s.p95Ci[1]).toBe(Infinity);
    expect(s.p95CiRanks).toEqual([8, 11]);
  });
});

describe("histogram buckets", () => {
  test("edges follow the 1-2-5 series, log-spaced", () => {
    expect(logBucketEdges(0.1, 100)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]);
    expect(logBucketEdges(3, 30)).toEqual([5, 10, 20, 50]);
  });

  test("every value lands in exactly one bucket, from the first non-empty bucket to the last", () => {
    const values = [0.05, 0.3, 0.3, 1, 1.9, 2, 7, 150, 90_000];
    const buckets = latencyHistogram(values, logBucketEdges(0.1, 1000));
    expect(buckets.reduce((sum, b) => sum + b.count, 0)).toBe(values.length);
    expect(buckets[0]).toEqual({ lowerMs: 0, upperMs: 0.1, count: 1 });
    expect(buckets.find((b) => b.lowerMs === 0.2)).toEqual({ lowerMs: 0.2, upperMs: 0.5, count: 2 });
    // An edge value belongs to the bucket it opens.
    expect(buckets.find((b) => b.lowerMs === 1)).toEqual({ lowerMs: 1, upperMs: 2, count: 2 });
    expect(buckets.find((b) => b.lowerMs === 2)).toEqual({ lowerMs: 2, upperMs: 5, count: 1 });
    expect(buckets[buckets.length - 1]).toEqual({ lowerMs: 1000, upperMs: Infinity, count: 1 });
  });

  test("leading and trailing empty buckets are left out; no values, no buckets", () => {
    const buckets = latencyHistogram([3, 4], logBucketEdges(0.1, 1000));
    expect(buckets).toEqual([{ lowerMs: 2, upperMs: 5, count: 2 }]);
    expect(latencyHistogram([])).toEqual([]);
  });
});

describe("what the intervals refuse", () => {
  test("the exact interval takes a one-sided alpha strictly between 0 and 0.5", () => {
    for (const alpha of [0, 0.5, -0.1, Number.NaN]) expect(() => p95ConfidenceRanks(100, alpha)).toThrow(RangeError);
    expect(p95ConfidenceRanks(1000, 0.4999)[1]).toBeLessThan(p95ConfidenceRanks(1000)[1]);
  });

  test("the windowed interval takes a one-sided alpha strictly between 0 and 0.5, and a finite overall P95", () => {
    const windows = [10, 12, 9, 11, 10, 13, 8, 10, 11, 10];
    for (const alpha of [0, 0.5]) expect(() => windowedP95Interval(windows, 10.5, alpha)).toThrow(RangeError);
    expect(() => windowedP95Interval(windows, Infinity)).toThrow(RangeError);
    expect(() => windowedP95Interval(windows, Number.NaN)).toThrow(RangeError);
    expect(windowedP95Interval(windows, 10.5, 0.4999)).not.toBeNull();
  });
});

describe("the windows' P95s", () => {
  test("each window is sorted before its P95 is read: a falling latency gives falling window P95s", () => {
    const falling = Array.from({ length: 1000 }, (_, i) => 999 - i);
    // Window j holds 999 - 50j down to 950 - 50j; its nearest-rank P95 is the 48th smallest.
    expect(p95Windows(falling)).toEqual(Array.from({ length: 20 }, (_, j) => 950 - 50 * j + 47));
  });
});
