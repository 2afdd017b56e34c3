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
