// Opening Redis and PostgreSQL at start, failing with one line that names the URL and how to fix
// it (no stack trace), and keeping runtime connections fail-fast rather than queueing forever.

import { Redis } from "ioredis";
import pg from "pg";
import type { Logger } from "pino";

export class IngestStartError extends Error {
  constructor(
    readonly code:
      "config_invalid" | "redis_unreachable" | "postgres_unreachable" | "postgres_refused" | "listen_failed" | "migration_failed",
    message: string,
  ) {
    super(message);
  }
}

/** The URL with any password replaced, fit for logs and error lines. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

export interface RedisRole {
  /** The accept path: no offline queue, short timeouts, so Redis trouble becomes a fast 503. */
  kind: "accept" | "worker";
  /** Worker connections block in XREADGROUP for up to this long; their command timeout must exceed it. */
  blockMs?: number;
}

export async function openRedis(url: string, role: RedisRole, log: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // The accept path batches a turn's events into one script call itself (queue-sink.ts, measured
    // cheaper than auto-pipelining one call per event: bench/accept-writes.ts).
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    commandTimeout: role.kind === "accept" ? 500 : (role.blockMs ?? 0) + 5000,
    // Reconnect quickly and forever: the service must recover on its own when Redis comes back.
    retryStrategy: (times) => Math.min(50 * times, 500),
  });
  let lastWarn = 0;
  let lastError: Error | undefined;
  redis.on("error", (err: Error) => {
    lastError = err;
    // ioredis reports every failed reconnect; one line a second is enough to see the outage.
    const now = Date.now();
    if (now - lastWarn > 1000) {
      lastWarn = now;
      log.warn({ error: err.message }, `Redis error at ${redactUrl(url)}`);
    }
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new IngestStartError(
      "redis_unreachable",
      `Redis does not answer at ${redactUrl(url)} (${(lastError ?? (err as Error)).message}): start it with \`redis-server --daemonize yes\` or set REDIS_URL`,
    );
  }
  // An evicting Redis may drop queued events or idempotency markers: say so loudly, once.
  try {
    const policy = (await redis.config("GET", "maxmemory-policy")) as string[];
    if (policy[1] && policy[1] !== "noeviction") {
      log.warn({ maxmemory_policy: policy[1] }, "Redis maxmemory-policy is not noeviction: queued events may be evicted");
    }
  } catch {
    // CONFIG is often disabled on managed Redis.
  }
  return redis;
}

/**
 * `applicationName` names the connections in pg_stat_activity (`ingest serve NS`, `ingest worker NS`),
 * so an operator, or a bench counting PostgreSQL's CPU per request, can tell whose backends they are.
 */
export async function openPostgres(url: string, max: number, log: Logger, applicationName: string): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 0,
    application_name: applicationName,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on("error", (err) => log.warn({ error: err.message }, `PostgreSQL connection lost at ${redactUrl(url)}`));
  try {
    await pool.query("select 1");
  } catch (err) {
    await pool.end().catch(() => {});
    const e = err as { code?: string; message?: string };
    if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) {
      throw new IngestStartError(
        "postgres_refused",
        `PostgreSQL at ${redactUrl(url)} refused the connection (${e.code}: ${e.message}): fix DATABASE_URL`,
      );
    }
    throw new IngestStartError(
      "postgres_unreachable",
      `PostgreSQL does not answer at ${redactUrl(url)} (${e.message || e.code}): start it (e.g. \`pg_ctlcluster 15 main start\` or \`service postgresql start\`) or set DATABASE_URL`,
    );
  }
  return pool;
}
