// The windowed (sectioning) interval for P95: close to the exact one for independent samples,
// wider, with an effective sample size far below n, when latencies come in runs.

import {
  effectiveSampleSize,
  MIN_SAMPLES_FOR_WINDOWED_P95,
  minSamplesForP95Bound,
  p95ConfidenceRanks,
  p95WindowBounds,
  p95WindowCount,
  p95WindowOf,
  p95Windows,
  summarizeLatency,
  windowedP95Interval,
} from "../../../src/gates/verdict/statistics.js";
import { studentTCdf, studentTQuantile } from "../../../src/gates/verdict/student-t.js";

/** A seeded uniform generator (Park–Miller), so every run of the test sees the same samples. */
function uniform(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

/** Standard normal draws (Box–Muller) from a seeded generator. */
function normal(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Log-normal latencies around 2 ms, independent of each other. */
function independent(n: number, seed: number): number[] {
  const z = normal(seed);
  return Array.from({ length: n }, () => 2 * Math.exp(0.5 * z()));
}

/** Log-normal latencies whose log is an AR(1) process with coefficient phi: slow drifts, as a busy machine gives. */
function autocorrelated(n: number, seed: number, phi = 0.995): number[] {
  const z = normal(seed);
  let x = 0;
  return Array.from({ length: n }, () => {
    x = phi * x + Math.sqrt(1 - phi * phi) * z();
    return 2 * Math.exp(0.5 * x);
  });
}

describe("Student's t", () => {
  test("quantiles match the tables: t(19) 2.093 at 97.5%, t(9) 2.262, t(29) 2.045; large df tends to the normal's 1.960", () => {
    expect(studentTQuantile(0.975, 19)).toBeCloseTo(2.093, 3);
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.262, 3);
    expect(studentTQuantile(0.975, 29)).toBeCloseTo(2.045, 3);
    expect(studentTQuantile(0.995, 19)).toBeCloseTo(2.861, 3);
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.96, 3);
    expect(studentTQuantile(0.025, 19)).toBeCloseTo(-2.093, 3);
  });

  test("the CDF inverts the quantile, and is symmetric", () => {
    for (const df of [1, 4, 19]) {
      for (const p of [0.6, 0.9, 0.975, 0.99875]) expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 9);
      expect(studentTCdf(-1.3, df) + studentTCdf(1.3, df)).toBeCloseTo(1, 12);
    }
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12); // Cauchy: 1/2 + atan(1)/π
  });
});

