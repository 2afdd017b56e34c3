// The adaptive batch linger: first as a rule (pure), then a worker using it against real Redis and
// PostgreSQL: a steady stream shares few transactions, a backlog goes in full batches, a lone event
// is not kept waiting.

import { BatchLinger } from "../../../src/ingest-service/workers/batch-linger.js";
import { startIngestWorker } from "../../../src/ingest-service/workers/worker.js";
import type { WorkerOptions } from "../../../src/ingest-service/config.js";
import { eachTestInQueueMode, postWebhook, waitFor, workerOptions } from "../support/ingest-fixture.js";

describe("the linger rule", () => {
  const settings = { batchSize: 50, minMs: 5, maxMs: 100 };

  test("a full batch is written at once, and 0 ms turns lingering off", () => {
    expect(new BatchLinger(settings).waitMs(50)).toBe(0);
    expect(new BatchLinger({ ...settings, minMs: 0 }).waitMs(1)).toBe(0);
  });

  test("before any rate is known it waits the floor", () => {
    expect(new BatchLinger(settings).waitMs(1)).toBe(5);
  });

  test("it waits as long as the observed rate needs to fill the batch, within floor and ceiling", () => {
    const l = new BatchLinger(settings);
    l.observe(10, 50); // 200 events/s: 40 missing need 200 ms, over the ceiling
    expect(l.ratePerS).toBeCloseTo(200);
    expect(l.waitMs(10)).toBe(100);
    const fast = new BatchLinger(settings);
    fast.observe(40, 4); // 10,000 events/s: 10 missing need 1 ms, under the floor
    expect(fast.waitMs(40)).toBe(5);
    const mid = new BatchLinger(settings);
    mid.observe(20, 20); // 1,000 events/s: 30 missing need 30 ms
    expect(mid.waitMs(20)).toBeCloseTo(30);
  });

  test("a trickle too slow to bring one more event within the ceiling waits only the floor", () => {
    const l = new BatchLinger(settings);
    l.observe(1, 1000); // 1 event/s
    expect(l.waitMs(1)).toBe(5);
  });

  test("the rate follows the traffic: a burst after a trickle raises the wait", () => {
    const l = new BatchLinger(settings);
    l.observe(1, 1000);
    const before = l.waitMs(1);
    l.observe(50, 100);
    l.observe(50, 100);
    expect(l.waitMs(1)).toBeGreaterThan(before);
  });
});

describe("the wait before a read (a busy stream's batch in one read)", () => {
  const settings = { batchSize: 50, minMs: 5, maxMs: 100 };

  test("with no rate known, or lingering off, it does not wait: the worker blocks for the first event", () => {
    expect(new BatchLinger(settings).waitBeforeReadMs(0)).toBe(0);
    const off = new BatchLinger({ ...settings, minMs: 0 });
    off.observe(50, 50);
    expect(off.waitBeforeReadMs(0)).toBe(0);
  });

  test("a busy stream: as long as the rate needs to bring 90% of a batch, less the time since the last read", () => {
    const l = new BatchLinger(settings);
    l.observe(50, 50); // 1,000 events/s: 45 events take 45 ms
    expect(l.waitBeforeReadMs(0)).toBeCloseTo(45);
    expect(l.waitBeforeReadMs(20)).toBeCloseTo(25);
    expect(l.waitBeforeReadMs(80)).toBe(0);
  });

  test("a stream too slow to fill the batch within the ceiling waits the ceiling, no longer", () => {
    const l = new BatchLinger(settings);
    l.observe(10, 50); // 200 events/s: a batch would take 250 ms
    expect(l.waitBeforeReadMs(0)).toBe(100);
    expect(l.waitBeforeReadMs(30)).toBe(70);
  });

  test("a trickle that brings not even one event within the ceiling does not wait before reading", () => {
    const l = new BatchLinger(settings);
    l.observe(1, 1000); // 1 event/s
    expect(l.waitBeforeReadMs(0)).toBe(0);
  });
});

