// A worker process killed with SIGKILL mid-batch: once another worker takes over its pending events
// (after the visibility timeout), nothing is lost and nothing is stored twice, and per-key order holds.

import type { ChildProcess } from "node:child_process";
import { startIngestServer, type IngestServer } from "../../../src/ingest-service/server.js";
import { startIngestWorker, type IngestWorker } from "../../../src/ingest-service/workers/worker.js";
import { collect, compiledIngestCommand, spawnIngest } from "../support/compiled-cli.js";
import {
  DATABASE_URL,
  newNamespace,
  postWebhook,
  REDIS_URL,
  serverOptions,
  Store,
  waitFor,
  workerOptions,
} from "../support/ingest-fixture.js";

beforeAll(() => {
  compiledIngestCommand();
}, 60_000);

let store: Store;
let server: IngestServer;
let survivor: IngestWorker | undefined;
let victim: ChildProcess | undefined;

beforeEach(async () => {
  store = new Store(newNamespace());
  server = await startIngestServer(serverOptions(store.namespace));
});

afterEach(async () => {
  if (victim && victim.exitCode === null && victim.signalCode === null) victim.kill("SIGKILL");
  await survivor?.close();
  survivor = undefined;
  await server.close();
  await store.drop();
});

async function spawnWorker(): Promise<ChildProcess> {
  const child = spawnIngest(
    ["worker", "--namespace", store.namespace, "--batch-size", "20", "--batch-linger-ms", "0", "--consumer", "victim"],
    { REDIS_URL, DATABASE_URL, LOG_LEVEL: "info" },
  );
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  await waitFor(
    "the worker to start",
    async () => out,
    (o) => o.includes("ingest worker started"),
    20_000,
  );
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exit = collect(child);
  child.kill("SIGKILL");
  expect((await exit).signal).toBe("SIGKILL");
}

const pendingFor = async (consumer: string) => {
  const rows = (await store.redis.xpending(store.keys.events, store.keys.group, "-", "+", 1000, consumer)) as unknown[];
  return rows.length;
};

async function expectEverythingOnceInOrder(keys: string[], perKey: number): Promise<void> {
  const rows = await store.events();
  expect(rows).toHaveLength(keys.length * perKey);
  expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(keys.length * perKey);
  for (const key of keys) {
    const applied = rows.filter((r) => r.ordering_key === key);
    expect(applied.map((r) => r.seq)).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    expect(applied.map((r) => r.apply_index)).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
  }
  expect(await store.queueLength()).toBe(0);
  expect(Number(((await store.redis.xpending(store.keys.events, store.keys.group)) as [number])[0])).toBe(0);
}

test("a worker killed while its batch waits inside PostgreSQL loses and duplicates nothing", async () => {
  victim = await spawnWorker();
  // Hold a lock the batch needs, so the worker is provably mid-batch when it dies.
  const blocker = await store.pool.connect();
  try {
    await blocker.query("begin");
    await blocker.query(`lock table ${store.schema}.webhook_events in share mode`);
    const keys = ["a", "b", "c"];
    for (let seq = 1; seq <= 20; seq++) {
      await Promise.all(
        keys.map((k) => postWebhook(server.url, `${k}-${seq}`, { seq }, { "x-ordering-key": k, "x-sequence": String(seq) })),
      );
    }
    await waitFor(
      "the victim to hold a batch",
      () => pendingFor("victim"),
      (n) => n > 0,
    );
    await waitFor(
      "its statement to wait on the lock",
      async () =>
        (
          await store.pool.query(
            `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%ingest_events%'`,
          )
        ).rows[0].n,
      (n) => n > 0,
    );
    await kill(victim);
    expect(await pendingFor("victim")).toBeGreaterThan(0);
  } finally {
    // Always let go of the lock, or dropping the namespace afterwards would wait on it for ever.
    await blocker.query("rollback").catch(() => {});
    blocker.release();
  }

  survivor = await startIngestWorker(workerOptions(store.namespace, { visibilityTimeoutMs: 500, consumer: "survivor" }));
  await waitFor(
    "60 rows and an empty queue",
    async () => [await store.rowCount(), await store.queueLength()],
    ([rows, q]) => rows === 60 && q === 0,
    15_000,
  );
  expect(await pendingFor("victim")).toBe(0);
  await expectEverythingOnceInOrder(["a", "b", "c"], 20);
});

test("a worker killed at an arbitrary point of a steady stream loses and duplicates nothing", async () => {
  victim = await spawnWorker();
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  let killed: Promise<void> | undefined;
  for (let seq = 1; seq <= 30; seq++) {
    await Promise.all(keys.map((k) => postWebhook(server.url, `${k}-${seq}`, { seq }, { "x-ordering-key": k, "x-sequence": String(seq) })));
    if (seq === 12) killed = kill(victim);
  }
  await killed;
  survivor = await startIngestWorker(workerOptions(store.namespace, { visibilityTimeoutMs: 500, consumer: "survivor" }));
  await waitFor(
    "300 rows and an empty queue",
    async () => [await store.rowCount(), await store.queueLength()],
    ([rows, q]) => rows === 300 && q === 0,
    15_000,
  );
  await expectEverythingOnceInOrder(keys, 30);
});
