// How a worker should hand a batch to PostgreSQL, measured. Arms:
//   statement        the current single statement (`ingest_events`, 004: the heads as one jsonb array, the bodies as one bytea):
//                    every ordered event is stored waiting, then apply_ready updates those whose turn it is
//   apply-on-insert  bench/apply-on-insert.sql: the same, but an event next in line for a key with
//                    nothing waiting is stored applied (one row version instead of two)
//   copy             COPY (pg-copy-streams, binary format: no escaping) into a temporary staging table,
//                    then 002's steps as a function over that table
// Same corpus, same batch size, same database; CPU per event of this process (the worker's side) and
// of its PostgreSQL backend (/proc/<pid>/stat), and wall time per batch. The arms take turns in ABBA
// order round by round, so drift favours none.
//
//   node dist/bench/batch-writes.js [--batch 50] [--batches 200] [--rounds 4] [--arms statement,apply-on-insert,copy]

import { randomBytes, randomUUID } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import pino from "pino";
import { readFileSync } from "node:fs";
import { generateCorpus } from "../src/gates/measure/corpus/replay-corpus.js";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";
import { BatchWriter, type QueuedEvent } from "../src/ingest-service/workers/batch-writer.js";
import { migrate } from "../src/ingest-service/migrate.js";
import { eventHead, type EventDetails } from "../src/ingest-service/queued-event.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** The COPY variant's second step: ingest_events (002) reading the staging table instead of a jsonb array. */
const STAGED_FUNCTION = `
create function ingest_staged(p_batch_id text, p_first_seq bigint) returns integer
language plpgsql as $$
declare
  v_keys     text[];
  v_inserted integer;
begin
  with locked as (
    insert into ordering_keys as k (ordering_key, next_seq)
    select o, least(p_first_seq, min(s)) from pg_temp.ingest_stage where o is not null
     group by o order by o
    on conflict (ordering_key) do update set next_seq = k.next_seq
    returning k.ordering_key
  )
  select array_agg(ordering_key) into v_keys from locked;
  insert into webhook_events
    (idempotency_key, request_id, ordering_key, seq, payload, received_at, batch_id, applied_at)
  select k, r, o, s, p, t, p_batch_id, case when o is null then now() end
    from pg_temp.ingest_stage order by n
  on conflict (idempotency_key) do nothing;
  get diagnostics v_inserted = row_count;
  if v_keys is not null then
    perform apply_ready(v_keys);
  end if;
  return v_inserted;
end $$;`;

