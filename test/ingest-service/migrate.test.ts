// Migrations: versioned, applied once, safe when several processes start at the same moment.

import pg from "pg";
import { migrate, migrations } from "../../src/ingest-service/migrate.js";
import { DATABASE_URL, newNamespace, Store } from "./support/ingest-fixture.js";

let store: Store;

beforeEach(() => {
  store = new Store(newNamespace());
});

afterEach(async () => {
  await store.drop();
});

test("four processes migrating the same namespace at once apply each migration exactly once", async () => {
  const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: DATABASE_URL, max: 1 }));
  try {
    const applied = await Promise.all(pools.map((p) => migrate(p, store.namespace)));
    const versions = migrations().map((m) => m.version);
    expect(applied.flat().sort()).toEqual(versions.sort());
    const { rows } = await store.pool.query(`select version from ${store.schema}.schema_migrations order by version`);
    expect(rows.map((r) => r.version)).toEqual(versions);
    expect(await migrate(pools[0], store.namespace)).toEqual([]);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test("webhook_events has the unique idempotency key and the non-negative sequence check, enforced", async () => {
  await migrate(store.pool, store.namespace);
  const insert = (key: string, seq: number | null) =>
    store.pool.query(
      `insert into ${store.schema}.webhook_events (idempotency_key, request_id, seq, payload, received_at, batch_id)
       values ($1, 'r', $2, '{}', now(), 'b')`,
      [key, seq],
    );
  await insert("once", 1);
  await expect(insert("once", 2)).rejects.toMatchObject({ code: "23505" });
  await expect(insert("negative", -1)).rejects.toMatchObject({ code: "23514" });
  const { rows } = await store.pool.query(
    `select column_name from information_schema.columns where table_schema = $1 and table_name = 'webhook_events' order by ordinal_position`,
    [store.namespace],
  );
  expect(rows.map((r) => r.column_name)).toEqual([
    "id",
    "idempotency_key",
    "request_id",
    "ordering_key",
    "seq",
    "payload",
    "received_at",
    "persisted_at",
    "batch_id",
    "apply_index",
    "applied_at",
  ]);
});

test("a namespace that is not a safe schema name is refused before any SQL", async () => {
  await expect(migrate(store.pool, 'x"; drop table y; --')).rejects.toThrow("must match");
});

test("upgrading a namespace that holds events to payloads as sent (004) keeps every event and its payload", async () => {
  // The namespace as the release before 004 left it: 001-003 applied, events stored as jsonb.
  const before = migrations().filter((m) => m.version < "004");
  await store.pool.query(`create schema ${store.schema}`);
  await store.pool.query(
    `create table ${store.schema}.schema_migrations (version text primary key, applied_at timestamptz not null default now())`,
  );
  for (const m of before) {
    await store.pool.query(`set search_path to ${store.schema}; ${m.sql}; reset search_path`);
    await store.pool.query(`insert into ${store.schema}.schema_migrations (version) values ($1)`, [m.version]);
  }
  const batch = [
    { r: "req-1", k: "stored-before", o: "repo/a", s: 1, t: "2026-12-01T00:00:00.000Z", p: { zeta: 1, alpha: [2, 3.1] } },
    { r: "req-2", k: "waiting-before", o: "repo/a", s: 3, t: "2026-12-01T00:00:01.000Z", p: { n: 3 } },
  ];
  await store.pool.query(`select ${store.schema}.ingest_events($1::jsonb, 'before', 1)`, [JSON.stringify(batch)]);

  expect(await migrate(store.pool, store.namespace)).toEqual(
    migrations()
      .filter((m) => m.version >= "004")
      .map((m) => m.version),
  );

  const { rows } = await store.pool.query(
    `select idempotency_key as key, pg_typeof(payload)::text as type, payload::jsonb as payload, apply_index, applied_at is not null as applied
       from ${store.schema}.webhook_events order by idempotency_key`,
  );
  expect(rows).toEqual([
    { key: "stored-before", type: "json", payload: { zeta: 1, alpha: [2, 3.1] }, apply_index: "1", applied: true },
    { key: "waiting-before", type: "json", payload: { n: 3 }, apply_index: null, applied: false },
  ]);
  // The type change reset the column's compression; 004 sets lz4 again (this PostgreSQL has it).
  const compression = await store.pool.query(
    `select attcompression from pg_attribute where attrelid = '${store.schema}.webhook_events'::regclass and attname = 'payload'`,
  );
  expect(compression.rows).toEqual([{ attcompression: "l" }]);
  // The waiting event still waits for seq 2, and takes its turn when it comes (through 004's ingest_events).
  const heads = Buffer.from(`\u0001[{"r":"req-3","k":"arrives-after","o":"repo/a","s":2,"t":"2026-12-01T00:00:02.000Z","b":0,"l":7}]`);
  await store.pool.query(`select ${store.schema}.ingest_events($1::jsonb, $2::bytea, 'after', 1)`, [heads, Buffer.from('{"n":2}')]);
  const applied = await store.pool.query(
    `select idempotency_key as key, apply_index from ${store.schema}.webhook_events where ordering_key = 'repo/a' order by apply_index`,
  );
  expect(applied.rows).toEqual([
    { key: "stored-before", apply_index: "1" },
    { key: "arrives-after", apply_index: "2" },
    { key: "waiting-before", apply_index: "3" },
  ]);
});
