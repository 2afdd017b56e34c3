// The judge's edges, each pinned down: the exact ranks, where a percentile's rank is clamped, which
// side of the bar an equal value falls on, what the schedule check counts and when the rate holds,
// and what a verdict's detail says on each path. `npm run mutate` (docs/mutation-testing.md) checks
// that changing any of these decisions breaks a test.

import type { Gate, Phase } from "../../../src/gates/model/gate.js";
import type {
  LatencySummary,
  PhaseMeasurement,
  PhaseResult,
  PhaseVerdict,
  RbacCase,
  Verdict,
} from "../../../src/gates/model/gate-run-record.js";
import { latencyP95 } from "../../../src/gates/verdict/slos/latency-p95.js";
import { errorBudget } from "../../../src/gates/verdict/error-budget.js";
import { loadGate } from "../../../src/gates/gate-file/index.js";
import { evaluateRun, phaseCanStillPass } from "../../../src/gates/verdict/verdict.js";
import { formatCount, formatMs } from "../../../src/gates/model/units.js";
import type { HostContention } from "../../../src/gates/measure/host-contention.js";
import {
  checkSchedule,
  contentionClause,
  driverFreeLowerBound,
  judgeP95,
  MIN_ACHIEVED_RATE_SHARE,
  RATE_WINDOW_MS,
  type ScheduleCheck,
} from "../../../src/gates/verdict/replay-validity.js";
import {
  latencyHistogram,
  logBucketEdges,
  MIN_SAMPLES_FOR_P95_BOUND,
  nearestRank,
  p95ConfidenceRanks,
  percentileOfSorted,
  sortAscending,
  summarizeLatency,
} from "../../../src/gates/verdict/statistics.js";

/** n requests at `rate`, request i dispatched at dispatchedAt(i) ms. */
function scheduleOf(n: number, rate: number, dispatchedAt: (i: number) => number = (i) => (i * 1000) / rate) {
  return checkSchedule({
    targetRate: rate,
    dispatched: n,
    dispatchedAt: Float64Array.from({ length: n }, (_, i) => dispatchedAt(i)),
    latencies: [1],
    ownLags: [0.1],
  });
}

/** A driver's record that kept its schedule, with the given driver-free lower bound. */
function held(driverFreeP95LowerMs: number | null, over: Partial<ScheduleCheck> = {}): ScheduleCheck {
  return {
    targetRate: 1000,
    achievedRate: 1000,
    rateHeld: true,
    windows: [],
    slowestWindow: null,
    sendLagP99Ms: 0.5,
    lagAboveP99: 0,
    driverFreeP95LowerMs,
    ...over,
  };
}

/** 1..n ms, one sample each. */
const ramp = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** A contention record: `spans` contended spans of one second each. */
function contention(over: Partial<HostContention> = {}): HostContention {
  return {
    limitCores: 0.25,
    contended: [{ fromMs: 1000, toMs: 3000, peakForeignCores: 1.5 }],
    requestsInContended: 2000,
    peakForeignCores: 1.5,
    meanForeignCores: 0.3,
    cleanFreeP95LowerMs: 5,
    cleanRequests: 28_000,
    topForeign: [],
    ...over,
  };
}

describe("percentile ranks", () => {
  test("p must lie in (0, 100]: 0 and above 100 are refused, 100 is the largest sample", () => {
    expect(() => nearestRank(0, 10)).toThrow(RangeError);
    expect(() => nearestRank(100.5, 10)).toThrow(RangeError);
    expect(() => nearestRank(Number.NaN, 10)).toThrow(RangeError);
    expect(nearestRank(100, 10)).toBe(10);
  });

  test("no samples have no rank; one sample is rank 1 for any percentile", () => {
    expect(() => nearestRank(50, 0)).toThrow(RangeError);
    expect(nearestRank(50, 1)).toBe(1);
    expect(nearestRank(99.9, 1)).toBe(1);
  });

  test("a percentile so small it rounds to rank 0 is clamped to the smallest sample", () => {
    expect(nearestRank(1e-12, 10)).toBe(1);
    expect(percentileOfSorted(sortAscending([3, 1, 2]), 1e-12)).toBe(1);
  });

  test("the rank is ceil(p/100 x n): 95% of 1000 is 950 and 95% of 1001 is 951", () => {
    expect(nearestRank(95, 1000)).toBe(950);
    expect(nearestRank(95, 1001)).toBe(951);
    expect(nearestRank(50, 3)).toBe(2);
  });
});

