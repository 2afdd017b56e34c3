// Redis stopped: the accept path answers 503 with Retry-After, fast, and never 202; when Redis comes
// back the same service accepts again, without a restart. Uses a Redis of its own on a free port.

import { Redis } from "ioredis";
import { RedisInstance } from "../../faults/instances.js";
import { startIngestServer, type IngestServer } from "../../src/ingest-service/server.js";
import { newNamespace, postWebhook, send, serverOptions, Store, waitFor } from "./support/ingest-fixture.js";

let redis: RedisInstance;
let server: IngestServer;
let store: Store;

beforeAll(async () => {
  redis = await RedisInstance.start({ settings: { appendonly: "no" } });
  store = new Store(newNamespace());
  server = await startIngestServer(serverOptions(store.namespace, { redisUrl: redis.url }));
});

afterAll(async () => {
  await server?.close();
  await redis?.destroy();
  await store?.drop();
});

test("with Redis stopped every webhook gets a fast 503 with Retry-After, none a 202; it recovers on its own", async () => {
  expect((await postWebhook(server.url, "before")).status).toBe(202);

  await redis.kill("SIGKILL");
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

  await redis.start();
  // The restarted Redis has no scripts cached: the accept script must be re-sent (NOSCRIPT -> EVAL).
  const after = await waitFor(
    "a 202 again",
    () => postWebhook(server.url, "after"),
    (a) => a.status === 202,
    10_000,
  );
  expect(after.body.status).toBe("accepted");
  expect((await postWebhook(server.url, "during-0")).status).toBe(202); // refused earlier, so not a duplicate now
  expect((await send(`${server.url}/readyz`, { method: "GET" })).status).toBe(200);
  const fresh = new Redis(redis.url);
  try {
    expect(await fresh.xlen(store.keys.events)).toBe(2);
  } finally {
    fresh.disconnect();
  }
});
