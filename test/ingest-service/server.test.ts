// The accept path in queue mode: what it answers, what it puts in Redis, what it logs.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readEvent } from "../../src/ingest-service/queued-event.js";
import { startIngestServer, type IngestServer } from "../../src/ingest-service/server.js";
import { newNamespace, postWebhook, send, serverOptions, Store, waitFor } from "./support/ingest-fixture.js";

let store: Store;
let server: IngestServer;
let logDir: string;

beforeEach(async () => {
  store = new Store(newNamespace());
  logDir = mkdtempSync(join(tmpdir(), "ingest-log-"));
  server = await startIngestServer(
    serverOptions(store.namespace, {
      insecure: false,
      auth: { bearerKey: "top-secret-bearer" },
      logLevel: "info",
      logFile: join(logDir, "serve.log"),
    }),
  );
});

afterEach(async () => {
  await server.close();
  await store.drop();
  rmSync(logDir, { recursive: true, force: true });
});

const auth = { authorization: "Bearer top-secret-bearer" };

test("an accepted webhook answers 202 with its request id and is queued once, raw", async () => {
  const payload = { action: "opened", number: 7, text: "héllo" };
  const answer = await postWebhook(server.url, "delivery-1", payload, { ...auth, "x-ordering-key": "repo/a", "x-sequence": "3" });
  expect(answer.status).toBe(202);
  const requestId = answer.headers["x-request-id"];
  expect(answer.body).toEqual({ request_id: requestId, status: "accepted" });

  const entries = await store.redis.xrangeBuffer(store.keys.events, "-", "+");
  expect(entries).toHaveLength(1);
  const [name, event] = entries[0][1];
  expect(entries[0][1]).toHaveLength(2);
  expect(name.toString()).toBe("event");
  // The payload is queued raw, byte for byte, after the head that says the rest.
  const read = readEvent(event);
  expect(read?.payload.toString("utf8")).toBe(JSON.stringify(payload));
  expect(read?.details).toMatchObject({ requestId, idempotencyKey: "delivery-1", orderingKey: "repo/a", seq: "3" });
  expect(Date.parse(read!.details.receivedAt)).toBeGreaterThan(Date.now() - 10_000);
  // With a closing brace it is the event's JSON object, as a worker splices it into its batch.
  expect(JSON.parse(event.toString("utf8") + "}")).toMatchObject({ r: requestId, k: "delivery-1", p: payload });
  expect(await store.redis.get(`${store.keys.idem}delivery-1`)).toBe(requestId);
  expect(await store.redis.ttl(`${store.keys.idem}delivery-1`)).toBeGreaterThan(86000);
});

test("a log line reaches the file within a second while the server runs on, again after an idle spell", async () => {
  const logged = (requestId: string) =>
    waitFor(
      `${requestId} in the log`,
      async () => readFileSync(join(logDir, "serve.log"), "utf8"),
      (text) => text.includes(requestId),
      1500,
    );
  const first = await postWebhook(server.url, "logged-1", { n: 1 }, auth);
  await logged(first.body.request_id);
  await new Promise((r) => setTimeout(r, 1200)); // timed flushes with nothing to write
  const second = await postWebhook(server.url, "logged-2", { n: 2 }, auth);
  await logged(second.body.request_id);
});

test("a redelivered webhook in one concurrent burst is accepted once; the rest get the original id", async () => {
  const answers = await Promise.all(Array.from({ length: 40 }, () => postWebhook(server.url, "burst-1", { n: 1 }, auth)));
  const accepted = answers.filter((a) => a.status === 202);
  const duplicates = answers.filter((a) => a.status === 200);
  expect(accepted).toHaveLength(1);
  expect(duplicates).toHaveLength(39);
  const original = accepted[0].body.request_id;
  for (const d of duplicates) {
    expect(d.body).toEqual({ request_id: original, status: "duplicate" });
    expect(d.headers["x-request-id"]).toBe(original);
  }
  expect(await store.queueLength()).toBe(1);
});