describe("the exact P95 interval", () => {
  test("a sample size that is not a whole number >= 1 is refused", () => {
    expect(() => p95ConfidenceRanks(0)).toThrow(RangeError);
    expect(() => p95ConfidenceRanks(-5)).toThrow(RangeError);
    expect(() => p95ConfidenceRanks(2.5)).toThrow(RangeError);
  });

  test("two samples: the smaller is a lower bound (rank 1), and no upper bound is in the sample", () => {
    expect(p95ConfidenceRanks(2)).toEqual([1, 3]);
    const s = summarizeLatency([7, 5])!;
    expect(s.p95Ci).toEqual([5, Infinity]);
    expect(s.p95CiRanks).toEqual([1, 3]);
  });

  test("one sample bounds nothing: the lower bound is 0 (latencies are never negative)", () => {
    expect(summarizeLatency([4])!.p95Ci).toEqual([0, Infinity]);
  });

  test("72 samples are the fewest whose upper bound is a sample: their largest", () => {
    expect(MIN_SAMPLES_FOR_P95_BOUND).toBe(72);
    const s = summarizeLatency(ramp(72))!;
    expect(s.p95CiRanks[1]).toBe(72);
    expect(s.p95Ci[1]).toBe(72);
    expect(summarizeLatency(ramp(71))!.p95Ci[1]).toBe(Infinity);
  });

  test("the ranks for several sizes are the exact binomial ones (as computed apart, from log-gamma sums)", () => {
    expect(p95ConfidenceRanks(20)).toEqual([17, 21]);
    expect(p95ConfidenceRanks(100)).toEqual([90, 100]);
    expect(p95ConfidenceRanks(500)).toEqual([465, 485]);
    expect(p95ConfidenceRanks(5000)).toEqual([4719, 4781]);
    expect(p95ConfidenceRanks(30_000)).toEqual([28_426, 28_575]);
  });

  test("every sample is checked for being finite, the last one too", () => {
    expect(() => summarizeLatency([1, 2, Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => summarizeLatency([Number.NaN])).toThrow(RangeError);
  });
});

describe("histogram buckets", () => {
  test("a range that is empty or not above 0 is refused", () => {
    expect(() => logBucketEdges(0, 10)).toThrow(RangeError);
    expect(() => logBucketEdges(5, 5)).toThrow(RangeError);
    expect(() => logBucketEdges(5, 3)).toThrow(RangeError);
    expect(() => latencyHistogram([1], [])).toThrow(RangeError);
  });

  test("the edges start at the first 1-2-5 value at or above min and end at the first at or above max", () => {
    expect(logBucketEdges(0.2, 2)).toEqual([0.2, 0.5, 1, 2]);
    expect(logBucketEdges(0.3, 0.6)).toEqual([0.5, 1]);
    expect(logBucketEdges(150, 1000)).toEqual([200, 500, 1000]);
  });

  test("a value exactly on an edge falls in the bucket that starts there", () => {
    expect(latencyHistogram([1, 2], [1, 2, 5])).toEqual([
      { lowerMs: 1, upperMs: 2, count: 1 },
      { lowerMs: 2, upperMs: 5, count: 1 },
    ]);
    expect(latencyHistogram([5], [1, 2, 5])).toEqual([{ lowerMs: 5, upperMs: Infinity, count: 1 }]);
    expect(latencyHistogram([0.5, 0.99], [1, 2, 5])).toEqual([{ lowerMs: 0, upperMs: 1, count: 2 }]);
  });

  test("empty buckets between non-empty ones are kept", () => {
    expect(latencyHistogram([0.5, 3], [1, 2, 5])).toEqual([
      { lowerMs: 0, upperMs: 1, count: 1 },
      { lowerMs: 1, upperMs: 2, count: 0 },
      { lowerMs: 2, upperMs: 5, count: 1 },
    ]);
  });
});

describe("the achieved rate", () => {
  test("one request sent is the target rate; none is 0", () => {
    expect(scheduleOf(1, 1000).achievedRate).toBe(1000);
    expect(scheduleOf(0, 1000).achievedRate).toBe(0);
  });

  test("is the requests after the first over the time from the first dispatch to the last", () => {
    expect(scheduleOf(3, 2, (i) => 100 + i * 500).achievedRate).toBe(2);
    expect(scheduleOf(11, 1000, (i) => i * 2).achievedRate).toBe(500);
  });

  test("requests all dispatched in the same instant are an unbounded rate, which holds", () => {
    const c = scheduleOf(2, 1000, () => 0);
    expect(c.achievedRate).toBe(Infinity);
    expect(c.rateHeld).toBe(true);
  });

  test("exactly 99% of the target over the phase holds; just under does not", () => {
    expect(MIN_ACHIEVED_RATE_SHARE).toBe(0.99);
    // 991 requests due in 990 ms, dispatched over exactly 1 s: 990 req/s, in one window.
    const exact = scheduleOf(991, 1000, (i) => (i * 1000) / 990);
    expect(exact.achievedRate).toBeCloseTo(990, 9);
    expect(exact.windows).toHaveLength(1);
    expect(exact.rateHeld).toBe(true);
    const under = scheduleOf(991, 1000, (i) => (i * 1001) / 990);
    expect(under.rateHeld).toBe(false);
    expect(under.reason).toMatch(/over the phase/);
  });

  test("exactly 99% in a window holds; the window's shortfall is counted in it, the catch-up in the next", () => {
    // 10 s at 1000/s; the last 50 requests due in the first window are sent just after it.
    const c = scheduleOf(10_000, 1000, (i) => (i >= 4950 && i < 5000 ? 5000 + (i - 4950) * 0.01 : i));
    expect(c.windows.map((w) => [w.due, w.dispatched])).toEqual([
      [5000, 4950],
      [5000, 5050],
    ]);
    expect(c.windows[0].rate).toBeCloseTo(990, 9);
    expect(c.slowestWindow).toBe(c.windows[0]);
    expect(c.rateHeld).toBe(true);
    const short = scheduleOf(10_000, 1000, (i) => (i >= 4949 && i < 5000 ? 5000 + (i - 4949) * 0.01 : i));
    expect(short.rateHeld).toBe(false);
    expect(short.reason).toMatch(/in the window 0s-5s/);
  });
});

describe("the schedule's windows", () => {
  test("a window starts at every multiple of 5 s up to the last request's due time, that one included", () => {
    expect(RATE_WINDOW_MS).toBe(5000);
    const c = scheduleOf(5001, 1000);
    expect(c.windows.map((w) => [w.fromMs, w.toMs, w.due])).toEqual([
      [0, 5000, 5000],
      [5000, Infinity, 1],
    ]);
    expect(scheduleOf(5000, 1000).windows).toHaveLength(1);
  });

  test("nothing sent has no windows and no slowest window", () => {
    const c = scheduleOf(0, 1000);
    expect(c.windows).toEqual([]);
    expect(c.slowestWindow).toBeNull();
  });

  test("the last window is open-ended: whatever is dispatched after its start belongs to it, and it is named 'the end'", () => {
    // 10 s of requests; the last 600 are sent 2 s late, after the schedule's end.
    const c = scheduleOf(10_000, 1000, (i) => (i >= 9400 ? i + 2000 : i));
    expect(c.windows.at(-1)).toMatchObject({ fromMs: 5000, toMs: Infinity, due: 5000, dispatched: 5000 });
    expect(c.rateHeld).toBe(false);
    expect(c.reason).toMatch(/over the phase/);
    // Slow only in its last window: 5000 due there, 5000 dispatched there, but over a longer time.
    const lateEnd = scheduleOf(10_000, 1000, (i) => (i < 5000 ? i : 5000 + (i - 5000) * 1.02));
    expect(lateEnd.windows.map((w) => w.dispatched)).toEqual([5000, 5000]);
  });

  test("a dispatch stamped before t0 counts in the first window", () => {
    const c = scheduleOf(3, 1000, (i) => i - 0.5);
    expect(c.windows).toHaveLength(1);
    expect(c.windows[0].dispatched).toBe(3);
  });

  test("of windows equally on time, the first is named the slowest", () => {
    const c = scheduleOf(15_000, 1000);
    expect(c.windows.map((w) => w.rate)).toEqual([1000, 1000, 1000]);
    expect(c.slowestWindow).toBe(c.windows[0]);
  });

  test("the slowest window is named by its seconds, the last one as 'the end'", () => {
    // 200 requests due in the last window (5 s onwards) stamped just before it: that window falls short.
    const c = scheduleOf(10_000, 1000, (i) => (i >= 5000 && i < 5200 ? 4999 : i));
    expect(c.slowestWindow).toBe(c.windows[1]);
    expect(c.rateHeld).toBe(false);
    expect(c.reason).toBe("the driver offered 960 req/s in the window 5s-the end, under 99% of the 1000 req/s target");
  });

  test("a check whose rate held carries no reason at all", () => {
    const c = scheduleOf(1000, 1000);
    expect(c.rateHeld).toBe(true);
    expect(Object.keys(c)).not.toContain("reason");
  });
});

describe("the driver-free lower bound", () => {
  test("no latencies leave no bound, but the lag is still summarised", () => {
    expect(driverFreeLowerBound([], [2, 4])).toEqual({ lowerMs: null, lagP99Ms: 4, lagAboveP99: 0 });
    expect(driverFreeLowerBound([], [])).toEqual({ lowerMs: null, lagP99Ms: 0, lagAboveP99: 0 });
  });

  test("one sample has no lower rank; two have the smaller one", () => {
    expect(driverFreeLowerBound([5], [1]).lowerMs).toBeNull();
    expect(driverFreeLowerBound([9, 5], [1, 1])).toEqual({ lowerMs: 4, lagP99Ms: 1, lagAboveP99: 0 });
  });

  test("the requests lagging beyond the p99 are those strictly above it", () => {
    const ownLags = Array.from({ length: 1000 }, (_, i) => (i < 5 ? 100 : i < 15 ? 7 : 2));
    const r = driverFreeLowerBound(ramp(1000), ownLags);
    expect(r.lagP99Ms).toBe(7);
    expect(r.lagAboveP99).toBe(5);
    expect(r.lowerMs).toBe(936 - 5 - 7);
  });
});

describe("judging a P95: the edges", () => {
  const fast = summarizeLatency(ramp(1000).map((x) => x / 100))!; // P95 9.5, CI 9.36..9.64

  test("200 samples (10 windows of 20) can PASS a bar both upper bounds are within; 199 never can", () => {
    const s200 = summarizeLatency(ramp(200))!;
    const { exact, batch } = s200.passBounds;
    expect(exact).toBeLessThan(batch!);
    expect(judgeP95(s200, batch!, held(1)).verdict).toBe("PASS");
    expect(judgeP95(s200, batch! - 1e-9, held(1)).verdict).toBe("INCONCLUSIVE");
    const j = judgeP95(summarizeLatency(ramp(199))!, 1e9, held(1));
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toContain("199 samples are too few for the windowed interval (it needs 200: 10 windows of 20)");
    expect(j.detail).not.toContain("upper bound on P95");
  });

  test("72 samples have an exact upper bound; 71 have none, and say how many a phase needs", () => {
    const j72 = judgeP95(summarizeLatency(ramp(72))!, 1e9, held(1));
    expect(j72.detail).not.toContain("too few for a 97.5% upper bound");
    const j71 = judgeP95(summarizeLatency(ramp(71))!, 1e9, held(1));
    expect(j71.verdict).toBe("INCONCLUSIVE");
    expect(j71.detail).toContain("71 samples are too few for a 97.5% upper bound on P95 (a phase needs at least 72)");
  });

  test("an upper bound that is not a number is never a PASS, whatever its rank says, even against a bar without limit", () => {
    expect(judgeP95(fast, Infinity, held(1)).verdict).toBe("PASS");
    const unbounded: LatencySummary = { ...fast, passBounds: { ...fast.passBounds, exact: Infinity } };
    expect(unbounded.passBounds.exactRank).toBeLessThanOrEqual(unbounded.n);
    expect(judgeP95(unbounded, 1e9, held(1)).verdict).toBe("INCONCLUSIVE");
    expect(judgeP95(unbounded, Infinity, held(1)).verdict).toBe("INCONCLUSIVE");
  });

  test("a PASS needs the rate held, even with the upper bound far within the bar", () => {
    const j = judgeP95(fast, 100, held(9, { rateHeld: false, reason: "the driver offered 900 req/s over the phase" }));
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toContain("the offered rate did not hold (the driver offered 900 req/s over the phase)");
    expect(j.detail).not.toContain("upper CI");
  });

  test("a rate that did not hold, with no reason given, is said to be below target", () => {
    const j = judgeP95(fast, 100, held(9, { rateHeld: false }));
    expect(j.detail).toContain("the offered rate did not hold (below target)");
  });

  test("a replay without a schedule record proves nothing either way, however slow", () => {
    const slow = summarizeLatency(ramp(1000).map((x) => x + 500))!;
    const j = judgeP95(slow, 10, undefined);
    expect(j).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
    expect(j.detail).toContain("the replay has no schedule record");
    expect(judgeP95(fast, 100, undefined).verdict).toBe("INCONCLUSIVE");
  });

  test("the detail says an upper bound is over the bar only when it is", () => {
    const { exact, batch } = fast.passBounds; // exact 9.64 < windowed 11.97
    const exactOver = judgeP95(fast, exact - 0.01, held(9));
    expect(exactOver.detail).toMatch(/but the exact upper bound at 97\.5%, [\d.]+ms, is over the [\d.]+ms bar/);
    expect(judgeP95(fast, exact, held(9)).detail).not.toContain("the exact upper bound");
    const batchOver = judgeP95(fast, batch! - 0.01, held(9));
    expect(batchOver.detail).toMatch(/the windowed upper bound at 97\.5%, [\d.]+ms, is over the [\d.]+ms bar \(20 windows of 50;/);
    const notHeld = judgeP95(fast, batch!, held(9, { rateHeld: false, reason: "slow" }));
    expect(notHeld.detail).not.toContain("is over the");
  });

  test("the detail names a missing driver-free bound, or the bound within the bar", () => {
    const none = judgeP95(fast, 9.4, held(null));
    expect(none.detail).toContain("no lower bound is left once the driver's delays are taken out");
    const within = judgeP95(fast, 9.4, held(9.2));
    expect(within.detail).toContain(
      "with the driver's own delays taken out (driver lag p99 0.5ms) the lower bound 9.2ms is within the bar",
    );
  });

  test("a point estimate exactly at the bar leans PASS; by how much is never negative", () => {
    const at = judgeP95(fast, fast.p95, held(9, { rateHeld: false }));
    expect(at).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "PASS", byMs: 0 });
    expect(at.detail).toContain("is 0ms under the");
    const over = judgeP95(fast, 9, held(8.9));
    expect(over).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
    expect(over.byMs).toBeCloseTo(0.5, 9);
    expect(over.detail).toContain("is 0.5ms over the 9ms bar");
  });

  test("a FAIL names the requests the driver delayed most set aside, when there were any", () => {
    const slow = summarizeLatency(ramp(1000).map((x) => x + 500))!;
    expect(judgeP95(slow, 100, held(1400, { lagAboveP99: 4 })).detail).toContain("and the 4 requests the driver delayed most set aside");
    expect(judgeP95(slow, 100, held(1400)).detail).not.toContain("set aside");
    expect(judgeP95(slow, 100, held(1400)).detail).toContain("is 1400ms > 100ms (bar, over by 1300ms)");
  });
});

describe("judging a P95 on a busy host: the edges", () => {
  const slow = summarizeLatency(ramp(1000).map((x) => x + 500))!;

  test("a contention record with no contended span leaves a FAIL standing, and quotes the host's peak and mean", () => {
    const quietHost = contention({ contended: [], cleanFreeP95LowerMs: 50, peakForeignCores: 0.2, meanForeignCores: 0.04 });
    const j = judgeP95(slow, 100, held(1400), "phase bar", quietHost);
    expect(j.verdict).toBe("FAIL");
    expect(j.detail).toBe(
      `${judgeP95(slow, 100, held(1400), "phase bar").detail}; other work on the host stayed at or under 0.25 cores every second (peak 0.20, mean 0.04)`,
    );
  });

  test("a clean lower bound exactly at the bar is no FAIL", () => {
    const at = judgeP95(slow, 100, held(1400), "phase bar", contention({ cleanFreeP95LowerMs: 100 }));
    expect(at).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
    expect(at.detail).toContain(
      "set aside, the lower bound of the other 28000 requests, less the driver's delays, is 100ms, within the bar",
    );
    expect(judgeP95(slow, 100, held(1400), "phase bar", contention({ cleanFreeP95LowerMs: 100.01 })).verdict).toBe("FAIL");
  });

  test("too few clean requests to bound the P95 leave the FAIL unproven, and say so", () => {
    const j = judgeP95(slow, 100, held(1400), "phase bar", contention({ cleanFreeP95LowerMs: null, cleanRequests: 3 }));
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toContain("set aside, the 3 requests left are too few to bound the P95: rerun on a quiet machine");
  });

  test("the contention clause names at most three processes, and the contended seconds", () => {
    const topForeign = ["a", "b", "c", "d"].map((command, i) => ({ pid: i + 1, command, cpuSeconds: 4 - i }));
    const clause = contentionClause(
      contention({
        topForeign,
        contended: [
          { fromMs: 1000, toMs: 3000, peakForeignCores: 1.5 },
          { fromMs: 10_000, toMs: 11_500, peakForeignCores: 1 },
        ],
      }),
    );
    expect(clause).toBe(
      "other work held the machine's CPU: up to 1.50 cores outside this run (busiest: a 4.0 CPU-s, b 3.0 CPU-s, c 2.0 CPU-s), " +
        "over 0.25 cores for 4 s of the phase (2000 requests due then)",
    );
    expect(contentionClause(contention())).toBe(
      "other work held the machine's CPU: up to 1.50 cores outside this run, over 0.25 cores for 2 s of the phase (2000 requests due then)",
    );
  });
});

describe("the run's verdict: the edges", () => {
  /** A phase result as the verdict reads it: its name, whether it ran, its verdict and objectives. */
  const phase = (name: string, verdict: PhaseVerdict, over: Partial<PhaseResult> = {}): PhaseResult =>
    ({
      name,
      ran: true,
      verdict,
      reason: `${name} ${verdict.toLowerCase()}`,
      slos: [{ name: "latency_p95", verdict, measured: 1, measuredDisplay: "1ms", bar: "<= 20ms", detail: "d" }],
      ...over,
    }) as PhaseResult;
  const notRun = (name: string) => phase(name, "ERROR", { ran: false });
  const rbacCase = (name: string, actualStatus: number, verdict: "PASS" | "FAIL"): RbacCase => ({
    name,
    description: name,
    expectedStatus: 401,
    actualStatus,
    verdict,
  });

  test("a FAIL's reason lists the RBAC failure, then failed, errored and undecided phases, then those that did not run", () => {
    const r = evaluateRun([phase("a", "FAIL"), phase("b", "ERROR"), phase("c", "INCONCLUSIVE"), notRun("d")], {
      rbac: [rbacCase("no_credentials", 202, "FAIL"), rbacCase("bad_signature", 0, "FAIL")],
    });
    expect(r).toEqual({
      verdict: "FAIL",
      reason:
        "rbac: 1 of 2 credential cases failed (no_credentials expected 401 got 202); a: a fail; " +
        "rbac: 1 of 2 credential cases got no answer (bad_signature): the service could not be reached; b: b error; c: c inconclusive; d did not run",
    });
  });

  test("an RBAC case that passed is never counted, whatever status it saw", () => {
    const rbac = [rbacCase("all_valid", 0, "PASS"), rbacCase("no_credentials", 401, "PASS")];
    expect(evaluateRun([phase("a", "PASS")], { rbac })).toEqual({ verdict: "PASS", reason: "all 1 phase passed: a" });
  });

  test("with no phases, a wrong RBAC answer is a FAIL and an unanswered one an ERROR, each saying so", () => {
    expect(evaluateRun([], { rbac: [rbacCase("x", 202, "FAIL")] })).toEqual({
      verdict: "FAIL",
      reason: "rbac: 1 of 1 credential cases failed (x expected 401 got 202)",
    });
    expect(evaluateRun([], { rbac: [rbacCase("x", 0, "FAIL")] })).toEqual({
      verdict: "ERROR",
      reason: "rbac: 1 of 1 credential cases got no answer (x): the service could not be reached",
    });
    expect(evaluateRun([], { rbac: [] })).toEqual({ verdict: "ERROR", reason: "no phases were selected, so nothing was measured" });
  });

  test("an error outranks an undecided phase, also when later phases did not run", () => {
    expect(evaluateRun([phase("a", "INCONCLUSIVE"), phase("b", "ERROR"), notRun("c")])).toEqual({
      verdict: "ERROR",
      reason: "b: b error; a: a inconclusive; c did not run",
    });
    expect(evaluateRun([phase("a", "INCONCLUSIVE"), phase("b", "ERROR")])).toEqual({
      verdict: "ERROR",
      reason: "b: b error; a: a inconclusive",
    });
    expect(evaluateRun([phase("a", "INCONCLUSIVE"), phase("b", "INCONCLUSIVE")])).toEqual({
      verdict: "INCONCLUSIVE",
      reason: "a: a inconclusive; b: b inconclusive",
    });
    expect(evaluateRun([phase("a", "PASS"), notRun("b")])).toEqual({ verdict: "ERROR", reason: "b did not run" });
  });

  test("a phase whose verdict is NOT_RUN did not run, even if it is marked as run", () => {
    expect(evaluateRun([phase("a", "PASS"), phase("b", "NOT_RUN")])).toEqual({ verdict: "ERROR", reason: "b did not run" });
    expect(evaluateRun([phase("a", "INCONCLUSIVE"), phase("b", "NOT_RUN")])).toEqual({
      verdict: "INCONCLUSIVE",
      reason: "a: a inconclusive; b did not run",
    });
  });

  test("a phase marked with a run's verdict (PARTIAL) is not a phase's verdict: ERROR", () => {
    expect(evaluateRun([phase("a", "PARTIAL")])).toEqual({ verdict: "ERROR", reason: "a: a phase cannot be PARTIAL" });
  });

  test("a run of every phase of the gate is not partial; one phase fewer is", () => {
    expect(evaluateRun([phase("a", "PASS"), phase("b", "PASS")], { gatePhases: 2 })).toEqual({
      verdict: "PASS",
      reason: "all 2 phases passed: a, b",
    });
    expect(evaluateRun([phase("a", "PASS")], { gatePhases: 2, partialRuns: "PASS" })).toEqual({
      verdict: "PASS",
      reason: "all 1 phase passed: a; a partial run (1 of the gate's 2 phases), which the gate's partial_runs: PASS accepts",
    });
  });

  test("a PASS phase is checked objective by objective, and each one short of PASS is named", () => {
    const slos = ["latency_p95", "acceptance", "error_rate"].map((name, i) => ({
      name,
      verdict: (i === 0 ? "PASS" : "INCONCLUSIVE") as Verdict,
      measured: 1,
      measuredDisplay: "1",
      bar: "b",
      detail: "d",
    }));
    expect(evaluateRun([phase("a", "PASS", { slos })])).toEqual({
      verdict: "ERROR",
      reason: "a: marked PASS but acceptance, error_rate did not pass",
    });
  });
});

describe("the early stop: the edges", () => {
  const gate = loadGate("gates/gate-a.yaml", {});
  const smoke = gate.phases[0] as Phase;
  const noErrorRate: Gate = { ...gate, slos: gate.slos.filter((s) => s.name !== "error_rate") };
  const budget = errorBudget(gate, smoke);

  test("a phase whose errors are exactly its budget can still pass; one more cannot", () => {
    expect(phaseCanStillPass(gate, smoke, { sent: 500, errors: budget.allowedErrors })).toBeNull();
    expect(phaseCanStillPass(gate, smoke, { sent: 500, errors: budget.allowedErrors + 1 })).toMatch(/^error budget spent: /);
  });

  test("without an error-rate objective, acceptance decides: unaccepted events exactly at its allowance can still pass", () => {
    const corpus = { distinctEvents: 980, redeliveries: 20 };
    const b = errorBudget(noErrorRate, smoke, corpus.distinctEvents);
    const allowed = corpus.redeliveries + b.allowedUnaccepted;
    expect(phaseCanStillPass(noErrorRate, smoke, { sent: 900, errors: allowed }, corpus)).toBeNull();
    expect(phaseCanStillPass(noErrorRate, smoke, { sent: 900, errors: allowed + 1 }, corpus)).toMatch(
      /^acceptance can no longer reach 99\.9%: /,
    );
  });

  test("without a corpus, the redeliveries are the phase's requests less its distinct events", () => {
    const b = errorBudget(noErrorRate, smoke);
    const redeliveries = smoke.requests - b.distinctEvents;
    expect(redeliveries).toBeGreaterThan(0);
    expect(phaseCanStillPass(noErrorRate, smoke, { sent: 900, errors: redeliveries + b.allowedUnaccepted })).toBeNull();
    expect(phaseCanStillPass(noErrorRate, smoke, { sent: 900, errors: redeliveries + b.allowedUnaccepted + 1 })).not.toBeNull();
  });

  test("a gate without acceptance or error-rate objectives never stops early", () => {
    const neither: Gate = { ...gate, slos: gate.slos.filter((s) => s.name !== "error_rate" && s.name !== "acceptance") };
    expect(phaseCanStillPass(neither, smoke, { sent: 1000, errors: 1000 })).toBeNull();
  });
});

describe("the P95 objective: the edges", () => {
  const gate = loadGate("gates/gate-a.yaml", {});
  const smoke = gate.phases[0] as Phase;
  const noBar: Gate = { ...gate, slos: gate.slos.filter((s) => s.name !== "latency_p95") };
  const fast = summarizeLatency(ramp(1000).map((x) => x / 100))!; // P95 9.5, CI 9.36..9.64
  const measured = (latency: LatencySummary | null, replay: object | null = { schedule: held(9) }) =>
    ({ replay, latency }) as unknown as PhaseMeasurement;
  const evaluate = (g: Gate, p: Phase, m: PhaseMeasurement) => latencyP95.judge(g, p)!.evaluate(m)!;

  test("a bar of zero can never be met and is refused; any bar above zero is taken", () => {
    expect(() => latencyP95.parseBar("0ms", "<=")).toThrow(/can never be met/);
    expect(latencyP95.parseBar("1ms", "<=")).toBe(1);
  });

  test("equal phase and gate-wide bars are the phase's; a tighter gate-wide bar is the gate's", () => {
    const at = (bar: number): Gate => ({ ...gate, slos: gate.slos.map((s) => (s.name === "latency_p95" ? { ...s, bar } : s)) });
    const slow = summarizeLatency(ramp(1000).map((x) => x + 500))!;
    const m = measured(slow, { schedule: held(1400) });
    expect(evaluate(at(smoke.latencyP95Ms), smoke, m).detail).toContain("(phase bar, over by");
    expect(evaluate(at(smoke.latencyP95Ms - 1), smoke, m).detail).toContain("(gate-wide bar, over by");
    expect(evaluate(noBar, smoke, m)).toMatchObject({ verdict: "FAIL", bar: `<= ${smoke.latencyP95Ms}ms` });
  });

  test("no replay, no summary or an empty one is not measured", () => {
    expect(evaluate(noBar, smoke, measured(fast, null)).detail).toBe("latency_p95 not measured: no replay was recorded");
    expect(evaluate(noBar, smoke, measured(null)).detail).toBe("latency_p95 not measured: no latency samples");
    expect(evaluate(noBar, smoke, measured({ ...fast, n: 0 })).detail).toBe("latency_p95 not measured: no latency samples");
  });

  test("an interval that is not a number, or does not hold its P95, is not usable: ERROR", () => {
    const bad = (over: Partial<LatencySummary>) => evaluate(noBar, smoke, measured({ ...fast, ...over }));
    for (const over of [
      { p95: Number.NaN },
      { p95Ci: [Number.NaN, 9.6] as [number, number] },
      { p95Ci: [9.3, Number.NaN] as [number, number] },
      { p95Ci: [9.3, 9.4] as [number, number] },
      { p95Ci: [9.6, 9.7] as [number, number] },
      { p95: Infinity, p95Ci: [9.3, Infinity] as [number, number] },
    ]) {
      expect(bad(over)).toMatchObject({ verdict: "ERROR", measuredDisplay: "not measured" });
      expect(bad(over).detail).toMatch(/the P95 confidence interval .* is not usable/);
    }
    // Bounds equal to the P95 are usable.
    expect(bad({ p95Ci: [9.5, 9.5] }).verdict).toBe("PASS");
  });

  test("a run judged at a stricter level shows the upper bounds it was judged on; the usual level shows none", () => {
    const strict = summarizeLatency(
      ramp(1000).map((x) => x / 100),
      { judgeAlpha: 0.0125 },
    )!;
    const { exact, batch } = strict.passBounds;
    expect(evaluate(noBar, smoke, measured(strict)).measuredDisplay).toContain(
      `; upper at 98.75%: ${formatMs(exact)}, windowed ${formatMs(batch!)}; n=1,000)`,
    );
    const noWindows = { ...strict, passBounds: { ...strict.passBounds, batch: null } };
    expect(evaluate(noBar, smoke, measured(noWindows)).measuredDisplay).toContain(`; upper at 98.75%: ${formatMs(exact)}; n=1,000)`);
    expect(evaluate(noBar, smoke, measured(fast)).measuredDisplay).not.toContain("upper at");
  });

  test("the windowed interval is shown with its effective sample size, when there is one", () => {
    const ess = `, ESS ${formatCount(Math.round(fast.effectiveSampleSize!))};`;
    expect(evaluate(noBar, smoke, measured(fast)).measuredDisplay).toContain(ess);
    const shown = evaluate(noBar, smoke, measured({ ...fast, effectiveSampleSize: null })).measuredDisplay;
    expect(shown).toContain(`windowed ${formatMs(fast.p95CiBatch![0])}-${formatMs(fast.p95CiBatch![1])}; n=1,000)`);
    expect(shown).not.toContain("ESS");
  });

  test("an upper bound beyond the sample is shown as unbounded", () => {
    const ten = summarizeLatency(ramp(10))!;
    expect(evaluate(noBar, smoke, measured(ten)).measuredDisplay).toBe("10ms (95% CI 8ms-unbounded; no windowed CI; n=10)");
  });
});

describe("judging a P95: where the reasons come from", () => {
  const slow = summarizeLatency(ramp(1000).map((x) => x + 500))!;

  test("a FAIL set aside for other work on the host gives that reason alone", () => {
    const j = judgeP95(slow, 100, held(1400), "phase bar", contention({ cleanFreeP95LowerMs: 50 }));
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).not.toContain("driver lag p99");
    expect(j.detail).not.toContain("upper CI");
    expect(j.detail).not.toContain("upper bound");
    expect(j.detail.endsWith("is 50ms, within the bar: rerun on a quiet machine")).toBe(true);
  });

  test("a summary whose upper rank lies beyond its samples is never a PASS, even with a finite bound", () => {
    const ranked = (exactRank: number): LatencySummary => ({ ...slow, passBounds: { ...slow.passBounds, exactRank } });
    expect(Number.isFinite(slow.passBounds.exact)).toBe(true);
    expect(judgeP95(ranked(slow.n), 1e9, held(1)).verdict).toBe("PASS");
    expect(judgeP95(ranked(slow.n + 1), 1e9, held(1)).verdict).toBe("INCONCLUSIVE");
  });
});

