// The latency rule on both intervals: PASS needs the exact and the windowed upper bounds (at the
// run's level) within the bar; FAIL needs both lower bounds, less the driver's delays, over it.

import { loadGate } from "../../../src/gates/gate-file/index.js";
import type { Phase } from "../../../src/gates/model/gate.js";
import type { LatencySummary, PhaseMeasurement } from "../../../src/gates/model/gate-run-record.js";
import { judgeP95, type ScheduleCheck } from "../../../src/gates/verdict/replay-validity.js";
import { executeRun } from "../../../src/gates/run/execute-run.js";
import { SLOS } from "../../../src/gates/verdict/slos/index.js";
import { summarizeLatency } from "../../../src/gates/verdict/statistics.js";

const gateA = loadGate("gates/gate-a.yaml", {});
const load = gateA.phases[1] as Phase;

function normal(seed: number): () => number {
  let state = seed;
  const u = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Latencies (ms) around `scale`, independent, or with a log that drifts as an AR(1) process (phi). */
function latencies(n: number, scale: number, seed: number, phi = 0): number[] {
  const z = normal(seed);
  let x = 0;
  return Array.from({ length: n }, () => {
    x = phi * x + Math.sqrt(1 - phi * phi) * z();
    return scale * Math.exp(0.4 * x);
  });
}

/** A driver that kept its schedule, with the exact lower bound less `allowance` ms left once its delays are out. */
function held(l: LatencySummary, allowance = 0.3, over: Partial<ScheduleCheck> = {}): ScheduleCheck {
  return {
    targetRate: 1000,
    achievedRate: 1000,
    rateHeld: true,
    windows: [],
    slowestWindow: null,
    sendLagP99Ms: allowance,
    lagAboveP99: 0,
    driverFreeP95LowerMs: l.p95Ci[0] - allowance,
    ...over,
  };
}

// Correlated samples: the exact interval is narrow, the windowed one much wider.
const drifting = summarizeLatency(latencies(5000, 10, 7, 0.995))!;
const steady = summarizeLatency(latencies(5000, 10, 8))!;

describe("PASS needs both upper bounds within the bar", () => {
  test("the samples set up the cases: drifting latencies have a windowed upper bound well over the exact one", () => {
    expect(drifting.p95CiBatch![1]).toBeGreaterThan(drifting.p95Ci[1] + 1);
  });

  test("exact within the bar, windowed over it: INCONCLUSIVE leaning PASS, naming the windowed bound and the ESS", () => {
    const bar = (drifting.p95Ci[1] + drifting.p95CiBatch![1]) / 2;
    const j = judgeP95(drifting, bar, held(drifting), "phase bar");
    expect(j).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "PASS" });
    expect(j.detail).toMatch(
      /the windowed upper bound at 97\.5%, [\d.]+ms, is over the [\d.]+ms phase bar \(20 windows of 250; effective sample size [\d,]+ of 5,000\)/,
    );
    expect(j.detail).not.toMatch(/exact upper bound/);
  });

  test("windowed within the bar, exact over it: INCONCLUSIVE too", () => {
    const l: LatencySummary = { ...steady, passBounds: { ...steady.passBounds, batch: steady.p95 } };
    const bar = (steady.p95 + steady.p95Ci[1]) / 2;
    const j = judgeP95(l, bar, held(l), "phase bar");
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toMatch(/the exact upper bound at 97\.5%/);
  });

  test("both within: PASS, quoting both bounds; at the larger of the two exactly, still PASS (<=)", () => {
    const bar = Math.max(drifting.passBounds.exact, drifting.passBounds.batch!);
    const j = judgeP95(drifting, bar, held(drifting), "phase bar");
    expect(j.verdict).toBe("PASS");
    expect(j.detail).toMatch(/^latency_p95 upper bounds at 97\.5%: exact [\d.]+ms, windowed [\d.]+ms \(20 windows of 250; .*\), both <= /);
    expect(judgeP95(drifting, bar - 0.001, held(drifting), "phase bar").verdict).toBe("INCONCLUSIVE");
  });

  test("with the exact bound the larger, PASS holds at it exactly and not a hair under (each bound is compared with <=)", () => {
    const l: LatencySummary = { ...steady, passBounds: { ...steady.passBounds, batch: steady.p95 } };
    expect(judgeP95(l, l.passBounds.exact, held(l)).verdict).toBe("PASS");
    expect(judgeP95(l, l.passBounds.exact - 0.001, held(l)).verdict).toBe("INCONCLUSIVE");
  });

  test("a phase without a windowed interval (under 200 samples) cannot PASS, however fast", () => {
    const small = summarizeLatency(latencies(150, 1, 9))!;
    expect(small.p95CiBatch).toBeNull();
    expect(small.passBounds.exact).toBeLessThan(5);
    const j = judgeP95(small, 100, held(small), "phase bar");
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toMatch(/150 samples are too few for the windowed interval \(it needs 200: 10 windows of 20\)/);
  });
});

