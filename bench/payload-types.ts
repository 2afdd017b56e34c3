// What storing a ~6 KB webhook costs PostgreSQL by the payload column's type, apart from everything
// else a batch does (no ordering keys, no apply step): the corpus's bodies, 50 to a statement, into a
// table with a primary key, a unique key and an lz4-compressed payload. Arms:
//   jsonb  the batch as one jsonb array (binary format), each payload taken out with ->: 002's way
//   json   the bodies as one bytea cut by offsets, converted to text and checked as JSON: 004's way
//   text   the same without the JSON check
//   bytea  the same without the UTF-8 check either
// CPU per event of the PostgreSQL backend (/proc/<pid>/stat) and of this process, arms in ABBA order.
//
//   node dist/bench/payload-types.js [--arms jsonb,json,text,bytea] [--batches 100] [--rounds 2]

import pg from "pg";
import { generateCorpus } from "../src/gates/measure/corpus/replay-corpus.js";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const BATCH = 50;
const SCHEMA = `payload_types_${process.pid}`;

interface Body {
  key: string;
  body: Buffer;
}

/** Where each body starts in the batch's bytea, and its length. */
function placed(batch: Body[]): { offsets: number[]; lengths: number[]; bodies: Buffer } {
  const lengths = batch.map((b) => b.body.length);
  const offsets: number[] = [];
  let at = 0;
  for (const l of lengths) {
    offsets.push(at);
    at += l;
  }
  return { offsets, lengths, bodies: Buffer.concat(batch.map((b) => b.body)) };
}

const cut = (type: string) =>
  `insert into ${SCHEMA}.as_${type} (k, payload)
   select k, ${type === "bytea" ? "substring($2::bytea from o + 1 for l)" : `convert_from(substring($2::bytea from o + 1 for l), 'UTF8')::${type}`}
     from unnest($1::text[], $3::int[], $4::int[]) as u(k, o, l)`;

const ARMS: Record<string, (c: pg.PoolClient, batch: Body[]) => Promise<unknown>> = {
  jsonb: (c, batch) => {
    const parts: Buffer[] = [Buffer.from([1, 0x5b])]; // jsonb's binary format: version 1, then the text
    batch.forEach((b, i) => parts.push(Buffer.from(`${i ? "," : ""}{"k":${JSON.stringify(b.key)},"p":`), b.body, Buffer.from("}")));
    parts.push(Buffer.from("]"));
    return c.query({
      name: "jsonb",
      text: `insert into ${SCHEMA}.as_jsonb (k, payload) select x->>'k', x->'p' from jsonb_array_elements($1::jsonb) x`,
      values: [Buffer.concat(parts)],
    });
  },
  ...Object.fromEntries(
    ["json", "text", "bytea"].map((type) => [
      type,
      (c: pg.PoolClient, batch: Body[]) => {
        const { offsets, lengths, bodies } = placed(batch);
        return c.query({ name: type, text: cut(type), values: [batch.map((b) => b.key), bodies, offsets, lengths] });
      },
    ]),
  ),
};

async function main(argv: string[]): Promise<number> {
  const at = (flag: string, fallback: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const arms = at("--arms", Object.keys(ARMS).join(",")).split(",");
  const batches = Number(at("--batches", "100"));
  const rounds = Number(at("--rounds", "2"));
  const unknown = arms.filter((a) => !(a in ARMS));
  if (unknown.length || !Number.isInteger(batches) || batches < 1 || !Number.isInteger(rounds) || rounds < 1) {
    console.error(
      `usage: payload-types [--arms ${Object.keys(ARMS).join(",")}] [--batches N] [--rounds N]${unknown.length ? ` (unknown arm ${unknown.join(", ")})` : ""}`,
    );
    return 2;
  }
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  const c = await pool.connect();
  try {
    await c.query(`create schema ${SCHEMA}`);
    for (const type of arms) {
      await c.query(`create table ${SCHEMA}.as_${type} (id bigserial primary key, k text unique not null, payload ${type} not null)`);
      await c.query(`alter table ${SCHEMA}.as_${type} alter column payload set compression lz4`).catch(() => {});
    }
    const backend = (await c.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0].pid;
    const totals: Record<string, { pg: number; node: number; events: number }> = {};
    const order = [...arms, ...[...arms].reverse()];
    for (let round = 0; round < rounds * order.length; round++) {
      const arm = order[round % order.length];
      const corpus = generateCorpus({ seed: `payload-types/${round}`, requests: batches * BATCH, orderingKeys: 500, redeliveryShare: 0 });
      const work: Body[][] = [];
      for (let i = 0; i < corpus.length; i += BATCH)
        work.push(corpus.slice(i, i + BATCH).map((e, j) => ({ key: `${round}:${i + j}`, body: Buffer.from(e.body) })));
      const p0 = processCpuUs(backend)!;
      const n0 = process.cpuUsage();
      for (const batch of work) {
        await c.query("begin");
        await ARMS[arm](c, batch);
        await c.query("commit");
      }
      const n = process.cpuUsage(n0);
      const pgUs = processCpuUs(backend)! - p0;
      const t = (totals[arm] ??= { pg: 0, node: 0, events: 0 });
      t.pg += pgUs;
      t.node += n.user + n.system;
      t.events += corpus.length;
      console.log(
        `round ${round + 1} ${arm.padEnd(5)}: postgres ${(pgUs / corpus.length).toFixed(1)} µs/event, node ${((n.user + n.system) / corpus.length).toFixed(1)} µs/event`,
      );
    }
    for (const [arm, t] of Object.entries(totals)) {
      console.log(
        `${arm.padEnd(5)} batch ${BATCH}: postgres ${(t.pg / t.events).toFixed(1)} µs/event, node ${(t.node / t.events).toFixed(1)} µs/event`,
      );
    }
    return 0;
  } finally {
    await c.query(`drop schema if exists ${SCHEMA} cascade`).catch(() => {});
    c.release();
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`payload-types: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