describe("the schedule at another rate than 1,000/s", () => {
  test("requests are due every 1000/rate ms: at 500/s, 5,001 requests reach 10 s, a third window", () => {
    const c = scheduleOf(5001, 500);
    expect(c.windows.map((w) => [w.fromMs, w.due])).toEqual([
      [0, 2500],
      [5000, 2500],
      [10_000, 1],
    ]);
    expect(c.rateHeld).toBe(true);
  });

  test("a rate that did not hold over the phase says by how much, against 99% of the target", () => {
    expect(scheduleOf(5000, 1000, (i) => (i * 1000) / 900).reason).toBe(
      "the driver offered 900 req/s over the phase, under 99% of the 1000 req/s target",
    );
  });
});

test("a FAIL that stands without the contended seconds says by how much it is over", () => {
  const slow = summarizeLatency(ramp(1000).map((x) => x + 500))!;
  const j = judgeP95(slow, 100, held(1400), "phase bar", contention({ cleanFreeP95LowerMs: 300 }));
  expect(j.verdict).toBe("FAIL");
  expect(j.detail).toContain("it is still 300ms (over by 200ms)");
});

describe("judging a P95: both lower bounds, and what the detail says", () => {
  const fast = summarizeLatency(ramp(1000).map((x) => x / 100))!; // P95 9.5, exact CI 9.36..9.64
  const s1000 = summarizeLatency(ramp(1000))!; // P95 950, exact CI 936..964

  test("a FAIL needs the exact lower bound, less the driver's delays, over the bar, however high the windowed one", () => {
    // A narrow windowed interval: less the driver's 6 ms, its lower bound is 939 ms, over a 935 ms bar; the exact one, 930 ms, is not.
    const narrow: LatencySummary = { ...s1000, p95CiBatch: [945, 955] };
    const j = judgeP95(narrow, 935, held(930));
    expect(j).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
    expect(j.detail).toContain("with the driver's own delays taken out (driver lag p99 0.5ms) the lower bound 930ms is within the bar");
    // Exactly at the bar is within it.
    const at = judgeP95(narrow, 935, held(935));
    expect(at.verdict).toBe("INCONCLUSIVE");
    expect(at.detail).toContain("the lower bound 935ms is within the bar");
    expect(judgeP95(narrow, 934, held(935)).verdict).toBe("FAIL");
  });

  test("an exact lower bound over the bar is named, with the windowed one within it or missing", () => {
    const within = judgeP95({ ...s1000, p95CiBatch: [900, 1000] }, 938, held(940));
    expect(within.verdict).toBe("INCONCLUSIVE");
    expect(within.detail).toContain(
      "with the driver's own delays taken out the exact lower bound 940ms is over the bar, but the windowed one, 904ms, is within it (20 windows of 50;",
    );
    const missing = judgeP95({ ...s1000, p95CiBatch: null }, 938, held(940));
    expect(missing.verdict).toBe("INCONCLUSIVE");
    expect(missing.detail).toContain(
      "with the driver's own delays taken out the exact lower bound 940ms is over the bar, but there is no windowed interval to confirm it",
    );
  });

  test("a PASS needs the exact upper bound within the bar too, not only the windowed one", () => {
    const j = judgeP95({ ...s1000, passBounds: { ...s1000.passBounds, batch: 950 } }, 960, held(9));
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).toContain("the exact upper bound at 97.5%, 964ms, is over the 960ms bar");
  });

  test("without a windowed interval, 200 samples or more say it is missing, not that they are too few", () => {
    const noBatch = (s: LatencySummary): LatencySummary => ({ ...s, passBounds: { ...s.passBounds, batch: null } });
    const runners = "there is no windowed interval: a window of the phase holds fewer than 20 answers";
    expect(judgeP95(noBatch(fast), 100, held(9)).detail).toContain(runners);
    const s200 = judgeP95(noBatch(summarizeLatency(ramp(200))!), 1e9, held(1)).detail;
    expect(s200).toContain(runners);
    expect(s200).not.toContain("too few for the windowed interval");
  });

  test("a rate that held is not named among the reasons", () => {
    const j = judgeP95(fast, 9.4, held(null));
    expect(j.verdict).toBe("INCONCLUSIVE");
    expect(j.detail).not.toContain("offered rate");
  });

  test("the windows clause gives the effective sample size, or says it is not estimable", () => {
    const over = judgeP95(fast, 9.4, held(9));
    expect(over.detail).toContain(
      `(20 windows of 50; effective sample size ${formatCount(Math.round(fast.effectiveSampleSize!))} of 1,000)`,
    );
    const none = judgeP95({ ...fast, effectiveSampleSize: null }, 9.4, held(9));
    expect(none.detail).toContain("(20 windows of 50; effective sample size not estimable of 1,000)");
  });
});

describe("the schedule of a shard: its own due times", () => {
  /** Two requests of a shard, due (and sent) at 0 and 12 s: the window between holds none. */
  const shard = () =>
    checkSchedule({
      targetRate: 1000,
      dispatched: 2,
      dispatchedAt: Float64Array.from([0, 12_000]),
      dueAt: Float64Array.from([0, 12_000]),
      latencies: [1],
      ownLags: [0.1],
    });

  test("windows follow the given due times, and a window with none due is at the target rate", () => {
    expect(shard().windows.map((w) => [w.fromMs, w.due, w.dispatched, w.rate])).toEqual([
      [0, 1, 1, 1000],
      [5000, 0, 0, 1000],
      [10_000, 1, 1, 1000],
    ]);
  });

  test("the dispatch span is the first and the last dispatch; nothing sent has none", () => {
    expect(shard().dispatchSpanMs).toEqual([0, 12_000]);
    expect(scheduleOf(3, 1000, (i) => 7 + i).dispatchSpanMs).toEqual([7, 9]);
    expect(Object.keys(scheduleOf(0, 1000))).not.toContain("dispatchSpanMs");
  });
});
