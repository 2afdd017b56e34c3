// Issue 2's "Bad input" list: each answers a JSON error with its status and code, carries an
// X-Request-Id, enqueues nothing, stores nothing, and the service stays up.

import { createHmac } from "node:crypto";
import { Readable } from "node:stream";
import { Webhook } from "standardwebhooks";
import { startIngestServer, type IngestServer } from "../../src/ingest-service/server.js";
import { newNamespace, send, serverOptions, Store, type Answer } from "./support/ingest-fixture.js";

const BEARER = "bearer-key-for-tests";
const SIGNING = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GITHUB = "github-secret-for-tests";

/** Headers that pass all three schemes for this body. */
function signed(body: string, id = "evt-1", tsShift = 0): Record<string, string> {
  const now = new Date(Date.now() + tsShift * 1000);
  return {
    "content-type": "application/json",
    authorization: `Bearer ${BEARER}`,
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(SIGNING).sign(id, now, body),
    "x-hub-signature-256": `sha256=${createHmac("sha256", GITHUB).update(body).digest("hex")}`,
  };
}

let store: Store;
let server: IngestServer; // all three schemes configured
let bearerOnly: IngestServer; // bearer only, so a request can lack every idempotency header

beforeAll(async () => {
  const namespace = newNamespace();
  store = new Store(namespace);
  server = await startIngestServer(
    serverOptions(namespace, {
      insecure: false,
      auth: { bearerKey: BEARER, signingSecret: SIGNING, githubSecret: GITHUB },
      maxBodyBytes: 4096,
    }),
  );
  bearerOnly = await startIngestServer(serverOptions(namespace, { insecure: false, auth: { bearerKey: BEARER } }));
});

afterAll(async () => {
  await server?.close();
  await bearerOnly?.close();
  await store?.drop();
});

async function expectRefused(answer: Answer, status: number, code: string): Promise<void> {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(typeof answer.body.error.message).toBe("string");
  expect(answer.body.error.message.length).toBeGreaterThan(10);
  expect(answer.headers["content-type"]).toBe("application/json");
  expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  expect(await store.queueLength()).toBe(0);
  expect(await store.idempotencyMarkers()).toBe(0);
  expect(await store.rowCount()).toBe(0);
}

const post = (body: string | Buffer, headers: Record<string, string>, base = server.url) => send(`${base}/webhooks`, { body, headers });

test("malformed JSON is 400 malformed_json", async () => {
  const body = '{"action": "opened",';
  await expectRefused(await post(body, signed(body)), 400, "malformed_json");
});

test("an empty body is 400 empty_body", async () => {
  await expectRefused(await post("", signed("")), 400, "empty_body");
});

test("JSON that is not an object is 400 not_an_object", async () => {
  await expectRefused(await post("[1,2]", signed("[1,2]")), 400, "not_an_object");
  await expectRefused(await post('"text"', signed('"text"')), 400, "not_an_object");
});

test("a body over the limit is 413, refused from its Content-Length before it is read", async () => {
  const body = JSON.stringify({ blob: "x".repeat(5000) });
  await expectRefused(await post(body, signed(body)), 413, "payload_too_large");
});

test("a chunked body that grows over the limit is 413 too", async () => {
  const body = JSON.stringify({ blob: "y".repeat(6000) });
  const chunks = Readable.from(
    (async function* () {
      for (let i = 0; i < body.length; i += 1000) yield Buffer.from(body.slice(i, i + 1000));
    })(),
  );
  const { request } = await import("undici");
  const res = await request(`${server.url}/webhooks`, { method: "POST", body: chunks, headers: signed(body) });
  const answer: Answer = { status: res.statusCode, headers: res.headers, body: await res.body.json(), ms: 0 };
  await expectRefused(answer, 413, "payload_too_large");
});

test("a content type other than application/json is 415", async () => {
  const body = '{"a":1}';
  await expectRefused(await post(body, { ...signed(body), "content-type": "text/plain" }), 415, "unsupported_media_type");
  await expectRefused(await post(body, { ...signed(body), "content-type": "application/jsonp" }), 415, "unsupported_media_type");
});

