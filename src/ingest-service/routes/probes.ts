// GET or HEAD /healthz (the process runs), /readyz (Redis and PostgreSQL answer within 1 s) and
// /metrics (Prometheus text, with the queue's depth and the workers' counters read from Redis).

import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { IngestMode } from "../config.js";
import { renderMetrics, type QueueState, type ServerMetrics } from "../metrics.js";
import { queueKeys } from "../queue-keys.js";
import { send, sendRefusal, type Route } from "./route.js";

export interface ProbeSources {
  mode: IngestMode;
  namespace: string;
  /** Queue mode only. */
  redis: Redis | undefined;
  pool: pg.Pool;
  metrics: ServerMetrics;
}

const READ_ONLY = ["GET", "HEAD"];

export function probeRoutes(s: ProbeSources): [path: string, route: Route][] {
  const { redis, pool } = s;
  const keys = queueKeys(s.namespace);
  const alive = `{"status":"alive","mode":"${s.mode}"}`;

  async function readiness(res: ServerResponse): Promise<void> {
    const checks = await Promise.all([
      ...(redis ? [check("redis", () => redis.ping())] : []),
      check("postgres", () => pool.query("select 1")),
    ]);
    const ok = checks.every(([, v]) => v === "ok");
    send(
      res,
      ok ? 200 : 503,
      JSON.stringify({ status: ok ? "ready" : "not_ready", mode: s.mode, checks: Object.fromEntries(checks) }),
      randomUUID(),
    );
  }

  async function scrape(res: ServerResponse): Promise<void> {
    let queue: QueueState | null = null;
    let workers: Record<string, string> | null = null;
    if (redis) {
      const [depth, pending, hash] = await Promise.all([
        redis.xlen(keys.events).catch(() => -1),
        (redis.xpending(keys.events, keys.group) as Promise<[number, ...unknown[]]>).then((r) => Number(r[0])).catch(() => 0),
        redis.hgetall(keys.metrics).catch(() => ({}) as Record<string, string>),
      ]);
      queue = { depth, pending };
      workers = hash;
    }
    const body = renderMetrics(s.metrics, queue, workers);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4", "content-length": String(Buffer.byteLength(body)) });
    res.end(body);
  }

  return [
    ["/healthz", probe(async (res) => send(res, 200, alive, randomUUID()))],
    ["/readyz", probe(readiness)],
    ["/metrics", probe(scrape)],
  ];
}

function probe(answer: (res: ServerResponse) => Promise<void>): Route {
  return {
    methods: READ_ONLY,
    handle(req, res) {
      req.resume();
      answer(res).catch((err: Error) => sendRefusal(res, randomUUID(), { status: 500, code: "internal", message: err.message }));
    },
  };
}

/** [name, "ok"], or [name, why not] when the probe fails or takes over a second. */
async function check(name: string, probe: () => Promise<unknown>): Promise<[string, string]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([probe(), new Promise((_, fail) => (timer = setTimeout(() => fail(new Error("no answer within 1000 ms")), 1000)))]);
    return [name, "ok"];
  } catch (err) {
    return [name, (err as Error).message];
  } finally {
    clearTimeout(timer);
  }
}
