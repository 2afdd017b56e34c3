// Queue mode end to end: server, workers, Redis and PostgreSQL all real. Exactly-once effect,
// per-key order under several workers and failing batches, gaps, and no ack before commit.

import { startIngestWorker } from "../../../src/ingest-service/workers/worker.js";
import type { WorkerOptions } from "../../../src/ingest-service/config.js";
import { eachTestInQueueMode, postWebhook, send, shuffled, waitFor, workerOptions } from "../support/ingest-fixture.js";

const FAST_RETRY = { firstDelayMs: 10, maxDelayMs: 50 };

const q = eachTestInQueueMode();

async function start(workerCount: number, overrides: Partial<WorkerOptions> = {}): Promise<void> {
  for (let i = 0; i < workerCount; i++) {
    q.workers.push(await startIngestWorker(workerOptions(q.store.namespace, { batchLingerMs: 2, ...overrides }), FAST_RETRY));
  }
}

const stored = () => q.store.rowCount();
const drained = () =>
  waitFor(
    "queue drained",
    () => q.store.queueLength(),
    (n) => n === 0,
  );

test("duplicates in one burst and across time give one row each", async () => {
  await start(1);
  const burst = await Promise.all([
    ...Array.from({ length: 20 }, () => postWebhook(q.server.url, "dup-a")),
    ...Array.from({ length: 10 }, (_, i) => postWebhook(q.server.url, `uniq-${i}`)),
  ]);
  expect(burst.filter((a) => a.status === 202)).toHaveLength(11);
  await waitFor("11 rows", stored, (n) => n === 11);

  // Later: Redis still remembers, so the sender hears "duplicate".
  const later = await postWebhook(q.server.url, "dup-a");
  expect(later.status).toBe(200);
  // Much later: Redis has forgotten (its marker expired); the event is queued again, stored once.
  await q.store.redis.del(`${q.store.keys.idem}uniq-3`);
  const afterExpiry = await postWebhook(q.server.url, "uniq-3");
  expect(afterExpiry.status).toBe(202);
  await drained();

  const rows = await q.store.events();
  expect(rows).toHaveLength(11);
  expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(11);
  // The row keeps the first delivery's request_id, not the re-sent one's.
  expect(rows.find((r) => r.idempotency_key === "uniq-3")!.request_id).toBe(burst[23].body.request_id);
  expect(afterExpiry.body.request_id).not.toBe(burst[23].body.request_id);
});

