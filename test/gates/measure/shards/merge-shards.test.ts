import type { ReplayResult, RequestOutcome, RequestSample } from "../../../../src/gates/model/gate-run-record.js";
import { checkSchedule } from "../../../../src/gates/verdict/replay-validity.js";
import {
  bucketOfMs,
  mergeShards,
  newHdr,
  recordMs,
  shardOfKey,
  splitSchedule,
  summarizeShard,
  MergeError,
  type RunnerInfo,
  type ShardSummary,
} from "../../../../src/gates/measure/shards/index.js";
import {
  p95ConfidenceRanks,
  p95WindowBounds,
  p95Windows,
  sortAscending,
  summarizeLatency,
} from "../../../../src/gates/verdict/statistics.js";
import { judgeP95 } from "../../../../src/gates/verdict/replay-validity.js";

/** mulberry32: a small seeded generator, so a failing split can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const runner = (k: number): RunnerInfo => ({
  id: `runner-${k}`,
  host: "test",
  pid: 1000 + k,
  version: "0.0.0",
  clock: { offsetMs: 0, uncertaintyMs: 0.1, rttMs: 0.2, samples: 8 },
});

interface PhaseData {
  rate: number;
  keys: string[];
  latency: Float64Array;
  ownLag: Float64Array;
  outcome: RequestOutcome[];
}

/** A phase's raw record: latencies with a slow tail and stalls, lags mostly small, a few outcomes that are not accepted. */
function phaseData(random: () => number, n: number): PhaseData {
  const keys: string[] = [];
  const latency = new Float64Array(n);
  const ownLag = new Float64Array(n);
  const outcome: RequestOutcome[] = [];
  const stallAt = Math.floor(random() * n);
  for (let i = 0; i < n; i++) {
    keys.push(`phase/repo-${Math.floor(random() * 97)}`);
    const base = Math.exp(Math.log(2) + random() * 2.5);
    latency[i] = Math.abs(i - stallAt) < n / 50 ? base + random() * 300 : random() < 0.03 ? base * 20 : base;
    ownLag[i] = random() < 0.02 ? random() * 40 : random() * 0.3;
    const r = random();
    outcome.push(r < 0.9 ? "accepted" : r < 0.95 ? "duplicate" : r < 0.98 ? "error" : "timeout");
  }
  return { rate: 1000, keys, latency, ownLag, outcome };
}

/** What shard `part` would have recorded, as a ReplayResult of its own events (local indexes). */
function shardResult(
  d: PhaseData,
  part: { indices: Int32Array; dueAt: Float64Array },
  shards: number,
  answered: (global: number) => boolean = () => true,
): ReplayResult {
  const samples: RequestSample[] = [];
  const dispatchedAt = new Float64Array(part.indices.length);
  part.indices.forEach((g, j) => {
    const dueAt = part.dueAt[j];
    const sentAt = dueAt + d.ownLag[g];
    dispatchedAt[j] = dueAt;
    if (!answered(g)) return;
    samples.push({
      index: j,
      eventId: `evt_${g}`,
      orderingKey: d.keys[g],
      seq: 1,
      redelivery: false,
      dueAt,
      sentAt,
      doneAt: dueAt + d.latency[g],
      latencyMs: d.latency[g],
      sendLagMs: d.ownLag[g],
      ownLagMs: d.ownLag[g],
      status: d.outcome[g] === "timeout" ? 0 : d.outcome[g] === "error" ? 503 : 202,
      outcome: d.outcome[g],
      requestId: `req_${g}`,
    });
  });
  const schedule = checkSchedule({
    targetRate: (d.rate * part.indices.length) / d.keys.length,
    dispatched: part.indices.length,
    dispatchedAt,
    latencies: samples.map((s) => s.latencyMs),
    ownLags: samples.map((s) => s.ownLagMs!),
    dueAt: part.dueAt,
  });
  void shards;
  return {
    samples,
    startedAt: new Date(0).toISOString(),
    durationMs: 0,
    targetRate: d.rate,
    achievedRate: schedule.achievedRate,
    sendLagP99Ms: schedule.sendLagP99Ms,
    valid: schedule.rateHeld,
    schedule,
    driverCpuUs: 1000,
  };
}

