import { checkSchedule, judgeP95, RATE_WINDOW_MS } from "../../../src/gates/verdict/replay-validity.js";
import { summarizeLatency } from "../../../src/gates/verdict/statistics.js";

/** A schedule of n requests at `rate`, each dispatched at its due time plus lag(i) ms. */
function schedule(n: number, rate: number, lag: (i: number, dueMs: number) => number = () => 0.2) {
  const dispatchedAt = new Float64Array(n);
  for (let i = 0; i < n; i++) dispatchedAt[i] = (i * 1000) / rate + lag(i, (i * 1000) / rate);
  return dispatchedAt;
}

describe("the rate-held check", () => {
  test("a driver on time holds the rate over the phase and in every 5-second window", () => {
    const c = checkSchedule({ targetRate: 1000, dispatched: 30_000, dispatchedAt: schedule(30_000, 1000), latencies: [1], ownLags: [0.2] });
    expect(c.rateHeld).toBe(true);
    expect(c.windows).toHaveLength(6);
    expect(c.windows.every((w) => w.due === 5000 && w.dispatched === 5000)).toBe(true);
    expect(c.achievedRate).toBeCloseTo(1000, 0);
    expect(c.reason).toBeUndefined();
  });

  test("a 300 ms stall inside a window, caught up in that window, does not break the rate: the lag is in every latency", () => {
    const c = checkSchedule({
      targetRate: 1000,
      dispatched: 15_000,
      dispatchedAt: schedule(15_000, 1000, (_, due) => (due >= 6000 && due < 6300 ? 6300 - due : 0.2)),
      latencies: [1],
      ownLags: [0.2],
    });
    expect(c.rateHeld).toBe(true);
  });

  test("a driver that slowed to 95% in one window fails the rate even though the phase as a whole reached 99%", () => {
    // Window 5-10 s: the driver falls steadily behind, 250 ms by its end, then catches up at once.
    const c = checkSchedule({
      targetRate: 1000,
      dispatched: 30_000,
      dispatchedAt: schedule(30_000, 1000, (_, due) => (due >= 5000 && due < 10_000 ? ((due - 5000) / 5000) * 260 : 0.2)),
      latencies: [1],
      ownLags: [0.2],
    });
    expect(c.achievedRate).toBeGreaterThan(990);
    expect(c.rateHeld).toBe(false);
    expect(c.slowestWindow).toMatchObject({ fromMs: RATE_WINDOW_MS, toMs: 2 * RATE_WINDOW_MS });
    expect(c.reason).toMatch(/^the driver offered 9\d\d req\/s in the window 5s-10s, under 99% of the 1000 req\/s target$/);
  });

  test("a driver that could not reach the rate at all fails it over the phase", () => {
    const c = checkSchedule({ targetRate: 1000, dispatched: 5000, dispatchedAt: schedule(5000, 900), latencies: [1], ownLags: [0.2] });
    expect(c.rateHeld).toBe(false);
    expect(c.reason).toMatch(/offered 900 req\/s over the phase/);
  });

  test("nothing sent holds nothing", () => {
    const c = checkSchedule({ targetRate: 1000, dispatched: 0, dispatchedAt: new Float64Array(0), latencies: [], ownLags: [] });
    expect(c.rateHeld).toBe(false);
    expect(c.reason).toBe("no request was sent");
    expect(c.driverFreeP95LowerMs).toBeNull();
  });
});

describe("the driver-free lower bound", () => {
  test("is the latency at the lower rank, less the driver's lag p99, when no request lagged beyond it", () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => i + 1);
    const c = checkSchedule({
      targetRate: 1000,
      dispatched: 1000,
      dispatchedAt: schedule(1000, 1000),
      latencies,
      ownLags: new Array(1000).fill(3),
    });
    expect(c.sendLagP99Ms).toBe(3);
    expect(c.lagAboveP99).toBe(0);
    expect(c.driverFreeP95LowerMs).toBe(936 - 3);
  });

  test("sets the requests that lagged beyond the p99 aside, as if they were the slowest ones", () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => i + 1);
    const ownLags = Array.from({ length: 1000 }, (_, i) => (i < 10 ? 500 : 3));
    const c = checkSchedule({ targetRate: 1000, dispatched: 1000, dispatchedAt: schedule(1000, 1000), latencies, ownLags });
    expect(c.sendLagP99Ms).toBe(3);
    expect(c.lagAboveP99).toBe(10);
    expect(c.driverFreeP95LowerMs).toBe(926 - 3);
  });
});