test("per-key order holds with three workers, shuffled arrival and failing batches", async () => {
  // The first four batch statements fail, whichever worker runs them (a sequence is not rolled back).
  await q.store.pool.query(`
    create sequence ${q.store.schema}.forced_failures;
    create function ${q.store.schema}.fail_first_batches() returns trigger language plpgsql as $$
    begin
      if nextval('${q.store.schema}.forced_failures') <= 4 then raise exception 'forced failure for the test'; end if;
      return null;
    end $$;
    create trigger fail_first_batches after insert on ${q.store.schema}.webhook_events
      for each statement execute function ${q.store.schema}.fail_first_batches();`);
  await start(3, { batchSize: 4, gapTimeoutMs: 60_000 });

  const keys = Array.from({ length: 8 }, (_, k) => `repo-${k}`);
  const events = keys.flatMap((key) => Array.from({ length: 15 }, (_, s) => ({ key, seq: s + 1 })));
  const order = shuffled(events, 42);
  for (let i = 0; i < order.length; i += 12) {
    await Promise.all(
      order
        .slice(i, i + 12)
        .map((e) =>
          postWebhook(q.server.url, `${e.key}#${e.seq}`, { seq: e.seq }, { "x-ordering-key": e.key, "x-sequence": String(e.seq) }).then(
            (a) => expect(a.status).toBe(202),
          ),
        ),
    );
  }
  await waitFor(
    "all 120 applied",
    async () =>
      (await q.store.pool.query(`select count(*)::int as n from ${q.store.schema}.webhook_events where applied_at is not null`)).rows[0].n,
    (n) => n === 120,
    15_000,
  );

  const rows = await q.store.events();
  for (const key of keys) {
    const applied = rows.filter((r) => r.ordering_key === key);
    expect(applied.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(applied.map((r) => r.apply_index)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  }
  expect(await q.store.gaps()).toEqual([]);
  const failures = (await q.store.pool.query(`select last_value::int as n from ${q.store.schema}.forced_failures`)).rows[0].n;
  expect(failures).toBeGreaterThan(4); // the failures happened, and batches after them committed
  const retries = Number(await q.store.redis.hget(q.store.keys.metrics, "retries"));
  expect(retries).toBe(4);
});

test("while PostgreSQL refuses batches nothing is acknowledged; when it recovers everything lands", async () => {
  await q.store.pool.query(`
    create table ${q.store.schema}.test_switch (fail boolean not null);
    insert into ${q.store.schema}.test_switch values (true);
    create function ${q.store.schema}.refuse() returns trigger language plpgsql as $$
    begin
      if (select fail from ${q.store.schema}.test_switch) then raise exception 'database refusing writes for the test'; end if;
      return null;
    end $$;
    create trigger refuse after insert on ${q.store.schema}.webhook_events for each statement execute function ${q.store.schema}.refuse();`);
  await start(1);
  for (let i = 0; i < 5; i++) expect((await postWebhook(q.server.url, `outage-${i}`)).status).toBe(202);

  // The worker holds its batch (read, not acknowledged) and retries it; the rest wait in the stream.
  const held = () => q.store.redis.xpending(q.store.keys.events, q.store.keys.group).then((r) => Number((r as [number])[0]));
  await waitFor("the worker to hold a batch", held, (n) => n > 0);
  await new Promise((r) => setTimeout(r, 300));
  expect(await held()).toBeGreaterThan(0);
  expect(await q.store.queueLength()).toBe(5);
  expect(await stored()).toBe(0);

  await q.store.pool.query(`update ${q.store.schema}.test_switch set fail = false`);
  await waitFor("5 rows", stored, (n) => n === 5);
  await drained();
  expect(Number(await q.store.redis.hget(q.store.keys.metrics, "retries"))).toBeGreaterThan(0);
});

test("a sequence gap is skipped after the gap timeout and recorded; a late arrival is applied at once", async () => {
  await start(1, { gapTimeoutMs: 300 });
  for (const seq of [1, 2, 4, 5]) {
    expect((await postWebhook(q.server.url, `gap-${seq}`, {}, { "x-ordering-key": "k", "x-sequence": String(seq) })).status).toBe(202);
  }
  await waitFor("4 stored", stored, (n) => n === 4);
  const early = await q.store.events();
  expect(early.filter((r) => r.applied).map((r) => r.seq)).toEqual([1, 2]); // 4 and 5 wait for 3

  await waitFor(
    "the gap to be skipped",
    async () => (await q.store.events()).filter((r) => r.applied).length,
    (n) => n === 4,
    5000,
  );
  expect((await q.store.events()).map((r) => [r.seq, r.apply_index])).toEqual([
    [1, 1],
    [2, 2],
    [4, 3],
    [5, 4],
  ]);
  expect(await q.store.gaps()).toEqual([{ ordering_key: "k", from_seq: 3, to_seq: 3 }]);

  await postWebhook(q.server.url, "gap-3", {}, { "x-ordering-key": "k", "x-sequence": "3" });
  await waitFor(
    "the late one applied",
    async () => (await q.store.events()).filter((r) => r.applied).length,
    (n) => n === 5,
  );
  const late = (await q.store.events()).find((r) => r.seq === 3)!;
  expect(late.apply_index).toBe(5); // applied last: honestly an ordering violation
});

test("events without an ordering key are applied when stored", async () => {
  await start(1);
  await postWebhook(q.server.url, "plain-1", { a: [1, { b: null }] });
  await waitFor("stored", stored, (n) => n === 1);
  const [row] = await q.store.events();
  expect(row).toMatchObject({
    idempotency_key: "plain-1",
    ordering_key: null,
    applied: true,
    apply_index: null,
    payload: { a: [1, { b: null }] },
  });
});

// What the signature was made over is what is kept: jsonb would reorder the keys, drop the spacing
// and rewrite the escapes and numbers.
const AS_SENT = '{"zeta": "last",\n  "alpha": [2, 3.10, 1e2], "caf\u00e9":"\\u00e9\\n", "é": "é"}';

test("a payload is stored as sent, byte for byte, in a batch with others", async () => {
  const answers = await Promise.all([
    send(`${q.server.url}/webhooks`, { body: AS_SENT, headers: { "content-type": "application/json", "webhook-id": "as-sent" } }),
    postWebhook(q.server.url, "beside-1", { n: 1 }, { "x-ordering-key": "as-sent/a", "x-sequence": "1" }),
    postWebhook(q.server.url, "beside-2", { n: 2 }, { "x-ordering-key": "as-sent/a", "x-sequence": "2" }),
  ]);
  expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
  await start(1, { batchLingerMs: 50 });
  await waitFor("stored", stored, (n) => n === 3);
  const { rows } = await q.store.pool.query(
    `select idempotency_key as key, payload::text as text, payload::jsonb->>'zeta' as zeta from ${q.store.schema}.webhook_events order by idempotency_key`,
  );
  expect(rows).toEqual([
    { key: "as-sent", text: AS_SENT, zeta: "last" },
    { key: "beside-1", text: '{"n":1}', zeta: null },
    { key: "beside-2", text: '{"n":2}', zeta: null },
  ]);
});

test("a worker of the release before keeps storing during an upgrade (ingest_events with the whole batch as jsonb)", async () => {
  await start(1); // migrates the namespace
  const batch = [{ r: "req-old", k: "old-release", o: null, s: null, t: new Date().toISOString(), p: { a: [1, { b: null }] } }];
  await q.store.pool.query(`select ${q.store.schema}.ingest_events($1::jsonb, 'old-batch', 1)`, [JSON.stringify(batch)]);
  const [row] = await q.store.events();
  expect(row).toMatchObject({ idempotency_key: "old-release", applied: true, payload: { a: [1, { b: null }] } });
});

test("worker metrics reach the server's /metrics through Redis", async () => {
  await start(2);
  await Promise.all(Array.from({ length: 30 }, (_, i) => postWebhook(q.server.url, `metric-${i}`)));
  await waitFor("30 stored", stored, (n) => n === 30);
  await drained();
  const text = await (await fetch(`${q.server.url}/metrics`)).text();
  expect(text).toContain("ingest_events_committed_total 30");
  expect(text).toMatch(/ingest_batch_size_sum 30\n/);
  expect(text).toContain("ingest_queue_depth 0");
  expect(text).toMatch(/ingest_commit_duration_seconds_count [1-9]/);
});

test("an event PostgreSQL refuses as data goes to dead_letters and does not block the rest", async () => {
  // The accept path refuses such bodies now; an older server (or another producer) may still have
  // queued one, so it is put straight into the stream here.
  const poison = `{"a":${"[".repeat(20000)}${"]".repeat(20000)}}`;
  await postWebhook(q.server.url, "fine-1");
  await q.store.redis.xadd(
    q.store.keys.events,
    "*",
    "request_id",
    "req-poison",
    "idempotency_key",
    "poison",
    "ordering_key",
    "",
    "seq",
    "",
    "received_at",
    new Date().toISOString(),
    "payload",
    poison,
  );
  await postWebhook(q.server.url, "fine-2");
  await start(1, { batchLingerMs: 50 });
  await drained();
  expect((await q.store.events()).map((r) => r.idempotency_key).sort()).toEqual(["fine-1", "fine-2"]);
  const { rows } = await q.store.pool.query(`select idempotency_key, request_id, error_code from ${q.store.schema}.dead_letters`);
  expect(rows).toEqual([{ idempotency_key: "poison", request_id: "req-poison", error_code: "54001" }]);
  expect(Number(await q.store.redis.hget(q.store.keys.metrics, "dead_letters"))).toBe(1);
});

test("consumers of dead workers are forgotten once idle with nothing pending; ones holding events are kept", async () => {
  const { forgetDeadConsumers } = await import("../../../src/ingest-service/workers/worker.js");
  await start(1);
  const finished = q.workers[0].consumer;
  await postWebhook(q.server.url, "done");
  await waitFor(
    "the worker to drain",
    () => q.store.queueLength(),
    (n) => n === 0,
  );
  await Promise.all(q.workers.map((w) => w.close()));
  q.workers = [];
  // "ghost" read an event and died before acknowledging it: another worker must still take it over.
  await postWebhook(q.server.url, "held");
  await q.store.redis.xreadgroup("GROUP", q.store.keys.group, "ghost", "COUNT", 10, "STREAMS", q.store.keys.events, ">");
  await new Promise((r) => setTimeout(r, 60));

  expect(await forgetDeadConsumers(q.store.redis, q.store.namespace, finished, 50)).toEqual([]); // never itself
  expect(await forgetDeadConsumers(q.store.redis, q.store.namespace, "someone-else", 60_000)).toEqual([]); // not idle long enough
  expect(await forgetDeadConsumers(q.store.redis, q.store.namespace, "someone-else", 50)).toEqual([finished]);
  const left = ((await q.store.redis.xinfo("CONSUMERS", q.store.keys.events, q.store.keys.group)) as unknown[][]).map((c) => c[1]);
  expect(left).toEqual(["ghost"]);
});

test("a worker whose consumer group Redis lost recreates it and keeps draining", async () => {
  await start(1);
  expect((await postWebhook(q.server.url, "before-loss")).status).toBe(202);
  await waitFor("first row", stored, (n) => n === 1);
  // As after a Redis restart without its data: the stream and its consumer group are gone.
  await q.store.redis.del(q.store.keys.events);
  expect((await postWebhook(q.server.url, "after-loss")).status).toBe(202);
  await waitFor("the event accepted after the loss is stored", stored, (n) => n === 2);
});

test("a sequence number with leading zeros is stored as its number and applied in order", async () => {
  await start(1);
  const key = { "x-ordering-key": "zeros/a" };
  await postWebhook(q.server.url, "z-1", { n: 1 }, { ...key, "x-sequence": "001" });
  await postWebhook(q.server.url, "z-2", { n: 2 }, { ...key, "x-sequence": "0002" });
  await waitFor("stored", stored, (n) => n === 2);
  const rows = (await q.store.events()).map((r) => [r.idempotency_key, r.seq, r.applied, r.apply_index]);
  expect(rows.sort()).toEqual([
    ["z-1", 1, true, 1],
    ["z-2", 2, true, 2],
  ]);
  const { rows: dead } = await q.store.pool.query(`select count(*)::int as n from ${q.store.schema}.dead_letters`);
  expect(dead[0].n).toBe(0);
});

test("idempotency and ordering keys that JSON must escape arrive as sent", async () => {
  await start(1);
  const id = 'quote"back\\slash';
  const ordering = 'key "with" \\ marks';
  await postWebhook(q.server.url, id, { n: 1 }, { "x-ordering-key": ordering, "x-sequence": "1" });
  await waitFor("stored", stored, (n) => n === 1);
  const [row] = await q.store.events();
  expect(row).toMatchObject({ idempotency_key: id, ordering_key: ordering, seq: 1, applied: true, payload: { n: 1 } });
});

test("entries an earlier release queued (one field per detail) are still stored, in order", async () => {
  const older = (id: string, seq: string, payload: unknown) =>
    q.store.redis.xadd(
      q.store.keys.events,
      "*",
      "request_id",
      `req-${id}`,
      "idempotency_key",
      id,
      "ordering_key",
      "older/a",
      "seq",
      seq,
      "received_at",
      new Date().toISOString(),
      "payload",
      JSON.stringify(payload),
    );
  await older("old-2", "2", { n: 2 });
  await older("old-1", "1", { n: 1 });
  await postWebhook(q.server.url, "new-3", { n: 3 }, { "x-ordering-key": "older/a", "x-sequence": "3" });
  await start(1);
  await waitFor("stored", stored, (n) => n === 3);
  const rows = (await q.store.events()).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  expect(rows.map((r) => [r.idempotency_key, r.request_id.startsWith("req-old") || r.idempotency_key === "new-3", r.apply_index])).toEqual([
    ["old-1", true, 1],
    ["old-2", true, 2],
    ["new-3", true, 3],
  ]);
  expect(rows.map((r) => r.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
});

test("an entry that is not an event is dropped with an error; one whose head does not read goes to dead_letters whole", async () => {
  await q.store.redis.xadd(q.store.keys.events, "*", "event", "not an event");
  await q.store.redis.xadd(q.store.keys.events, "*", "head", "a field of no release", "payload", "{}");
  const broken = '{"r":"req-broken","k":"broken","o":null,"s":,"t":"x","p":{"a":1}';
  await q.store.redis.xadd(q.store.keys.events, "*", "event", broken);
  await postWebhook(q.server.url, "fine-after");
  await start(1, { batchLingerMs: 50 });
  await drained();
  expect((await q.store.events()).map((r) => r.idempotency_key)).toEqual(["fine-after"]);
  const { rows } = await q.store.pool.query(
    `select idempotency_key, request_id, payload_text, error_code from ${q.store.schema}.dead_letters`,
  );
  expect(rows).toEqual([{ idempotency_key: "", request_id: "req-broken", payload_text: broken, error_code: "22P02" }]);
});

test("entries whose details break the table's rules (no idempotency key, an ordering key without a sequence) go to dead_letters and do not block the rest", async () => {
  // Not what the accept path writes; what any other producer with access to the stream might.
  const keyless = '{"r":"req-keyless","k":null,"o":null,"s":null,"t":"2026-12-07T00:00:00.000Z","p":{"a":1}';
  const unsequenced = '{"r":"req-unsequenced","k":"unsequenced","o":"repo/x","s":null,"t":"2026-12-07T00:00:00.000Z","p":{"a":2}';
  await postWebhook(q.server.url, "fine-before");
  await q.store.redis.xadd(q.store.keys.events, "*", "event", keyless);
  await q.store.redis.xadd(q.store.keys.events, "*", "event", unsequenced);
  await postWebhook(q.server.url, "fine-after");
  await start(1, { batchLingerMs: 50 });
  await drained();
  expect((await q.store.events()).map((r) => r.idempotency_key).sort()).toEqual(["fine-after", "fine-before"]);
  const { rows } = await q.store.pool.query(
    `select request_id, payload_text, error_code from ${q.store.schema}.dead_letters order by request_id`,
  );
  expect(rows).toEqual([
    { request_id: "req-keyless", payload_text: keyless, error_code: "23502" },
    { request_id: "req-unsequenced", payload_text: '{"a":2}', error_code: "23514" },
  ]);
});