describe("FAIL needs both lower bounds, less the driver's delays, over the bar", () => {
  const slowDrift = summarizeLatency(latencies(5000, 100, 17, 0.995))!;

  test("exact over the bar, windowed within it: INCONCLUSIVE leaning FAIL, saying the windowed bound is within", () => {
    const freeWindowed = slowDrift.p95CiBatch![0] - 0.3;
    const freeExact = slowDrift.p95Ci[0] - 0.3;
    expect(freeWindowed).toBeLessThan(freeExact - 1);
    const bar = (freeWindowed + freeExact) / 2;
    const j = judgeP95(slowDrift, bar, held(slowDrift), "phase bar");
    expect(j).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
    expect(j.detail).toMatch(/the exact lower bound [\d.]+ms is over the bar, but the windowed one, [\d.]+ms, is within it/);
  });

  test("both over: FAIL, with the windowed bound given the same allowance for the driver as the exact one", () => {
    const allowance = 2;
    const freeWindowed = slowDrift.p95CiBatch![0] - allowance;
    const edge = Math.min(slowDrift.p95Ci[0] - allowance, freeWindowed);
    expect(judgeP95(slowDrift, edge - 0.01, held(slowDrift, allowance), "phase bar").verdict).toBe("FAIL");
    expect(judgeP95(slowDrift, edge, held(slowDrift, allowance), "phase bar").verdict).toBe("INCONCLUSIVE");
    const j = judgeP95(slowDrift, edge - 0.01, held(slowDrift, allowance), "phase bar");
    expect(j.detail).toMatch(/the windowed lower bound, less the same, is [\d.]+ms \(20 windows of 250/);
  });

  test("with the exact bound the lower of the two, FAIL needs it over the bar, not at it", () => {
    const l: LatencySummary = { ...slowDrift, p95CiBatch: [slowDrift.p95Ci[0] + 5, slowDrift.p95CiBatch![1]] };
    const freeExact = l.p95Ci[0] - 0.3;
    expect(judgeP95(l, freeExact, held(l)).verdict).toBe("INCONCLUSIVE");
    expect(judgeP95(l, freeExact - 0.01, held(l)).verdict).toBe("FAIL");
  });

  test("a phase without a windowed interval cannot FAIL either", () => {
    const small = summarizeLatency(latencies(150, 500, 19))!;
    const j = judgeP95(small, 10, held(small), "phase bar");
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toMatch(/there is no windowed interval to confirm it/);
  });
});

describe("a stricter level for a PASS (judgeAlpha)", () => {
  const values = latencies(5000, 10, 27);
  const usual = summarizeLatency(values)!;
  const strict = summarizeLatency(values, { judgeAlpha: 0.0125 })!;
  // Just above the larger of the two upper bounds at 97.5%: a borderline PASS.
  const bar = Math.max(usual.passBounds.exact, usual.passBounds.batch!) + 0.001;
  const phase: Phase = { ...load, latencyP95Ms: bar };

  function measured(l: LatencySummary): PhaseMeasurement {
    return { replay: { samples: [], schedule: held(l), valid: true }, latency: l } as unknown as PhaseMeasurement;
  }

  test("a borderline PASS at 97.5% is INCONCLUSIVE at 98.75%, and says at which level it was judged", () => {
    const judge = SLOS.latency_p95.judge(gateA, phase)!;
    const atUsual = judge.evaluate(measured(usual))!;
    expect(atUsual.verdict).toBe("PASS");
    expect(atUsual.detail).toMatch(/upper bounds at 97\.5%/);
    const atStrict = judge.evaluate(measured(strict))!;
    expect(atStrict.verdict).toBe("INCONCLUSIVE");
    expect(atStrict.detail).toMatch(/upper bound at 98\.75%/);
    expect(atStrict.measuredDisplay).toMatch(/; upper at 98\.75%: [\d.]+ms, windowed [\d.]+ms; n=5,000\)$/);
    expect(atUsual.measuredDisplay).not.toMatch(/upper at/);
  });

  test("the FAIL side stays at 95% (97.5% each way): the lower bounds do not move with the level", () => {
    expect(strict.p95Ci).toEqual(usual.p95Ci);
    const slow = summarizeLatency(latencies(5000, 100, 28), { judgeAlpha: 0.0125 })!;
    const slowUsual = summarizeLatency(latencies(5000, 100, 28))!;
    const edge = Math.min(slow.p95Ci[0], slow.p95CiBatch![0]) - 0.3;
    expect(judgeP95(slow, edge - 0.01, held(slow)).verdict).toBe("FAIL");
    expect(judgeP95(slowUsual, edge - 0.01, held(slowUsual)).verdict).toBe("FAIL");
  });

  test("executeRun refuses a level that is no stricter than 97.5%, or no probability, before it deploys anything", async () => {
    for (const judgeAlpha of [0, 0.05, 0.5, Number.NaN]) {
      await expect(executeRun(gateA, { phases: [load], commit: "c".repeat(40), judgeAlpha })).rejects.toThrow(
        /judgeAlpha is the one-sided alpha of a PASS's upper bounds: expected 0 < alpha <= 0.025/,
      );
    }
  });
});