describe("the stream's rate", () => {
  const settings = { batchSize: 50, minMs: 5, maxMs: 100 };

  test("a worker waits on the stream's rate, not on what it happened to read itself", () => {
    const greedy = new BatchLinger(settings);
    const starved = new BatchLinger(settings);
    greedy.observe(44, 54);
    starved.observe(17, 100);
    // Both see the group read 1,000 events/s: 45 events in 45 ms, for whichever holds the turn.
    for (const l of [greedy, starved]) {
      l.observeGroup(1000, 0);
      l.observeGroup(1100, 100);
      expect(l.ratePerS).toBeCloseTo(1000);
      expect(l.waitBeforeReadMs(0)).toBeCloseTo(45);
      expect(l.waitBeforeReadMs(30)).toBeCloseTo(15);
    }
    // Without the group's count (Redis before 7), each falls back on its own rate, and they differ.
    const a = new BatchLinger(settings);
    const b = new BatchLinger(settings);
    a.observe(44, 54);
    b.observe(17, 100);
    expect(a.waitBeforeReadMs(0)).toBeLessThan(b.waitBeforeReadMs(0));
  });

  test("reads a few ms apart do not move the rate; a count that went back (the group recreated) starts it afresh", () => {
    const l = new BatchLinger(settings);
    l.observeGroup(0, 0);
    l.observeGroup(100, 100); // 1 per ms
    l.observeGroup(150, 102); // 2 ms later: too short a span to say anything
    expect(l.ratePerS).toBeCloseTo(1000);
    l.observeGroup(200, 150); // over 50 ms since 100: 2 per ms, smoothed with 1
    expect(l.ratePerS).toBeCloseTo(1500);
    l.observeGroup(5, 200);
    expect(l.ratePerS).toBe(0);
  });

  test("a short read keeps collecting at the stream's rate, and never past the ceiling for what it holds", () => {
    const l = new BatchLinger(settings);
    l.observeGroup(0, 0);
    l.observeGroup(100, 100); // 1 per ms
    expect(l.waitMs(10)).toBeCloseTo(40);
    expect(l.waitMs(10, 80)).toBeCloseTo(20);
    expect(l.waitMs(10, 100)).toBe(0);
    expect(l.waitMs(50, 0)).toBe(0);
  });

  test("the group's count is read from an XINFO GROUPS reply, and nothing is made up when it is missing", async () => {
    const { groupState } = await import("../../../src/ingest-service/workers/worker.js");
    const reply = [
      ["name", "other", "consumers", 5, "pending", 0, "last-delivered-id", "0-0", "entries-read", 9, "lag", 0],
      ["name", "workers", "consumers", 2, "pending", 3, "last-delivered-id", "1-0", "entries-read", 1234, "lag", 0],
    ];
    expect(groupState(reply, "workers")).toEqual({ entriesRead: 1234, lag: 0 });
    expect(groupState([["name", "workers", "entries-read", 7, "lag", 120]], "workers")).toEqual({ entriesRead: 7, lag: 120 });
    // Redis cannot always tell the lag (entries deleted past the group's last read): unknown, not 0.
    expect(groupState([["name", "workers", "entries-read", 7, "lag", null]], "workers")).toEqual({ entriesRead: 7, lag: null });
    expect(groupState(reply, "absent")).toBeNull();
    expect(groupState([["name", "workers", "consumers", 2, "entries-read", null]], "workers")).toBeNull();
    expect(groupState([["name", "workers", "consumers", 2]], "workers")).toBeNull();
    expect(groupState("ERR", "workers")).toBeNull();
  });
});

describe("a worker with the adaptive linger (real Redis and PostgreSQL)", () => {
  const q = eachTestInQueueMode();

  const batches = async () => Number((await q.store.redis.hget(q.store.keys.metrics, "batches")) ?? 0);

  async function startWorker(overrides: Partial<WorkerOptions>): Promise<void> {
    q.workers.push(await startIngestWorker(workerOptions(q.store.namespace, overrides)));
  }

  /** About `perSecond` events a second for `count` events, in order, each key's sequence rising. */
  async function stream(prefix: string, count: number, perSecond: number): Promise<void> {
    const t0 = performance.now();
    const step = 5;
    for (let i = 0; i < count; i += step) {
      const due = (i / perSecond) * 1000;
      const wait = due - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await Promise.all(
        Array.from({ length: Math.min(step, count - i) }, (_, j) => {
          const n = i + j;
          const key = `${prefix}-key-${n % 5}`;
          return postWebhook(q.server.url, `${prefix}-${n}`, { n }, { "x-ordering-key": key, "x-sequence": String(Math.floor(n / 5) + 1) });
        }),
      );
    }
  }

  test("a steady stream commits in fewer, larger transactions than a fixed 5 ms linger, each key still in order", async () => {
    await startWorker({ batchLingerMs: 5, batchLingerMaxMs: 5 });
    await stream("fixed", 300, 300);
    await waitFor(
      "300 stored",
      () => q.store.rowCount(),
      (n) => n === 300,
    );
    const fixedBatches = await batches();
    await Promise.all(q.workers.map((w) => w.close()));
    q.workers = [];

    await startWorker({ batchLingerMs: 5, batchLingerMaxMs: 100 });
    await stream("adaptive", 300, 300);
    await waitFor(
      "600 stored",
      () => q.store.rowCount(),
      (n) => n === 600,
    );
    const adaptiveBatches = (await batches()) - fixedBatches;

    // Fewer transactions than the fixed linger, and at least 10 events each on average. (On a quiet
    // machine the fixed linger needs over a hundred; on a saturated one backlogs batch it too.)
    expect(adaptiveBatches).toBeLessThan(fixedBatches);
    expect(adaptiveBatches).toBeLessThanOrEqual(30);
    const rows = await waitFor(
      "all applied",
      () => q.store.events(),
      (r) => r.every((e) => e.applied),
    );
    expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(600);
    // Per key, apply order is sequence order.
    const byKey = new Map<string, { seq: number; applyIndex: number }[]>();
    for (const r of rows) {
      const list = byKey.get(r.ordering_key!) ?? [];
      list.push({ seq: r.seq!, applyIndex: r.apply_index! });
      byKey.set(r.ordering_key!, list);
    }
    expect(byKey.size).toBe(10);
    for (const list of byKey.values()) {
      const bySeq = [...list].sort((a, b) => a.seq - b.seq).map((x) => x.applyIndex);
      expect(bySeq).toEqual([...bySeq].sort((a, b) => a - b));
    }
  });

  test("a backlog is written in full batches, without lingering", async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => postWebhook(q.server.url, `backlog-${i}`)));
    await startWorker({ batchSize: 50, batchLingerMs: 5, batchLingerMaxMs: 1000 });
    await waitFor(
      "200 stored",
      () => q.store.rowCount(),
      (n) => n === 200,
    );
    expect(await batches()).toBe(4);
  });

  test("a lone event is committed after the floor, not the ceiling", async () => {
    await startWorker({ batchLingerMs: 5, batchLingerMaxMs: 5000 });
    const t0 = Date.now();
    await postWebhook(q.server.url, "alone");
    await waitFor(
      "1 stored",
      () => q.store.rowCount(),
      (n) => n === 1,
      10_000,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