describe("the windowed interval from given window P95s", () => {
  test("is the overall P95 ± t(b-1, 1-α) · s/√b, s taken about the overall P95 (sectioning)", () => {
    const windows = [10, 12, 9, 11, 10, 13, 8, 10, 11, 10];
    const overall = 10.5;
    const s = Math.sqrt(windows.reduce((a, w) => a + (w - overall) ** 2, 0) / 9);
    const half = 2.2621571627978 * (s / Math.sqrt(10));
    const ci = windowedP95Interval(windows, overall, 0.025)!;
    expect(ci.windows).toBe(10);
    expect(ci.standardError).toBeCloseTo(s / Math.sqrt(10), 12);
    expect(ci.upper).toBeCloseTo(overall + half, 9);
    expect(ci.lower).toBeCloseTo(overall - half, 9);
  });

  test("a stricter level widens it: the upper bound at 98.75% is above the one at 97.5%", () => {
    const windows = [10, 12, 9, 11, 10, 13, 8, 10, 11, 10];
    const usual = windowedP95Interval(windows, 10.5, 0.025)!;
    const strict = windowedP95Interval(windows, 10.5, 0.0125)!;
    expect(strict.upper).toBeGreaterThan(usual.upper);
    expect(strict.standardError).toBe(usual.standardError);
  });

  test("under 10 windows there is none: too few to estimate a spread, so nothing can PASS on it", () => {
    expect(windowedP95Interval([1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toBeNull();
    expect(windowedP95Interval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5)).not.toBeNull();
  });

  test("read off buckets, each deviation off by at most e_j: s widens by √(Σ e_j²/(b−1)), and the interval covers every set of true values", () => {
    const windows = [10, 12, 9, 11, 10, 13, 8, 10, 11, 10];
    const errors = [0.5, 0.1, 0.1, 0.2, 0.1, 0.5, 0.1, 0.1, 0.3, 0.1];
    const plain = windowedP95Interval(windows, 10.5, 0.025)!;
    const widened = windowedP95Interval(windows, 10.5, 0.025, errors)!;
    const extra = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / 9) / Math.sqrt(10);
    expect(widened.standardError).toBeCloseTo(plain.standardError + extra, 12);
    expect(windowedP95Interval(windows, 10.5, 0.025, Array<number>(10).fill(0))).toEqual(plain);
    // Any true deviations within e_j of the read ones: their standard error is never above the widened one.
    let state = 11;
    const random = () => (state = (state * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 2000; trial++) {
      const truth = windows.map((w, j) => w + (random() < 0.5 ? -1 : 1) * errors[j] * random());
      expect(windowedP95Interval(truth, 10.5, 0.025)!.standardError).toBeLessThanOrEqual(widened.standardError + 1e-12);
    }
    expect(() => windowedP95Interval(windows, 10.5, 0.025, [1, 2])).toThrow(/one deviation error per window/);
    expect(() => windowedP95Interval(windows, 10.5, 0.025, [...errors.slice(1), -1])).toThrow(RangeError);
  });

  test("its lower bound is never below 0 ms, and bad input is refused", () => {
    expect(windowedP95Interval([0, 0, 0, 0, 0, 0, 0, 0, 0, 50], 1)!.lower).toBe(0);
    expect(() => windowedP95Interval([1, 2, 3, 4, 5, 6, 7, 8, 9, Number.NaN], 5)).toThrow(RangeError);
    expect(() => windowedP95Interval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, 0.6)).toThrow(RangeError);
  });
});

describe("the windows of a phase", () => {
  test("20 consecutive windows in due order, or floor(n/20) of at least 20 samples; none under 200 samples", () => {
    expect(MIN_SAMPLES_FOR_WINDOWED_P95).toBe(200);
    expect(p95Windows(independent(30_000, 1))).toHaveLength(20);
    expect(p95Windows(independent(1000, 1))).toHaveLength(20);
    expect(p95Windows(independent(399, 1))).toHaveLength(19);
    expect(p95Windows(independent(200, 1))).toHaveLength(10);
    expect(p95Windows(independent(199, 1))).toEqual([]);
  });

  test("each window is a consecutive slice: a latency that climbs over the phase gives climbing window P95s", () => {
    const climbing = Array.from({ length: 1000 }, (_, i) => i);
    const p95s = p95Windows(climbing);
    // Window j holds samples 50j .. 50j+49; its nearest-rank P95 is the 48th of them.
    expect(p95s).toEqual(Array.from({ length: 20 }, (_, j) => 50 * j + 47));
  });

  test("p95WindowOf names the window p95Windows puts each position in, for any n (runners cut by global position with it)", () => {
    for (const n of [200, 201, 219, 399, 400, 1000, 1019, 4999, 12_345]) {
      const b = p95WindowCount(n);
      expect(b).toBe(Math.min(20, Math.floor(n / 20)));
      let covered = 0;
      for (let j = 0; j < b; j++) {
        const [from, to] = p95WindowBounds(j, n, b);
        expect(to - from).toBeGreaterThanOrEqual(20);
        for (let i = from; i < to; i++) expect(p95WindowOf(i, n, b)).toBe(j);
        covered += to - from;
      }
      expect(covered).toBe(n);
      // The windows p95Windows cuts are these: a series that is the position itself gives each window's P95 inside its bounds.
      const positions = Array.from({ length: n }, (_, i) => i);
      p95Windows(positions).forEach((p95, j) => expect(p95WindowOf(p95, n, b)).toBe(j));
    }
    expect(p95WindowCount(199)).toBe(0);
  });

  test("Gate A's smallest phase (1,000 requests) has 20 windows of 50: it can still PASS", () => {
    const s = summarizeLatency(independent(1000, 3))!;
    expect(s.windows).toMatchObject({ count: 20, size: 50 });
    expect(s.p95CiBatch).not.toBeNull();
    expect(s.passBounds.batch).not.toBeNull();
  });
});

describe("independent samples against correlated ones", () => {
  test.each([1000, 5000, 30_000])("independent (n = %i): the windowed interval is close to the exact one, ESS near n", (n) => {
    for (const seed of [11, 12, 13]) {
      const s = summarizeLatency(independent(n, seed))!;
      const exactWidth = s.p95Ci[1] - s.p95Ci[0];
      const windowedWidth = s.p95CiBatch![1] - s.p95CiBatch![0];
      expect(windowedWidth / exactWidth).toBeGreaterThan(0.5);
      expect(windowedWidth / exactWidth).toBeLessThan(1.8);
      expect(s.effectiveSampleSize!).toBeGreaterThan(n / 4);
      expect(s.effectiveSampleSize!).toBeLessThan(n * 4);
    }
  });

  test.each([1000, 5000, 30_000])("AR(1) with φ = 0.995 (n = %i): wider than the exact interval, and ESS ≪ n", (n) => {
    for (const seed of [21, 22, 23]) {
      const s = summarizeLatency(autocorrelated(n, seed))!;
      const exactWidth = s.p95Ci[1] - s.p95Ci[0];
      const windowedWidth = s.p95CiBatch![1] - s.p95CiBatch![0];
      expect(windowedWidth).toBeGreaterThan(2 * exactWidth);
      expect(s.effectiveSampleSize!).toBeLessThan(n / 5);
    }
  });

  test("level shifts in blocks of 1,000 (fast, slow, fast, slow): the windowed interval takes in both levels", () => {
    const z = independent(4000, 31);
    const shifted = z.map((v, i) => (Math.floor(i / 1000) % 2 === 0 ? v : v + 6));
    const s = summarizeLatency(shifted)!;
    // The same values in a random order are independent: the exact interval cannot tell the two apart.
    const u = uniform(32);
    const mixed = [...shifted].sort(() => u() - 0.5);
    const m = summarizeLatency(mixed)!;
    expect(s.p95Ci).toEqual(m.p95Ci);
    expect(s.p95CiBatch![1] - s.p95CiBatch![0]).toBeGreaterThan(3 * (m.p95CiBatch![1] - m.p95CiBatch![0]));
    expect(s.effectiveSampleSize!).toBeLessThan(m.effectiveSampleSize! / 5);
  });

  test("the ESS is n × (the exact interval's standard error ÷ the windowed one)²", () => {
    expect(effectiveSampleSize(1000, [9, 11], 1 / 1.959963984540054)).toBeCloseTo(1000, 9);
    expect(effectiveSampleSize(1000, [9, 11], 2 / 1.959963984540054)).toBeCloseTo(250, 9);
    expect(effectiveSampleSize(1000, [9, 11], 0)).toBeNull();
    expect(effectiveSampleSize(50, [9, Infinity], 1)).toBeNull();
  });
});

describe("the exact interval at a stricter level", () => {
  test("α = 0.025 is today's 936..964 for n = 1,000; halving α moves both ranks outwards", () => {
    expect(p95ConfidenceRanks(1000)).toEqual([936, 964]);
    expect(p95ConfidenceRanks(1000, 0.025)).toEqual([936, 964]);
    const [lo, hi] = p95ConfidenceRanks(1000, 0.0125);
    expect(hi).toBeGreaterThan(964);
    expect(lo).toBeLessThan(936);
    const [, hi2] = p95ConfidenceRanks(1000, 0.05);
    expect(hi2).toBeLessThan(964);
  });

  test("the fewest samples with an upper bound: 72 at 97.5%, more at stricter levels (0.95^n must fall to α)", () => {
    expect(minSamplesForP95Bound()).toBe(72);
    for (const alpha of [0.05, 0.025, 0.0125, 0.00625, 0.003125]) {
      const n = minSamplesForP95Bound(alpha);
      expect(p95ConfidenceRanks(n, alpha)[1]).toBeLessThanOrEqual(n);
      expect(p95ConfidenceRanks(n - 1, alpha)[1]).toBe(n);
      expect(n).toBe(Math.ceil(Math.log(alpha) / Math.log(0.95)));
    }
  });

  test("summarizeLatency states the level and both upper bounds a PASS is judged on", () => {
    const values = independent(5000, 41);
    const usual = summarizeLatency(values)!;
    const strict = summarizeLatency(values, { judgeAlpha: 0.00625 })!;
    expect(usual.passBounds).toMatchObject({ oneSidedAlpha: 0.025, exact: usual.p95Ci[1], exactRank: usual.p95CiRanks[1] });
    expect(usual.passBounds.batch).toBeCloseTo(usual.p95CiBatch![1], 12);
    expect(strict.passBounds.oneSidedAlpha).toBe(0.00625);
    expect(strict.passBounds.exact).toBeGreaterThan(usual.passBounds.exact);
    expect(strict.passBounds.batch!).toBeGreaterThan(usual.passBounds.batch!);
    // The 95% intervals shown beside them do not move.
    expect(strict.p95Ci).toEqual(usual.p95Ci);
    expect(strict.p95CiBatch).toEqual(usual.p95CiBatch);
  });
});
