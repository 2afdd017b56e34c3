// What the ingest-service tests share: a fresh namespace per test (dropped afterwards), options for
// in-process servers and workers, a small HTTP client, and ways to look at Redis and PostgreSQL.

import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { request } from "undici";
import { defaultServerOptions, defaultWorkerOptions, type ServerOptions, type WorkerOptions } from "../../../src/ingest-service/config.js";
import { queueKeys } from "../../../src/ingest-service/queue-keys.js";
import { startIngestServer, type IngestServer } from "../../../src/ingest-service/server.js";
import type { IngestWorker } from "../../../src/ingest-service/workers/worker.js";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A namespace no other test uses: its own Redis keys and PostgreSQL schema. */
export function newNamespace(): string {
  return `t_${randomBytes(6).toString("hex")}`;
}

export function serverOptions(namespace: string, overrides: Partial<ServerOptions> = {}): ServerOptions {
  return {
    ...defaultServerOptions(),
    namespace,
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
    port: 0,
    insecure: true,
    logLevel: "silent",
    ...overrides,
  };
}

/** What each test of a queue-mode file gets: its own namespace, a server on it, and the workers it starts. */
export interface QueueModeTest {
  store: Store;
  server: IngestServer;
  /** Workers the test started: closed after it, before its namespace is dropped. */
  workers: IngestWorker[];
}

/** Registers the hooks that give each test of the file (or describe block) a fresh QueueModeTest. */
export function eachTestInQueueMode(): QueueModeTest {
  const q = { workers: [] as IngestWorker[] } as QueueModeTest;
  beforeEach(async () => {
    q.store = new Store(newNamespace());
    q.workers = [];
    q.server = await startIngestServer(serverOptions(q.store.namespace));
  });
  afterEach(async () => {
    await Promise.all(q.workers.map((w) => w.close()));
    await q.server.close();
    await q.store.drop();
  });
  return q;
}

export function workerOptions(namespace: string, overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    ...defaultWorkerOptions(),
    namespace,
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
    logLevel: "silent",
    nice: 0, // in-process: renicing would slow the test runner itself
    ...overrides,
  };
}

/** Direct access to one namespace's Redis keys and PostgreSQL schema, and its cleanup. */
export class Store {
  readonly redis: Redis;
  readonly pool: pg.Pool;
  readonly keys: ReturnType<typeof queueKeys>;

  constructor(readonly namespace: string) {
    this.redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
    this.pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
    this.keys = queueKeys(namespace);
  }

  get schema(): string {
    return `"${this.namespace}"`;
  }

  async queueLength(): Promise<number> {
    return this.redis.xlen(this.keys.events);
  }

  async idempotencyMarkers(): Promise<number> {
    return (await this.scan(`${this.keys.idem}*`)).length;
  }

  /** SCAN rather than KEYS: the Redis is shared with everyone else's tests. */
  async scan(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== "0");
    return found;
  }

  /** Rows in webhook_events; 0 when the schema does not exist yet. */
  async rowCount(): Promise<number> {
    const { rows } = await this.pool.query("select to_regclass($1) as t", [`${this.schema}.webhook_events`]);
    if (!rows[0].t) return 0;
    return (await this.pool.query(`select count(*)::int as n from ${this.schema}.webhook_events`)).rows[0].n;
  }

  async events(): Promise<
    {
      idempotency_key: string;
      request_id: string;
      ordering_key: string | null;
      seq: number | null;
      apply_index: number | null;
      applied: boolean;
      payload: unknown;
      batch_id: string;
    }[]
  > {
    const { rows } = await this.pool.query(
      `select idempotency_key, request_id, ordering_key, seq::int as seq, apply_index::int as apply_index,
              applied_at is not null as applied, payload, batch_id
         from ${this.schema}.webhook_events order by ordering_key nulls first, apply_index nulls last, id`,
    );
    return rows;
  }

  async gaps(): Promise<{ ordering_key: string; from_seq: number; to_seq: number }[]> {
    const { rows } = await this.pool.query(
      `select ordering_key, from_seq::int as from_seq, to_seq::int as to_seq from ${this.schema}.ordering_gaps order by ordering_key, from_seq`,
    );
    return rows;
  }

  async drop(): Promise<void> {
    // Bounded: a test that left a lock behind must fail loudly, not hang the suite.
    await this.pool.query(`set lock_timeout = '5s'; drop schema if exists ${this.schema} cascade`).catch((err: Error) => {
      console.error(`could not drop schema ${this.namespace}: ${err.message}`);
    });
    const found = await this.scan(`${this.namespace}:*`).catch(() => [] as string[]);
    if (found.length) await this.redis.del(...found).catch(() => 0);
    this.redis.disconnect();
    await this.pool.end().catch(() => {});
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  ms: number;
}

export async function send(
  url: string,
  init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const t0 = performance.now();
  const res = await request(url, {
    method: (init.method ?? "POST") as "POST",
    body: init.body,
    headers: init.headers,
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (metrics): keep the text.
  }
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - t0 };
}

/** POSTs a JSON webhook with an idempotency key (and ordering headers when given). */
export function postWebhook(
  baseUrl: string,
  id: string,
  payload: unknown = { event: id },
  extra: Record<string, string> = {},
): Promise<Answer> {
  return send(`${baseUrl}/webhooks`, {
    body: JSON.stringify(payload),
    headers: { "content-type": "application/json", "webhook-id": id, ...extra },
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
    last = await probe();
  }
  return last;
}

/** Fisher-Yates with a seeded generator, so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
