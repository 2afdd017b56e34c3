// Redis stopped: the accept path answers 503 with Retry-After, fast, and never 202; when Redis comes
// back the same service accepts again, without a restart. Uses a Redis of its own on a free port.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { startIngestServer, type IngestServer } from "../../src/ingest-service/server.js";
import { newNamespace, postWebhook, send, serverOptions, Store, waitFor } from "./support/ingest-fixture.js";

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
  probe.on("error", () => {});
  try {
    await waitFor("our redis-server", () => probe.ping().catch(() => "no"), (v) => v === "PONG", 5000);
  } finally {
    probe.disconnect();
  }
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
}

let port: number;
let redis: ChildProcess;
let server: IngestServer;
let store: Store;

beforeAll(async () => {
  port = await freePort();
  redis = await startRedis(port);
  store = new Store(newNamespace());
  server = await startIngestServer(serverOptions(store.namespace, { redisUrl: `redis://127.0.0.1:${port}` }));
});

afterAll(async () => {
  await server?.close();
  if (redis) await stopRedis(redis);
  await store?.drop();
});

test("with Redis stopped every webhook gets a fast 503 with Retry-After, none a 202; it recovers on its own", async () => {
  expect((await postWebhook(server.url, "before")).status).toBe(202);

  await stopRedis(redis);
  const during = [];
  for (let i = 0; i < 10; i++) during.push(await postWebhook(server.url, `during-${i}`));
  during.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => postWebhook(server.url, `burst-${i}`)))));
  for (const a of during) {
    expect(a.status).toBe(503);
    expect(a.body.error.code).toBe("queue_unavailable");
    expect(a.headers["retry-after"]).toBe("1");
    expect(a.headers["x-request-id"]).toBeTruthy();
  }
  expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(1000);
  const ready = await send(`${server.url}/readyz`, { method: "GET" });
  expect(ready.status).toBe(503);
  expect(ready.body.checks.redis).not.toBe("ok");
  expect(ready.body.checks.postgres).toBe("ok");

  redis = await startRedis(port);
  // The restarted Redis has no scripts cached: the accept script must be re-sent (NOSCRIPT -> EVAL).
  const after = await waitFor("a 202 again", () => postWebhook(server.url, "after"), (a) => a.status === 202, 10_000);
  expect(after.body.status).toBe("accepted");
  expect((await postWebhook(server.url, "during-0")).status).toBe(202); // refused earlier, so not a duplicate now
  expect((await send(`${server.url}/readyz`, { method: "GET" })).status).toBe(200);
  const fresh = new Redis(port, "127.0.0.1");
  try {
    expect(await fresh.xlen(store.keys.events)).toBe(2);
  } finally {
    fresh.disconnect();
  }
});