/** 0 .. n-1 in a fixed shuffled order: latencies that do not trend over the phase, as independent ones would not. */
function shuffled(n: number): number[] {
  const values = Array.from({ length: n }, (_, i) => i);
  let state = 4242;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

describe("judging a P95 against its bar", () => {
  const fast = summarizeLatency(shuffled(1000).map((i) => 1 + i / 100))!; // P95 10.5, CI 10.35-10.63
  const slow = summarizeLatency(shuffled(1000).map((i) => 100 + i))!; // P95 1049, CI 1035-1063; bar 1040 sits inside it
  const on = (driverFreeP95LowerMs: number | null, over: object = {}) => ({
    targetRate: 1000,
    achievedRate: 1000,
    rateHeld: true,
    windows: [],
    slowestWindow: null,
    sendLagP99Ms: 0.3,
    lagAboveP99: 0,
    driverFreeP95LowerMs,
    ...over,
  });

  test("PASS stands on the upper bound when the rate held, whatever the driver's lag", () => {
    expect(judgeP95(fast, 20, on(10, { sendLagP99Ms: 14.8 })).verdict).toBe("PASS");
  });

  test("FAIL stands on the driver-free lower bound, whether the rate held or not", () => {
    expect(judgeP95(slow, 120, on(1000, { rateHeld: false, reason: "slow" })).verdict).toBe("FAIL");
  });

  test("in between it is INCONCLUSIVE and says which way and by how much", () => {
    const j = judgeP95(fast, 20, on(10, { rateHeld: false, reason: "the driver offered 940 req/s in the window 0s-5s" }));
    expect(j).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "PASS" });
    expect(j.byMs).toBeCloseTo(20 - fast.p95, 6);
    const k = judgeP95(slow, 1040, on(1030));
    expect(k).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
  });

  // The edges of the rule, each one a mutant a weaker test let live.
  test("the exact 95% interval of 1,000 samples is ranks 936..964 (two one-sided 97.5% bounds, not 95%)", () => {
    expect(fast.p95CiRanks).toEqual([936, 964]);
  });

  test("a point estimate within the bar is not a PASS while an upper bound is over it", () => {
    const upper = Math.max(fast.p95Ci[1], fast.p95CiBatch![1]);
    const bar = (fast.p95 + Math.min(fast.p95Ci[1], fast.p95CiBatch![1])) / 2;
    expect(fast.p95).toBeLessThan(bar);
    expect(judgeP95(fast, bar, on(fast.p95Ci[0] - 0.3)).verdict).toBe("INCONCLUSIVE");
    expect(judgeP95(fast, upper - 0.001, on(fast.p95Ci[0] - 0.3)).verdict).toBe("INCONCLUSIVE");
    expect(judgeP95(fast, upper, on(fast.p95Ci[0] - 0.3)).verdict).toBe("PASS");
  });

  test("a driver-free lower bound exactly at the bar is not a FAIL: FAIL needs both over the bar", () => {
    // The windowed lower bound is given the same allowance for the driver as the exact one (1035 → 1030).
    const windowedFree = slow.p95CiBatch![0] - (slow.p95Ci[0] - 1030);
    const edge = Math.min(1030, windowedFree);
    expect(judgeP95(slow, edge, on(1030)).verdict).toBe("INCONCLUSIVE");
    expect(judgeP95(slow, edge - 0.01, on(1030)).verdict).toBe("FAIL");
  });
});