test("missing credentials are 401 missing_credentials", async () => {
  const body = '{"a":1}';
  const { authorization: _, ...headers } = signed(body);
  await expectRefused(await post(body, headers), 401, "missing_credentials");
});

test("a wrong bearer key is 401 invalid_bearer", async () => {
  const body = '{"a":1}';
  await expectRefused(await post(body, { ...signed(body), authorization: "Bearer guess" }), 401, "invalid_bearer");
});

test("a missing Standard Webhooks signature is 401 missing_signature", async () => {
  const body = '{"a":1}';
  const { "webhook-signature": _, ...headers } = signed(body);
  const answer = await post(body, headers);
  await expectRefused(answer, 401, "missing_signature");
  expect(answer.body.error.message).toContain("webhook-signature");
});

test("a bad Standard Webhooks signature is 401 invalid_signature", async () => {
  const body = '{"a":1}';
  const headers = { ...signed(body), "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" };
  await expectRefused(await post(body, headers), 401, "invalid_signature");
});

test("a signature timestamp outside the 5-minute tolerance is 401 timestamp_out_of_tolerance", async () => {
  const body = '{"a":1}';
  await expectRefused(await post(body, signed(body, "evt-1", -400)), 401, "timestamp_out_of_tolerance");
});

test("a bad or missing GitHub signature is 401", async () => {
  const body = '{"a":1}';
  await expectRefused(
    await post(body, { ...signed(body), "x-hub-signature-256": `sha256=${"0".repeat(64)}` }),
    401,
    "invalid_github_signature",
  );
  const { "x-hub-signature-256": _, ...headers } = signed(body);
  await expectRefused(await post(body, headers), 401, "missing_github_signature");
});

test("a missing idempotency key is 400 missing_idempotency_key", async () => {
  const answer = await post('{"a":1}', { "content-type": "application/json", authorization: `Bearer ${BEARER}` }, bearerOnly.url);
  await expectRefused(answer, 400, "missing_idempotency_key");
  expect(answer.body.error.message).toContain("Idempotency-Key");
});

test("a sequence that is not a non-negative integer is 400 invalid_sequence", async () => {
  for (const seq of ["-1", "1.5", "abc", ""]) {
    const body = '{"a":1}';
    const answer = await post(body, { ...signed(body), "x-ordering-key": "repo-1", "x-sequence": seq });
    await expectRefused(answer, 400, "invalid_sequence");
  }
});

test("an ordering key without a sequence is 400 missing_sequence", async () => {
  const body = '{"a":1}';
  await expectRefused(await post(body, { ...signed(body), "x-ordering-key": "repo-1" }), 400, "missing_sequence");
});

test("JSON that PostgreSQL could not store as sent is 400 unsupported_json rather than a poisoned batch", async () => {
  const bodies = [
    '{"a":"nul \\u0000 here"}',
    '{"a":"\\ud800"}',
    '{"a":1e1000000}',
    `{"a":${"[".repeat(1500)}${"]".repeat(1500)}}`,
    '{"a":1,"a":2}',
  ];
  for (const body of bodies) await expectRefused(await post(body, signed(body)), 400, "unsupported_json");
});

test("an unknown path is 404", async () => {
  await expectRefused(await send(`${server.url}/webhook`, { body: "{}", headers: signed("{}") }), 404, "not_found");
});

test("a wrong method is 405 with an Allow header", async () => {
  const answer = await send(`${server.url}/webhooks`, { method: "GET" });
  await expectRefused(answer, 405, "method_not_allowed");
  expect(answer.headers.allow).toBe("POST");
});

test("after all that the service is up and accepts a good webhook", async () => {
  const body = '{"a":1}';
  const answer = await post(body, signed(body, "evt-good"));
  expect(answer.status).toBe(202);
  expect(await store.queueLength()).toBe(1);
  const metrics = await send(`${server.url}/metrics`, { method: "GET" });
  expect(metrics.body).toContain('ingest_requests_rejected_total{reason="invalid_signature"} 1');
  expect(metrics.body).toContain("ingest_requests_accepted_total 1");
});
