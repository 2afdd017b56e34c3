// The workers' collecting turn (take-turn.lua): a stream that is not backlogged is collected by one
// worker while the others wait; a backlog is drained by all of them; a turn whose holder went silent
// passes on; a worker that stops gives its turn up. Server, workers, Redis and PostgreSQL all real.

import { startIngestWorker, type IngestWorker } from "../../../src/ingest-service/workers/worker.js";
import type { WorkerOptions } from "../../../src/ingest-service/config.js";
import { eachTestInQueueMode, postWebhook, waitFor, workerOptions } from "../support/ingest-fixture.js";

const q = eachTestInQueueMode();

function startWorkers(n: number, overrides: Partial<WorkerOptions> = {}): Promise<IngestWorker[]> {
  return Promise.all(
    Array.from({ length: n }, () => startIngestWorker(workerOptions(q.store.namespace, { batchLingerMs: 2, ...overrides }))),
  ).then((started) => {
    q.workers.push(...started);
    return started;
  });
}

/** Posts `count` events, `concurrency` at a time, all accepted. */
async function post(count: number, prefix: string, concurrency = 50): Promise<void> {
  for (let i = 0; i < count; i += concurrency) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(concurrency, count - i) }, (_, j) => postWebhook(q.server.url, `${prefix}-${i + j}`)),
    );
    for (const a of answers) expect(a.status).toBe(202);
  }
}

/** Rows each worker wrote, by the consumer name that begins its batch ids. */
async function rowsByWorker(): Promise<number[]> {
  const { rows } = await q.store.pool.query<{ batch_id: string }>(`select batch_id from ${q.store.schema}.webhook_events`);
  return q.workers.map((w) => rows.filter((r) => r.batch_id.startsWith(`${w.consumer}-`)).length);
}

const stored = () => q.store.rowCount();

test("a steady stream is written by the turn's holder alone while the other worker waits", async () => {
  await startWorkers(2);
  for (let i = 0; i < 12; i++) {
    await post(5, `steady-${i}`, 5);
    await new Promise((r) => setTimeout(r, 40));
  }
  await waitFor("60 rows", stored, (n) => n === 60);
  const byWorker = await rowsByWorker();
  expect(byWorker.reduce((a, b) => a + b, 0)).toBe(60);
  expect(byWorker.filter((n) => n > 0)).toEqual([60]);
  expect(await q.store.redis.get(q.store.keys.turn)).toBe(q.workers[byWorker.indexOf(60)].consumer);
});

test("a backlog is drained by every worker", async () => {
  await post(3000, "backlog");
  expect(await q.store.queueLength()).toBe(3000);
  // A waiting worker asks for the turn once a TURN_ASK_MS: the backlog must outlast that for it to join. In batches
  // of 10 one worker drained the 3,000 in under a second on a fast machine, alone; in batches of one it takes seconds.
  await startWorkers(2, { batchSize: 1 });
  await waitFor("3,000 rows", stored, (n) => n === 3000, 30_000);
  const byWorker = await rowsByWorker();
  expect(byWorker.reduce((a, b) => a + b, 0)).toBe(3000);
  for (const n of byWorker) expect(n).toBeGreaterThan(0);
});

test("a turn whose holder went silent passes to a waiting worker", async () => {
  // A holder that died: the turn is named after it and expires unless renewed.
  await q.store.redis.set(q.store.keys.turn, "a-worker-that-died", "PX", 600);
  const [worker] = await startWorkers(1);
  await post(5, "after-death", 5);
  await waitFor("5 rows", stored, (n) => n === 5);
  expect(await q.store.redis.get(q.store.keys.turn)).toBe(worker.consumer);
});

test("no event is written while another live worker holds the turn; a worker waiting for it stops at once", async () => {
  await q.store.redis.set(q.store.keys.turn, "a-live-worker", "PX", 60_000);
  const [worker] = await startWorkers(1);
  await post(5, "held", 5);
  await new Promise((r) => setTimeout(r, 600));
  expect(await stored()).toBe(0);
  expect(await q.store.queueLength()).toBe(5);
  const t0 = performance.now();
  await worker.close();
  expect(performance.now() - t0).toBeLessThan(1000);
  expect(await q.store.redis.get(q.store.keys.turn)).toBe("a-live-worker");
});

test("a worker that stops gives its turn up, and the next takes it at once", async () => {
  const [first] = await startWorkers(1);
  await post(5, "first", 5);
  await waitFor("5 rows", stored, (n) => n === 5);
  expect(await q.store.redis.get(q.store.keys.turn)).toBe(first.consumer);
  await first.close();
  expect(await q.store.redis.get(q.store.keys.turn)).toBeNull();
  const [second] = await startWorkers(1);
  await post(5, "second", 5);
  await waitFor("10 rows", stored, (n) => n === 10);
  expect(await q.store.redis.get(q.store.keys.turn)).toBe(second.consumer);
});
