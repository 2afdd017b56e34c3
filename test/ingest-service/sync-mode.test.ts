// --mode sync, the seed's design: same validation and auth, then INSERT and COMMIT inside the request
// on one shared connection; the answer comes after the commit.

import { startIngestServer, type IngestServer } from "../../src/ingest-service/server.js";
import { newNamespace, postWebhook, send, serverOptions, Store, waitFor } from "./support/ingest-fixture.js";

let store: Store;
let server: IngestServer;

beforeEach(async () => {
  store = new Store(newNamespace());
  server = await startIngestServer(serverOptions(store.namespace, { mode: "sync", gapTimeoutMs: 300 }));
});

afterEach(async () => {
  await server.close();
  await store.drop();
});

test("a webhook is stored and committed before the 202, without touching Redis", async () => {
  const answer = await postWebhook(server.url, "sync-1", { hello: "world" });
  expect(answer.status).toBe(202);
  expect(answer.body).toEqual({ request_id: answer.headers["x-request-id"], status: "accepted" });
  const rows = await store.events(); // no waiting: the commit happened before the answer
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    idempotency_key: "sync-1",
    request_id: answer.body.request_id,
    payload: { hello: "world" },
    applied: true,
  });
  expect(await store.queueLength()).toBe(0);
  expect(await store.idempotencyMarkers()).toBe(0);
});

test("the payload is stored as sent, byte for byte", async () => {
  const body = '{"b": 2,  "a":[1.50, 1e2, "\\u00e9"]}';
  const answer = await send(`${server.url}/webhooks`, {
    body,
    headers: { "content-type": "application/json", "webhook-id": "sync-as-sent" },
  });
  expect(answer.status).toBe(202);
  const { rows } = await store.pool.query(`select payload::text as text from ${store.schema}.webhook_events`);
  expect(rows).toEqual([{ text: body }]);
});

test("a redelivery answers 200 duplicate with the first request id, in a burst too, and is stored once", async () => {
  const answers = await Promise.all(Array.from({ length: 15 }, () => postWebhook(server.url, "sync-dup")));
  const accepted = answers.filter((a) => a.status === 202);
  expect(accepted).toHaveLength(1);
  for (const a of answers.filter((x) => x.status !== 202)) {
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ request_id: accepted[0].body.request_id, status: "duplicate" });
  }
  expect(await store.rowCount()).toBe(1);
});

test("order is recorded the same way as in queue mode, gaps included", async () => {
  for (const seq of [2, 1, 3, 5]) {
    expect((await postWebhook(server.url, `s-${seq}`, {}, { "x-ordering-key": "k", "x-sequence": String(seq) })).status).toBe(202);
  }
  expect((await store.events()).map((r) => [r.seq, r.apply_index])).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
    [5, null],
  ]);
  await waitFor(
    "the gap sweep",
    async () => (await store.events()).filter((r) => r.applied).length,
    (n) => n === 4,
    5000,
  );
  expect(await store.gaps()).toEqual([{ ordering_key: "k", from_seq: 4, to_seq: 4 }]);
});

test("bad input is refused before the database, and readyz checks only PostgreSQL", async () => {
  const bad = await send(`${server.url}/webhooks`, { body: "{nope", headers: { "content-type": "application/json", "webhook-id": "x" } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe("malformed_json");
  expect(await store.rowCount()).toBe(0);
  const ready = await send(`${server.url}/readyz`, { method: "GET" });
  expect(ready.body).toMatchObject({ status: "ready", mode: "sync", checks: { postgres: "ok" } });
});