function shardsOf(d: PhaseData, shards: number, answered?: (global: number) => boolean) {
  const parts = splitSchedule(
    d.keys.map((k) => ({ orderingKey: k })),
    shards,
    d.rate,
  );
  return parts.map((p) =>
    summarizeShard(
      shardResult(d, p, shards, answered),
      { shard: p.shard, shards, indices: p.indices, totalRequests: d.keys.length },
      runner(p.shard),
    ),
  );
}

describe("the shard split", () => {
  test("keeps every ordering key on one shard and every event on exactly one, in the global schedule", () => {
    const random = rng(7);
    const keys = Array.from({ length: 5000 }, () => `load/repo-${Math.floor(random() * 300)}`);
    const parts = splitSchedule(
      keys.map((k) => ({ orderingKey: k })),
      3,
      500,
    );
    const seen = new Int32Array(keys.length);
    for (const p of parts) {
      p.indices.forEach((g, j) => {
        seen[g]++;
        expect(shardOfKey(keys[g], 3)).toBe(p.shard);
        expect(p.dueAt[j]).toBe(g * (1000 / 500));
        if (j > 0) expect(g).toBeGreaterThan(p.indices[j - 1]);
      });
    }
    expect([...seen].every((c) => c === 1)).toBe(true);
  });

  test("one shard is the whole phase", () => {
    const parts = splitSchedule([{ orderingKey: "a" }, { orderingKey: "b" }], 1, 100);
    expect([...parts[0].indices]).toEqual([0, 1]);
  });
});

