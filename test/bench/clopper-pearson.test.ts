// The exact binomial interval the calibration reports its error rates with, against published values
// (R's binom.test, which computes Clopper–Pearson) and the closed forms at k = 0 and k = n.

import { binomialUpperTail, clopperPearson } from "../../bench/clopper-pearson.js";
import { calibrationTable, parseDelays, rate, summarizeCalibration, type Comparison } from "../../bench/calibrate.js";

describe("clopperPearson", () => {
  it.each([
    // k, n, lower, upper (binom.test(k, n)$conf.int)
    [5, 10, 0.187086, 0.812914],
    [1, 20, 0.001265, 0.248733],
    [0, 20, 0, 0.168433],
    [20, 20, 0.831567, 1],
    [3, 50, 0.012548, 0.16548],
    [50, 100, 0.398321, 0.601679],
  ])("%i of %i is [%f, %f]", (k, n, lower, upper) => {
    const [lo, hi] = clopperPearson(k, n);
    expect(lo).toBeCloseTo(lower, 5);
    expect(hi).toBeCloseTo(upper, 5);
  });

  it("has the closed forms at none and all: 1 - (alpha/2)^(1/n)", () => {
    expect(clopperPearson(0, 10)[1]).toBeCloseTo(1 - 0.025 ** (1 / 10), 10);
    expect(clopperPearson(10, 10)[0]).toBeCloseTo(0.025 ** (1 / 10), 10);
    expect(clopperPearson(0, 10)[0]).toBe(0);
    expect(clopperPearson(10, 10)[1]).toBe(1);
  });

  it("narrows with a lower confidence and puts its tails where it says", () => {
    const [lo95, hi95] = clopperPearson(4, 30);
    const [lo80, hi80] = clopperPearson(4, 30, 0.8);
    expect(lo80).toBeGreaterThan(lo95);
    expect(hi80).toBeLessThan(hi95);
    expect(binomialUpperTail(4, 30, lo95)).toBeCloseTo(0.025, 9);
    expect(1 - binomialUpperTail(5, 30, hi95)).toBeCloseTo(0.025, 9);
  });

  it("refuses counts that are not counts", () => {
    expect(() => clopperPearson(3, 2)).toThrow("k must be a whole number from 0 to n (2), got 3");
    expect(() => clopperPearson(1, 0)).toThrow("n must be a whole number >= 1, got 0");
  });
});

describe("the calibration report", () => {
  const pair = (kind: "A/A" | "A/B", delayMs: number, verdict: string, ratio: number): Comparison => ({
    replicate: 1,
    kind,
    delayMs,
    verdict,
    ratio,
    detail: "",
    baselineP95Ms: 4,
    candidateP95Ms: 4 * ratio,
  });

  it("counts false FAILs, slower builds that still PASS, and the power per delay; pairs not judged count in none", () => {
    const s = summarizeCalibration(
      [
        pair("A/A", 0, "PASS", 1.01),
        pair("A/A", 0, "FAIL", 1.3),
        pair("A/A", 0, "INCONCLUSIVE", 1.1),
        pair("A/A", 0, "ERROR", 1),
        pair("A/B", 2, "FAIL", 1.5),
        pair("A/B", 2, "FAIL", 1.6),
        pair("A/B", 2, "PASS", 1.05),
      ],
      [2],
    );
    expect(s.aa).toMatchObject({ pairs: 3, fail: 1, pass: 1, inconclusive: 1, falseFail: { count: 1, of: 3 }, medianRatio: 1.1 });
    expect(s.delays[0]).toMatchObject({
      delayMs: 2,
      pairs: 3,
      power: { count: 2, of: 3 },
      stillPasses: { count: 1, of: 3 },
      medianRatio: 1.5,
    });
    expect(s.notJudged).toBe(1);
    expect(s.aa.falseFail.ci95).toEqual(clopperPearson(1, 3));
    const table = calibrationTable(s);
    expect(table).toContain("false FAIL 33% (1–91%)");
    expect(table).toContain("power 67% (9–99%)");
    expect(rate(0, 0)).toEqual({ count: 0, of: 0, rate: null, ci95: null });
  });

  it("reads --delays as whole milliseconds", () => {
    expect(parseDelays("1ms,2ms,2ms")).toEqual([1, 2]);
    expect(() => parseDelays("1ms,fast")).toThrow(`--delays: "fast" is not a delay in whole milliseconds such as 2ms`);
  });
});
