// The batch's statement written to the socket by hand (batch-statement.ts), against a real PostgreSQL:
// its bytes arrive as sent, it is parsed once per connection, an error settles it once and leaves the
// connection usable, and a closed connection refuses it.

import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { BatchStatement } from "../../../src/ingest-service/workers/batch-statement.js";
import { DATABASE_URL, newNamespace } from "../support/ingest-fixture.js";

let admin: pg.Client;
let schema: string;
let text: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  schema = newNamespace();
  await admin.query(`create schema "${schema}"`);
  // Keeps what arrived and answers the heads' array length; a first sequence number below zero
  // raises, as a data error.
  await admin.query(`create table "${schema}".got (h jsonb, b bytea, id text, seq int)`);
  await admin.query(`create function "${schema}".take(h jsonb, b bytea, id text, seq int) returns int language plpgsql as $$
    begin
      if seq < 0 then raise exception 'negative first sequence %', seq using errcode = '22023'; end if;
      insert into "${schema}".got values (h, b, id, seq);
      return jsonb_array_length(h);
    end $$`);
  text = `select "${schema}".take($1::jsonb, $2::bytea, $3, $4) as inserted`;
});

afterAll(async () => {
  await admin.query(`drop schema "${schema}" cascade`);
  await admin.end();
});

/** jsonb's binary input: a version byte and the text. */
const jsonb = (value: unknown) => Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value))]);

function run(client: pg.Client, name: string, heads: Buffer, bodies: Buffer, batchId: string, firstSeq: number): Promise<number> {
  return new Promise((resolve, reject) => {
    client.query(new BatchStatement(name, text, heads, bodies, batchId, firstSeq, (err, n) => (err ? reject(err) : resolve(n))));
  });
}

async function got(batchId: string): Promise<{ h: unknown; sha: string; seq: number }> {
  const { rows } = await admin.query(`select h, encode(sha256(b), 'hex') as sha, seq from "${schema}".got where id = $1`, [batchId]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A connection of its own for one test, closed after it. */
async function withClient(use: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await use(client);
  } finally {
    await client.end();
  }
}

test("a batch of several megabytes arrives byte for byte, with its text parameters", async () => {
  await withClient(async (client) => {
    const bodies = randomBytes(3 * 1024 * 1024 + 17);
    const list = Array.from({ length: 500 }, (_, i) => ({ r: `req-${i}`, k: "ké✓", b: i, l: 1 }));
    expect(await run(client, `${schema}_take`, jsonb(list), bodies, "batch-é-1", 42)).toBe(500);
    expect(await got("batch-é-1")).toEqual({ h: list, sha: sha256(bodies), seq: 42 });
  });
});

test("the statement is parsed once per connection and then only bound", async () => {
  await withClient(async (client) => {
    const name = `${schema}_once`;
    for (let i = 0; i < 3; i++) {
      expect(await run(client, name, jsonb([i, i]), Buffer.from([i]), `once-${i}`, i)).toBe(2);
      expect(await got(`once-${i}`)).toEqual({ h: [i, i], sha: sha256(Buffer.from([i])), seq: i });
    }
    const { rows } = await client.query("select count(*)::int as n from pg_prepared_statements where name = $1", [name]);
    expect(rows[0].n).toBe(1);
  });
});

test("an error from PostgreSQL settles the statement once, with its SQLSTATE, and the connection goes on", async () => {
  await withClient(async (client) => {
    const calls: (Error | null)[] = [];
    await new Promise<void>((resolve) => {
      const statement = new BatchStatement(`${schema}_fail`, text, jsonb([]), Buffer.alloc(0), "failed", -1, (err) => {
        calls.push(err);
        resolve();
      });
      client.query(statement);
    });
    // The ReadyForQuery after the error must not settle it a second time.
    const { rows } = await client.query("select 1 as one");
    expect(rows[0].one).toBe(1);
    expect(calls).toHaveLength(1);
    expect((calls[0] as Error & { code?: string }).code).toBe("22023");
    expect(calls[0]?.message).toMatch(/negative first sequence -1/);
    // And the same statement works on that connection afterwards.
    await expect(run(client, `${schema}_fail`, jsonb([1]), Buffer.from("x"), "after-error", 1)).resolves.toBe(1);
  });
});

test("a connection PostgreSQL closed refuses the statement with an error instead of hanging", async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  client.on("error", () => {}); // The termination below is reported here too.
  await client.connect();
  const { rows } = await client.query("select pg_backend_pid() as pid");
  await admin.query("select pg_terminate_backend($1)", [rows[0].pid]);
  await new Promise((r) => setTimeout(r, 200));
  await expect(run(client, `${schema}_closed`, jsonb([]), Buffer.alloc(0), "b", 1)).rejects.toThrow();
  await client.end().catch(() => {});
});