describe("the merge of shards' histograms", () => {
  test("over random splits, the merged P95 interval is the exact-rank interval over all raw samples, within one HDR bucket, on the safe side", () => {
    for (let trial = 0; trial < 30; trial++) {
      const random = rng(1000 + trial);
      const n = 72 + Math.floor(random() * 6000);
      const shards = 1 + Math.floor(random() * 6);
      const d = phaseData(random, n);
      const merged = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: n });
      const exact = summarizeLatency(d.latency)!;
      const got = merged.latency!;
      const h = newHdr();
      expect(got.n).toBe(n);
      expect(got.p95CiRanks).toEqual(exact.p95CiRanks);
      // Upper bound: never below the exact one (toward PASS only with proof), and the exact one's bucket edge.
      expect(got.p95Ci[1]).toBeGreaterThanOrEqual(exact.p95Ci[1]);
      expect(got.p95Ci[1]).toBe(bucketOfMs(h, exact.p95Ci[1]).upperMs);
      // Lower bound: never above the exact one (toward FAIL only with proof), and the exact one's bucket edge.
      expect(got.p95Ci[0]).toBeLessThanOrEqual(exact.p95Ci[0]);
      expect(got.p95Ci[0]).toBe(bucketOfMs(h, exact.p95Ci[0]).lowerMs);
      // One bucket: 3 significant digits is at most 0.1% of the value (plus the µs of rounding).
      expect(got.p95Ci[1] - exact.p95Ci[1]).toBeLessThanOrEqual(exact.p95Ci[1] * 0.001 + 0.001);
      expect(exact.p95Ci[0] - got.p95Ci[0]).toBeLessThanOrEqual(exact.p95Ci[0] * 0.001 + 0.001);
      expect(got.p95).toBe(bucketOfMs(h, exact.p95).upperMs);
    }
  });

  test("the merge is exact: any split gives the same histogram, interval and counts as one shard", () => {
    const random = rng(42);
    const d = phaseData(random, 3000);
    const one = mergeShards(shardsOf(d, 1), { shards: 1, targetRate: d.rate, totalRequests: 3000 });
    for (const shards of [2, 3, 5]) {
      const many = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: 3000 });
      expect(many.latency).toEqual(one.latency);
      expect(many.counts).toEqual(one.counts);
      expect(many.accepted).toEqual(one.accepted);
      expect(many.schedule.driverFreeP95LowerMs).toBe(one.schedule.driverFreeP95LowerMs);
      expect(many.windows.map((w) => [w.window, w.fromIndex, w.toIndex, w.n, w.p95])).toEqual(
        one.windows.map((w) => [w.window, w.fromIndex, w.toIndex, w.n, w.p95]),
      );
      expect(many.windows).toHaveLength(20);
      expect(many.schedule.windows.map((w) => [w.due, w.dispatched])).toEqual(one.schedule.windows.map((w) => [w.due, w.dispatched]));
    }
  });

  test("the merged rate windows and the validity rule agree with one driver's check over the whole schedule", () => {
    const random = rng(3);
    const d = phaseData(random, 12_000);
    const merged = mergeShards(shardsOf(d, 3), { shards: 3, targetRate: d.rate, totalRequests: 12_000 });
    const whole = checkSchedule({
      targetRate: d.rate,
      dispatched: 12_000,
      dispatchedAt: Float64Array.from({ length: 12_000 }, (_, i) => i),
      latencies: d.latency,
      ownLags: d.ownLag,
    });
    expect(merged.schedule.windows.map((w) => [w.fromMs, w.due, w.dispatched])).toEqual(
      whole.windows.map((w) => [w.fromMs, w.due, w.dispatched]),
    );
    expect(merged.schedule.rateHeld).toBe(true);
    expect(merged.schedule.achievedRate).toBeCloseTo(whole.achievedRate, 6);
    // The driver-free lower bound from buckets is never above the one from raw samples' ranks less the bucketed lag.
    const sorted = sortAscending(d.latency);
    const [lower] = p95ConfidenceRanks(12_000);
    const m = merged.schedule.lagAboveP99;
    expect(merged.schedule.sendLagP99Ms).toBeGreaterThanOrEqual(whole.sendLagP99Ms);
    expect(merged.schedule.driverFreeP95LowerMs!).toBeLessThanOrEqual(sorted[lower - m - 1] - merged.schedule.sendLagP99Ms + 1e-9);
  });

  test("a shard that dropped its share of the load makes the merged rate fail in its window", () => {
    const random = rng(5);
    const d = phaseData(random, 12_000);
    const summaries = shardsOf(d, 3);
    const w = summaries[1].rateWindows[1];
    w.dispatched = Math.floor(w.dispatched / 2);
    const merged = mergeShards(summaries, { shards: 3, targetRate: d.rate, totalRequests: 12_000 });
    expect(merged.schedule.rateHeld).toBe(false);
    expect(merged.schedule.reason).toMatch(/window 5s-10s/);
  });

  test("a missing or doubled shard is no phase: the merge refuses it", () => {
    const d = phaseData(rng(9), 500);
    const s = shardsOf(d, 3);
    expect(() => mergeShards([s[0], s[2]], { shards: 3, targetRate: d.rate, totalRequests: 500 })).toThrow(MergeError);
    expect(() => mergeShards([s[0], s[1], s[1], s[2]], { shards: 3, targetRate: d.rate, totalRequests: 500 })).toThrow(/more than once/);
  });

  test("recorded values keep their true value inside the bucket they report", () => {
    const h = newHdr();
    for (const v of [0.0004, 1.23456, 17.9999, 250.5, 12_345.678]) {
      recordMs(h, v);
      const b = bucketOfMs(h, v);
      expect(b.lowerMs).toBeLessThanOrEqual(v);
      expect(b.upperMs).toBeGreaterThan(v);
    }
  });
});

/** Latencies that come in runs: a level held for 100 requests at a time, each request within 10% of it. */
function inRuns(random: () => number, n: number): PhaseData {
  const d = phaseData(random, n);
  let level = 0;
  for (let i = 0; i < n; i++) {
    if (i % 100 === 0) level = 5 + 20 * random();
    d.latency[i] = level * (1 + 0.1 * random());
  }
  return d;
}

