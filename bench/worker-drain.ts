// What a worker spends per event, apart from the rest of the service: the stream is filled with the
// corpus through a build's own accept path (its QueueSink and accept-batch.lua, answers going nowhere),
// then one worker of the same build drains it in this process, and the process CPU over the drain is
// divided by the events. A backlog is written in full batches, so this is the per-event cost without
// the linger's part. PostgreSQL's CPU over the same drain (every postgres process on the box: the worker's
// backends, the WAL writer, the checkpointer) is reported per event beside it. With --before DIR (another checkout, built: `npm ci && npm run build` in it) the
// two builds take turns, after-before-before-after per round, so a drifting machine favours neither.
//
//   node dist/bench/worker-drain.js [--before DIR] [--events 20000] [--rounds 2]

import { randomBytes, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { pino } from "pino";
import { generateCorpus } from "../src/gates/measure/corpus/replay-corpus.js";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const THIS_BUILD = resolve(fileURLToPath(new URL("../..", import.meta.url)));

interface BuildModules {
  QueueSink: new (
    redis: Redis,
    namespace: string,
    ttlS: number,
    answers: unknown,
  ) => { put(e: unknown, res: ServerResponse, started: number): void };
  WebhookAnswers: new (metrics: unknown, log: unknown) => unknown;
  ServerMetrics: new () => unknown;
  startIngestWorker: (options: Record<string, unknown>) => Promise<{ close(): Promise<void> }>;
  defaultWorkerOptions: () => Record<string, unknown>;
}

async function modulesOf(root: string): Promise<BuildModules> {
  const at = (file: string) => import(pathToFileURL(join(root, "dist/src/ingest-service", file)).href);
  const [sink, answers, metrics, worker, config] = await Promise.all([
    at("queue-sink.js"),
    at("routes/webhook-answers.js"),
    at("metrics.js"),
    at("workers/worker.js"),
    at("config.js"),
  ]);
  return { ...sink, ...answers, ...metrics, ...worker, ...config } as BuildModules;
}

/** CPU so far of every PostgreSQL process on this machine, by pid. */
function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, "utf8").trim() !== "postgres") continue;
    } catch {
      continue; // gone
    }
    const us = processCpuUs(Number(name));
    if (us !== null) out.set(Number(name), us);
  }
  return out;
}

/** CPU spent between two postgresCpu() readings by the processes alive at the second (a new one counts whole). */
function postgresSpent(before: Map<number, number>, after: Map<number, number>): number {
  let us = 0;
  for (const [pid, now] of after) us += now - (before.get(pid) ?? 0);
  return us;
}

interface DrainCost {
  /** The worker's process, µs per event. */
  worker: number;
  /** Every PostgreSQL process, µs per event. */
  postgres: number;
}

/** Fills a fresh namespace with `events` through the build's accept path, drains it with one worker; µs of CPU per event. */
async function drain(build: BuildModules, events: number, seed: string): Promise<DrainCost> {
  const namespace = `drain_${randomBytes(3).toString("hex")}`;
  const redis = new Redis(REDIS_URL);
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    const sink = new build.QueueSink(
      redis,
      namespace,
      86400,
      new build.WebhookAnswers(new build.ServerMetrics(), pino({ level: "silent" })),
    );
    const corpus = generateCorpus({ seed, requests: events, orderingKeys: 500, redeliveryShare: 0 });
    let answered = 0;
    let filled!: () => void;
    const done = new Promise<void>((r) => (filled = r));
    const res = {
      writeHead() {},
      end() {
        if (++answered === events) filled();
      },
    } as unknown as ServerResponse;
    for (let i = 0; i < events; i += 50) {
      for (const c of corpus.slice(i, i + 50)) {
        const e = {
          requestId: randomUUID(),
          idempotencyKey: `${namespace}:${c.id}`,
          orderingKey: c.orderingKey,
          seq: String(c.seq),
          receivedAt: new Date().toISOString(),
          payload: Buffer.from(c.body),
        };
        sink.put(e, res, performance.now());
      }
      await new Promise((r) => setImmediate(r));
    }
    await done;

    const before = process.cpuUsage();
    const postgresBefore = postgresCpu();
    const worker = await build.startIngestWorker({
      ...build.defaultWorkerOptions(),
      namespace,
      redisUrl: REDIS_URL,
      databaseUrl: DATABASE_URL,
      // Logged as in production (its "committed" line per batch), to a file of its own.
      logLevel: "info",
      logFile: join(tmpdir(), `${namespace}.worker.log`),
      nice: 0,
      batchSize: 50,
    });
    // Polled every 50 ms on a connection of its own: a few queries against thousands of batches.
    for (;;) {
      const { rows } = await db.query(`select count(*)::int as n from "${namespace}".webhook_events`);
      if (rows[0].n >= events) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const used = process.cpuUsage(before);
    const postgres = postgresSpent(postgresBefore, postgresCpu());
    await worker.close();
    return { worker: (used.user + used.system) / events, postgres: postgres / events };
  } finally {
    rmSync(join(tmpdir(), `${namespace}.worker.log`), { force: true });
    await db.query(`drop schema if exists "${namespace}" cascade`).catch(() => {});
    await db.end();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
    redis.disconnect();
  }
}

async function main(argv: string[]): Promise<number> {
  const at = (flag: string, fallback?: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const events = Number(at("--events", "20000"));
  const rounds = Number(at("--rounds", "2"));
  const beforeDir = at("--before");
  if (!Number.isInteger(events) || events < 1000 || !Number.isInteger(rounds) || rounds < 1) {
    console.error("usage: worker-drain [--before DIR] [--events N >= 1000] [--rounds N >= 1]");
    return 2;
  }
  const after = await modulesOf(THIS_BUILD);
  const before = beforeDir ? await modulesOf(resolve(beforeDir)) : null;
  const results: Record<"after" | "before", DrainCost[]> = { after: [], before: [] };
  const order = before ? (["after", "before", "before", "after"] as const) : (["after"] as const);
  console.log(`worker-drain: ${events} events per drain, ${rounds} round(s)${before ? `; before: ${resolve(beforeDir!)}` : ""}`);
  let n = 0;
  for (let round = 1; round <= rounds; round++) {
    for (const which of order) {
      const cost = await drain(which === "after" ? after : before!, events, `worker-drain/${++n}`);
      results[which].push(cost);
      console.log(
        `  round ${round} ${which.padEnd(6)} worker ${cost.worker.toFixed(1)} µs, PostgreSQL ${cost.postgres.toFixed(1)} µs per event`,
      );
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const part of ["worker", "postgres"] as const) {
    const label = part === "worker" ? "worker" : "PostgreSQL";
    const a = mean(results.after.map((c) => c[part]));
    if (before) {
      const b = mean(results.before.map((c) => c[part]));
      const byRound = Array.from({ length: rounds }, (_, r) => {
        const pair = (xs: DrainCost[]) => mean(xs.slice(2 * r, 2 * r + 2).map((c) => c[part]));
        return `${(pair(results.after) / pair(results.before)).toFixed(2)}x`;
      });
      console.log(
        `${label} CPU per event: after ${a.toFixed(1)} µs, before ${b.toFixed(1)} µs: after ÷ before = ${(a / b).toFixed(2)}x (by round ${byRound.join(", ")})`,
      );
    } else {
      console.log(`${label} CPU per event: ${a.toFixed(1)} µs (mean of ${results.after.length})`);
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`worker-drain: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