const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const int16 = (n: number) => {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
};
const NULL_FIELD = int32(-1);
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** The batch in COPY BINARY format: n, k, r, o, s, t, p (the payload's bytes as sent). */
function copyBinary(events: BenchEvent[]): Buffer {
  const parts: Buffer[] = [COPY_SIGNATURE, int32(0), int32(0)];
  events.forEach((e, i) => {
    parts.push(int16(7));
    const n = Buffer.allocUnsafe(8);
    n.writeBigInt64BE(BigInt(i));
    parts.push(int32(8), n);
    for (const text of [e.idempotencyKey, e.requestId, e.orderingKey]) {
      if (text === null) parts.push(NULL_FIELD);
      else {
        const b = Buffer.from(text);
        parts.push(int32(b.length), b);
      }
    }
    if (e.seq === null) parts.push(NULL_FIELD);
    else {
      const s = Buffer.allocUnsafe(8);
      s.writeBigInt64BE(BigInt(e.seq));
      parts.push(int32(8), s);
    }
    const t = Buffer.allocUnsafe(8);
    t.writeBigInt64BE(BigInt(Date.parse(e.receivedAt) - PG_EPOCH_MS) * 1000n);
    parts.push(int32(8), t);
    parts.push(int32(e.payload.length), e.payload); // json's binary format is its text
  });
  parts.push(int16(-1));
  return Buffer.concat(parts);
}

async function copyWrite(client: pg.PoolClient, schema: string, events: BenchEvent[], batchId: string): Promise<number> {
  await client.query("begin");
  try {
    const stream = client.query(copyFrom("copy pg_temp.ingest_stage (n, k, r, o, s, t, p) from stdin (format binary)"));
    await pipeline(Readable.from([copyBinary(events)]), stream);
    const { rows } = await client.query({
      name: "ingest_staged",
      text: `select "${schema}".ingest_staged($1, $2) as inserted`,
      values: [batchId, 1],
    });
    await client.query("commit");
    return Number(rows[0].inserted);
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  }
}

/** An event as a worker holds it (head and payload, for the statement arms) and decoded (for COPY's columns). */
type BenchEvent = QueuedEvent & EventDetails & { payload: Buffer };

function batches(count: number, size: number, tag: string): BenchEvent[][] {
  const corpus = generateCorpus({ seed: `batch-writes/${tag}`, requests: count * size, orderingKeys: 500, redeliveryShare: 0.02 });
  const events: BenchEvent[] = corpus.map((c, i) => {
    const d = {
      requestId: randomUUID(),
      idempotencyKey: `${tag}:${c.id}`,
      orderingKey: `${tag}:${c.orderingKey}`,
      seq: String(c.seq),
      receivedAt: new Date().toISOString(),
    };
    const payload = Buffer.from(c.body);
    const json = Buffer.concat([Buffer.from(eventHead(d.requestId, d.idempotencyKey, d.orderingKey, d.seq, d.receivedAt)), payload]);
    return { ...d, entryId: `${i}-0`, json, payload };
  });
  const out: BenchEvent[][] = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}

const ARMS = ["statement", "apply-on-insert", "copy"] as const;
type Arm = (typeof ARMS)[number];

async function main(argv: string[]): Promise<void> {
  const at = (flag: string, fallback: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const size = Number(at("--batch", "50"));
  const count = Number(at("--batches", "200"));
  const rounds = Number(at("--rounds", "4"));
  const arms = at("--arms", ARMS.join(",")).split(",") as Arm[];
  const unknown = arms.filter((a) => !ARMS.includes(a));
  if (unknown.length) throw new Error(`unknown arm ${unknown.join(", ")}: choose from ${ARMS.join(", ")}`);
  const id = randomBytes(3).toString("hex");
  const schema = `bw_${id}`;
  const applied = `bw_${id}_aoi`; // ingest_events replaced by bench/apply-on-insert.sql
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1, idleTimeoutMillis: 0 });
  await migrate(pool, schema);
  await migrate(pool, applied);
  const aoi = readFileSync(new URL("../../bench/apply-on-insert.sql", import.meta.url), "utf8");
  await pool.query(`set search_path to "${applied}"; ${aoi}`);
  await pool.query(`set search_path to "${schema}"; ${STAGED_FUNCTION}`);
  const client = await pool.connect();
  await client.query(`set search_path to "${schema}"`);
  await client.query(
    "create temp table ingest_stage (n bigint, k text, r text, o text, s bigint, t timestamptz, p json) on commit delete rows",
  );
  const backend = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0].pid;
  client.release();
  const writers = {
    statement: new BatchWriter(pool, schema, 1, pino({ level: "silent" })),
    "apply-on-insert": new BatchWriter(pool, applied, 1, pino({ level: "silent" })),
  };
  const totals = Object.fromEntries(arms.map((a) => [a, { node: 0, pg: 0, wall: 0, events: 0 }]));
  // ABBA over the arms: A B C C B A A B C ...
  const order = [...arms, ...[...arms].reverse()];
  try {
    for (let round = 0; round < rounds * arms.length; round++) {
      const how = order[round % order.length];
      const work = batches(count, size, `${how}${round}`);
      // One connection (max 1), so `backend` is the process doing the work either way.
      const c = how === "copy" ? await pool.connect() : null;
      const n0 = process.cpuUsage();
      const p0 = processCpuUs(backend)!;
      const t0 = performance.now();
      let inserted = 0;
      for (const [i, b] of work.entries()) {
        inserted += how === "copy" ? await copyWrite(c!, schema, b, `r${round}-${i}`) : await writers[how].writeOnce(b, `r${round}-${i}`);
      }
      const wall = performance.now() - t0;
      const node = process.cpuUsage(n0);
      const pgUs = processCpuUs(backend)! - p0;
      c?.release();
      const t = totals[how];
      t.node += node.user + node.system;
      t.pg += pgUs;
      t.wall += wall;
      t.events += count * size;
      console.log(
        `round ${round + 1} ${how.padEnd(16)}: ${inserted} rows, node ${((node.user + node.system) / (count * size)).toFixed(1)} µs/event, postgres ${(pgUs / (count * size)).toFixed(1)} µs/event, ${(wall / count).toFixed(2)} ms/batch`,
      );
    }
    for (const [how, t] of Object.entries(totals)) {
      console.log(
        `${how.padEnd(16)} batch ${size}: node ${(t.node / t.events).toFixed(1)} µs/event + postgres ${(t.pg / t.events).toFixed(1)} µs/event = ${((t.node + t.pg) / t.events).toFixed(1)} µs/event; ${((t.wall / t.events) * size).toFixed(2)} ms/batch`,
      );
    }
  } finally {
    await pool.query(`drop schema "${schema}" cascade; drop schema "${applied}" cascade`).catch(() => {});
    await pool.end();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`batch-writes: ${(err as Error).message}`);
  process.exitCode = 1;
});