describe("the windowed P95 interval from shards' histograms", () => {
  const within = (got: number, raw: number, share: number) => expect(Math.abs(got - raw)).toBeLessThanOrEqual(raw * share);

  test("over splits by key hash into 1, 2 and 3 shards: the same windows as one driver's, each window's P95 inside its merged bucket, the bounds on the safe side within 1%", () => {
    for (let trial = 0; trial < 12; trial++) {
      const random = rng(500 + trial);
      const n = 200 + Math.floor(random() * 6000);
      const d = phaseData(random, n);
      const raw = summarizeLatency(d.latency)!;
      const rawWindows = p95Windows(d.latency);
      expect(raw.p95CiBatch).not.toBeNull();
      for (const shards of [1, 2, 3]) {
        const merged = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: n });
        const got = merged.latency!;
        expect(merged.windows).toHaveLength(rawWindows.length);
        merged.windows.forEach((w, j) => {
          const [from, to] = p95WindowBounds(j, n, rawWindows.length);
          expect([w.window, w.fromIndex, w.toIndex, w.n]).toEqual([j, from, to, to - from]);
          expect(w.p95!.lowerMs).toBeLessThanOrEqual(rawWindows[j]);
          expect(w.p95!.upperMs).toBeGreaterThan(rawWindows[j]);
        });
        expect(got.windows!.count).toBe(raw.windows!.count);
        expect(got.windows!.size).toBe(raw.windows!.size);
        // Upper bound (a PASS rests on it): never below the one-machine bound, and within 1% of it.
        expect(got.p95CiBatch![1]).toBeGreaterThanOrEqual(raw.p95CiBatch![1]);
        within(got.p95CiBatch![1], raw.p95CiBatch![1], 0.01);
        expect(got.passBounds.batch!).toBeGreaterThanOrEqual(raw.passBounds.batch!);
        within(got.passBounds.batch!, raw.passBounds.batch!, 0.01);
        // Lower bound (a FAIL rests on it): never above the one-machine bound, and within 1% of it.
        expect(got.p95CiBatch![0]).toBeLessThanOrEqual(raw.p95CiBatch![0]);
        within(got.p95CiBatch![0], raw.p95CiBatch![0], 0.01);
        // The standard error is widened for the buckets, never narrowed: the effective sample size is never flattered.
        expect(got.windows!.standardError).toBeGreaterThanOrEqual(raw.windows!.standardError);
        expect(got.effectiveSampleSize!).toBeGreaterThan(0);
      }
    }
  });

  test("at the run's stricter level (α 0.00625) both PASS bounds are higher than at 0.025, and on the safe side of one driver's at that level", () => {
    const d = phaseData(rng(77), 5000);
    const rawStrict = summarizeLatency(d.latency, { judgeAlpha: 0.00625 })!;
    for (const shards of [1, 2, 3]) {
      const usual = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: 5000 }).latency!;
      const strict = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: 5000, judgeAlpha: 0.00625 }).latency!;
      expect(usual.passBounds.oneSidedAlpha).toBe(0.025);
      expect(strict.passBounds.oneSidedAlpha).toBe(0.00625);
      expect(strict.passBounds.exactRank).toBe(p95ConfidenceRanks(5000, 0.00625)[1]);
      expect(strict.passBounds.exactRank).toBeGreaterThan(usual.passBounds.exactRank);
      expect(strict.passBounds.exact).toBeGreaterThan(usual.passBounds.exact);
      expect(strict.passBounds.batch!).toBeGreaterThan(usual.passBounds.batch!);
      // The 95% intervals do not move with the PASS level.
      expect(strict.p95Ci).toEqual(usual.p95Ci);
      expect(strict.p95CiBatch).toEqual(usual.p95CiBatch);
      expect(strict.passBounds.exact).toBe(bucketOfMs(newHdr(), rawStrict.passBounds.exact).upperMs);
      expect(strict.passBounds.batch!).toBeGreaterThanOrEqual(rawStrict.passBounds.batch!);
      within(strict.passBounds.batch!, rawStrict.passBounds.batch!, 0.01);
    }
  });

  test("latencies in runs give a windowed interval wider than the exact one, and an ESS far below n, on shards as on one machine", () => {
    const d = inRuns(rng(31), 4000);
    const raw = summarizeLatency(d.latency)!;
    const width = (ci: [number, number]) => ci[1] - ci[0];
    expect(width(raw.p95CiBatch!)).toBeGreaterThan(2 * width(raw.p95Ci));
    expect(raw.effectiveSampleSize!).toBeLessThan(4000 / 4);
    for (const shards of [1, 2, 3]) {
      const got = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: 4000 }).latency!;
      expect(width(got.p95CiBatch!)).toBeGreaterThan(2 * width(got.p95Ci));
      expect(got.effectiveSampleSize!).toBeLessThan(4000 / 4);
      expect(got.p95CiBatch![1]).toBeGreaterThanOrEqual(raw.p95CiBatch![1]);
      expect(got.p95CiBatch![0]).toBeLessThanOrEqual(raw.p95CiBatch![0]);
      // A bar between the exact upper bound and the windowed one: the exact one alone would pass it, the windowed one does not.
      const bar = (got.passBounds.exact + got.passBounds.batch!) / 2;
      expect(got.passBounds.exact).toBeLessThan(bar);
      expect(
        judgeP95(got, bar, mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: 4000 }).schedule).verdict,
      ).toBe("INCONCLUSIVE");
    }
  });

  test("a fast sharded phase under its bar PASSes on both upper bounds, as on one machine", () => {
    const d = phaseData(rng(12), 3000);
    const raw = summarizeLatency(d.latency)!;
    for (const shards of [1, 3]) {
      const merged = mergeShards(shardsOf(d, shards), { shards, targetRate: d.rate, totalRequests: 3000 });
      const bar = Math.max(merged.latency!.passBounds.exact, merged.latency!.passBounds.batch!) * 1.01;
      expect(judgeP95(raw, bar, merged.schedule).verdict).toBe("PASS");
      const j = judgeP95(merged.latency!, bar, merged.schedule);
      expect(j.verdict).toBe("PASS");
      expect(j.detail).toMatch(/exact .*, windowed .* \(20 windows of 150; effective sample size/);
    }
  });

  test("too few samples, or a window with under 20 answers: no windowed interval, and no PASS however fast", () => {
    const small = phaseData(rng(4), 199);
    for (const shards of [1, 2, 3]) {
      const merged = mergeShards(shardsOf(small, shards), { shards, targetRate: small.rate, totalRequests: 199 });
      expect(merged.windows).toEqual([]);
      expect(merged.latency!.p95CiBatch).toBeNull();
      expect(merged.latency!.windows).toBeNull();
      expect(merged.latency!.effectiveSampleSize).toBeNull();
      expect(merged.latency!.passBounds.batch).toBeNull();
      expect(merged.latency!.passBounds.exact).toBeLessThan(1e6);
      const j = judgeP95(merged.latency!, 1e6, merged.schedule);
      expect(j.verdict).toBe("INCONCLUSIVE");
      expect(j.detail).toMatch(/199 samples are too few for the windowed interval/);
    }
    // 1,000 requests are 20 windows of 50; 35 of window 5's (positions 250..299) went unanswered: 15 answers are too few.
    const d = phaseData(rng(6), 1000);
    const unanswered = (g: number) => g >= 260 && g < 295;
    for (const shards of [1, 2, 3]) {
      const merged = mergeShards(
        shardsOf(d, shards, (g) => !unanswered(g)),
        { shards, targetRate: d.rate, totalRequests: 1000 },
      );
      expect(merged.windows[5].n).toBe(15);
      expect(merged.latency!.n).toBe(965);
      expect(merged.latency!.p95CiBatch).toBeNull();
      expect(merged.latency!.passBounds.batch).toBeNull();
      const j = judgeP95(merged.latency!, 1e6, merged.schedule);
      expect(j.verdict).toBe("INCONCLUSIVE");
      expect(j.detail).toMatch(/a window of the phase holds fewer than 20 answers/);
    }
  });

  test("a shard summary whose latency windows are not the phase's windows (an older runner's, by due time) is refused", () => {
    const d = phaseData(rng(8), 1000);
    const s = shardsOf(d, 2);
    const old = { ...s[1], latencyWindows: s[1].latencyWindows.map((w) => ({ fromMs: 0, hdr: w.hdr })) } as unknown as ShardSummary;
    expect(() => mergeShards([s[0], old], { shards: 2, targetRate: d.rate, totalRequests: 1000 })).toThrow(
      /shard 1 \(runner-1\) sent a latency window undefined that is not one of the phase's 20 windows/,
    );
    const short = { ...s[1], latencyWindows: s[1].latencyWindows.slice(1) };
    expect(() => mergeShards([s[0], short], { shards: 2, targetRate: d.rate, totalRequests: 1000 })).toThrow(
      /its latency windows hold \d+ samples, its latency histogram \d+/,
    );
  });
});
