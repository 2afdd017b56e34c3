// Migration 004 stores an event that is next in line for its key as applied, instead of storing it
// waiting and updating it. Its order rules must be exactly those of 002 (store, then apply_ready):
// the same seeded batches (out of order, late, duplicated within and across batches, gaps, unordered
// events, gap sweeps) go through both functions on real PostgreSQL and must leave identical tables.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { assetFile } from "../../../src/ingest-service/asset-file.js";
import { migrate } from "../../../src/ingest-service/migrate.js";
import { DATABASE_URL } from "../support/ingest-fixture.js";

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const suffix = randomBytes(3).toString("hex");
const before = `aoi_before_${suffix}`; // ingest_events as in 002
const after = `aoi_after_${suffix}`; // ingest_events as in 004

beforeAll(async () => {
  await migrate(pool, before);
  await migrate(pool, after);
  const sql002 = readFileSync(assetFile("migrations/002_ingest_events_jsonb.sql"), "utf8").replace(
    "create function ingest_events",
    "create or replace function ingest_events",
  );
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query(`set local search_path to "${before}"`);
    await client.query(sql002);
    await client.query("commit");
  } finally {
    client.release();
  }
});

afterAll(async () => {
  await pool.query(`drop schema if exists "${before}" cascade; drop schema if exists "${after}" cascade`);
  await pool.end();
});

/** mulberry32: the same batches every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BatchEvent {
  k: string;
  r: string;
  o: string | null;
  s: number | null;
  t: string;
  p: unknown;
}

/**
 * Batches over a few keys: mostly in order, some swapped, some late or repeating a sequence number,
 * some held back and sent batches later (so events wait, then the missing one fills the gap), some
 * never sent (gaps the sweep skips), some redeliveries of earlier events.
 */
function batches(seed: number, count: number): BatchEvent[][] {
  const rnd = random(seed);
  const keys = ["a", "b", "c"].map((k) => `${seed}${k}`);
  const next = new Map(keys.map((k) => [k, 1]));
  const sent: BatchEvent[] = [];
  const held: BatchEvent[] = [];
  const out: BatchEvent[][] = [];
  let id = 0;
  const event = (key: string, seq: number): BatchEvent => {
    id++;
    return { k: `${seed}o${id}`, r: `${seed}r${id}`, o: key, s: seq, t: "2026-12-06T00:00:00Z", p: { id, key, seq } };
  };
  for (let b = 0; b < count; b++) {
    const batch: BatchEvent[] = [];
    const size = 1 + Math.floor(rnd() * 12);
    for (let i = 0; i < size; i++) {
      const roll = rnd();
      const key = keys[Math.floor(rnd() * keys.length)];
      const seq = next.get(key)!;
      if (roll < 0.08 && sent.length > 0)
        batch.push(sent[Math.floor(rnd() * sent.length)]); // redelivery
      else if (roll < 0.16 && held.length > 0)
        batch.push(held.splice(Math.floor(rnd() * held.length), 1)[0]); // a held one arrives
      else if (roll < 0.24) {
        id++;
        batch.push({ k: `${seed}u${id}`, r: `${seed}r${id}`, o: null, s: null, t: "2026-12-06T00:00:00Z", p: { id } });
      } else if (roll < 0.34)
        batch.push(event(key, Math.max(0, seq - 1 - Math.floor(rnd() * 3)))); // late, or a repeat
      else if (roll < 0.44) {
        held.push(event(key, seq)); // sent later
        next.set(key, seq + 1);
      } else if (roll < 0.47)
        next.set(key, seq + 1); // never sent
      else {
        batch.push(event(key, seq));
        next.set(key, seq + 1);
      }
    }
    // Swap neighbours now and then, so a batch holds its key's events out of order.
    for (let i = 1; i < batch.length; i++) if (rnd() < 0.25) [batch[i - 1], batch[i]] = [batch[i], batch[i - 1]];
    sent.push(...batch);
    out.push(batch);
  }
  return out;
}

async function write(schema: string, batch: BatchEvent[], batchId: string): Promise<number> {
  const { rows } = await pool.query(`select "${schema}".ingest_events($1::jsonb, $2, 1) as n`, [JSON.stringify(batch), batchId]);
  return Number(rows[0].n);
}

async function tables(schema: string): Promise<{ events: unknown[]; keys: unknown[]; gaps: unknown[] }> {
  const events = await pool.query(
    `select idempotency_key, request_id, ordering_key, seq::int, payload, batch_id, apply_index::int, applied_at is not null as applied
       from "${schema}".webhook_events order by idempotency_key`,
  );
  const keys = await pool.query(`select ordering_key, next_seq::int, applied_count::int from "${schema}".ordering_keys order by 1`);
  const gaps = await pool.query(`select ordering_key, from_seq::int, to_seq::int from "${schema}".ordering_gaps order by 1, 2`);
  return { events: events.rows, keys: keys.rows, gaps: gaps.rows };
}

test.each([1, 2, 3, 4, 5, 6])("seed %i: 60 batches leave the same rows, apply order and keys as store-then-apply", async (seed) => {
  const work = batches(seed, 60);
  for (const [i, batch] of work.entries()) {
    const id = `s${seed}-b${i}`;
    expect({ batch: i, inserted: await write(after, batch, id) }).toEqual({ batch: i, inserted: await write(before, batch, id) });
    if (i % 15 === 14 && i < work.length - 1) {
      // The gap sweep, on everything stored so far (persisted in earlier transactions).
      await pool.query(`select "${before}".apply_gaps(0)`);
      await pool.query(`select "${after}".apply_gaps(0)`);
    }
  }
  const [was, is] = [await tables(before), await tables(after)];
  expect(is).toEqual(was);
  // The batches did exercise what they are meant to: waiting events, late ones, and gaps.
  expect((was.events as { applied: boolean }[]).some((e) => !e.applied)).toBe(true);
  expect((was.gaps as unknown[]).length).toBeGreaterThan(0);
});

test("an in-order batch is stored applied, with no row written twice", async () => {
  const batch: BatchEvent[] = Array.from({ length: 50 }, (_, i) => ({
    k: `inorder-${i}`,
    r: `r-inorder-${i}`,
    o: `inorder-${i % 5}`,
    s: 1 + Math.floor(i / 5),
    t: "2026-12-06T00:00:00Z",
    p: { i },
  }));
  const updates = async (schema: string) => {
    // A connection of its own: the transaction's counters include a backend's unflushed earlier ones.
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query("begin");
      await client.query(`select "${schema}".ingest_events($1::jsonb, 'inorder', 1)`, [JSON.stringify(batch)]);
      const { rows } = await client.query(
        `select n_tup_ins::int as inserted, n_tup_upd::int as updated from pg_stat_xact_user_tables where relid = '"${schema}".webhook_events'::regclass`,
      );
      await client.query("commit");
      return rows[0];
    } finally {
      await client.end();
    }
  };
  expect(await updates(before)).toEqual({ inserted: 50, updated: 50 });
  expect(await updates(after)).toEqual({ inserted: 50, updated: 0 });
  const applied = await pool.query(
    `select count(*)::int as n from "${after}".webhook_events where batch_id = 'inorder' and applied_at is not null`,
  );
  expect(applied.rows[0].n).toBe(50);
});