test("the idempotency key falls back from webhook-id to X-GitHub-Delivery to Idempotency-Key", async () => {
  const post = (headers: Record<string, string>) =>
    send(`${server.url}/webhooks`, { body: "{}", headers: { "content-type": "application/json", ...auth, ...headers } });
  expect((await post({ "x-github-delivery": "gh-1" })).status).toBe(202);
  expect((await post({ "idempotency-key": "ik-1" })).status).toBe(202);
  expect((await post({ "x-github-delivery": "gh-1", "idempotency-key": "other" })).status).toBe(200);
  expect((await post({ "webhook-id": "ik-1", "x-github-delivery": "new" })).status).toBe(200);
  expect(await store.queueLength()).toBe(2);
});

test("healthz is alive, readyz checks Redis and PostgreSQL, metrics is Prometheus text", async () => {
  expect((await send(`${server.url}/healthz`, { method: "GET" })).status).toBe(200);
  const ready = await send(`${server.url}/readyz`, { method: "GET" });
  expect(ready.status).toBe(200);
  expect(ready.body.checks).toEqual({ redis: "ok", postgres: "ok" });

  await postWebhook(server.url, "m-1", {}, auth);
  await postWebhook(server.url, "m-1", {}, auth);
  await postWebhook(server.url, "m-2", {}, {});
  const metrics = await send(`${server.url}/metrics`, { method: "GET" });
  expect(metrics.headers["content-type"]).toContain("text/plain");
  const text = metrics.body as string;
  expect(text).toContain("ingest_requests_accepted_total 1");
  expect(text).toContain("ingest_requests_duplicate_total 1");
  expect(text).toContain('ingest_requests_rejected_total{reason="missing_credentials"} 1');
  expect(text).toContain("ingest_request_duration_seconds_count 3");
  expect(text).toContain("ingest_queue_depth 1");
});

test("every accepted event is logged with its request_id, and no secret or body reaches the log", async () => {
  const a = await postWebhook(server.url, "log-1", { secret_field: "body-content-xyz" }, auth);
  const d = await postWebhook(server.url, "log-1", { secret_field: "body-content-xyz" }, auth);
  await server.close();
  const lines = readFileSync(join(logDir, "serve.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const enqueued = lines.filter((l) => l.hop === "enqueued");
  expect(enqueued).toHaveLength(1);
  expect(enqueued[0]).toMatchObject({ request_id: a.body.request_id, idempotency_key: "log-1" });
  expect(Date.parse(enqueued[0].enqueued_at)).toBeGreaterThanOrEqual(Date.parse(enqueued[0].received_at));
  expect(lines.filter((l) => l.hop === "duplicate")[0]).toMatchObject({ request_id: d.body.request_id });
  const raw = readFileSync(join(logDir, "serve.log"), "utf8");
  expect(raw).not.toContain("top-secret-bearer");
  expect(raw).not.toContain("body-content-xyz");
});

test("senders slower than the request timeout are cut off: silent, trickled headers, unfinished body", async () => {
  const { connect } = await import("node:net");
  const quick = await startIngestServer(serverOptions(store.namespace, { requestTimeoutMs: 500 }));
  try {
    const port = quick.port;
    const probe = (start: (s: import("node:net").Socket) => void) =>
      new Promise<{ ms: number; answer: string }>((done) => {
        const t0 = Date.now();
        let answer = "";
        const s = connect(port, "127.0.0.1", () => start(s));
        s.on("data", (d) => (answer += d));
        s.on("error", () => {});
        s.on("close", () => done({ ms: Date.now() - t0, answer }));
      });
    const head = "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: slow\r\n";
    const trickle = (s: import("node:net").Socket, text: string) => {
      let k = 0;
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(text[k++ % text.length])), 100);
    };
    const [silent, headers, body] = await Promise.all([
      probe(() => {}),
      probe((s) => trickle(s, head)),
      probe((s) => {
        s.write(`${head}Content-Length: 100\r\n\r\n{`);
        trickle(s, "a");
      }),
    ]);
    for (const r of [silent, headers, body]) expect(r.ms).toBeLessThan(2500);
    expect(headers.answer).toContain("408");
    expect(body.answer).toContain("408");
    expect(await store.queueLength()).toBe(0);
  } finally {
    await quick.close();
  }
});
