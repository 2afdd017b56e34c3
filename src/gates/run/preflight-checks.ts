// Pre-flight: what must hold before the first phase is worth replaying (the war room's "pre-flight
// check" milestone). Each check is one entry of PREFLIGHT_CHECKS; the gate file's `preflight:` says
// which run and with what bar. A failed check stops the run as FAIL, naming it.

import pg from "pg";
import { Redis } from "ioredis";
import { createRedactor } from "../evidence/index.js";
import type { PreflightSpec, PreflightCheckName, PreflightResult } from "../model/index.js";
export type { PreflightCheckName, PreflightResult, PreflightSpec } from "../model/index.js";

const hideSecrets = createRedactor([]);

/** What the checks look at: the deployed target and the environment the run has. */
export interface PreflightContext {
  redisUrl?: string;
  databaseUrl: string;
  serviceBaseUrl: string;
  env: Record<string, string | undefined>;
  /** PostgreSQL connections the service holds. */
  poolSize: number;
  timeoutMs?: number;
}

interface RedisFacts {
  info: Record<string, string>;
}

interface PostgresFacts {
  maxConnections: number;
  reserved: number;
  inUse: number;
}

interface Facts {
  redis(): Promise<RedisFacts>;
  postgres(): Promise<PostgresFacts>;
}

interface PreflightCheck {
  /** Whether the gate file asks for it. */
  wanted(spec: PreflightSpec): boolean;
  run(spec: PreflightSpec, ctx: PreflightContext, facts: Facts): Promise<Omit<PreflightResult, "check">>;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number(n.toFixed(n >= 10 || i === 0 ? 0 : 1))}${units[i]}`;
}

const redisOf = (spec: PreflightSpec) => spec.redis ?? {};

/** The catalogue: a new pre-flight check is one entry here (the type makes a forgotten one a compile error). */
export const PREFLIGHT_CHECKS = {
  redis_maxmemory_policy: {
    wanted: (s) => Boolean(s.redis?.maxmemoryPolicy),
    async run(spec, _ctx, facts) {
      const want = redisOf(spec).maxmemoryPolicy!;
      const have = (await facts.redis()).info.maxmemory_policy ?? "unknown";
      return {
        expected: `maxmemory-policy ${want}`,
        actual: `maxmemory-policy ${have}`,
        verdict: have === want ? "PASS" : "FAIL",
        detail:
          have === want
            ? undefined
            : `set \`maxmemory-policy ${want}\` in redis.conf (or CONFIG SET): under memory pressure Redis would otherwise evict queued events`,
      };
    },
  },
  redis_aof: {
    wanted: (s) => s.redis?.aof === "required",
    async run(_spec, _ctx, facts) {
      const on = (await facts.redis()).info.aof_enabled === "1";
      return {
        expected: "appendonly yes (AOF on)",
        actual: on ? "appendonly yes" : "appendonly no",
        verdict: on ? "PASS" : "FAIL",
        detail: on
          ? undefined
          : "set `appendonly yes` and `appendfsync always`: without AOF a Redis restart loses every accepted event still queued",
      };
    },
  },
  redis_free_memory: {
    wanted: (s) => Boolean(s.redis?.freeMemory),
    async run(spec, _ctx, facts) {
      const bar = redisOf(spec).freeMemory!;
      const info = (await facts.redis()).info;
      const used = Number(info.used_memory ?? NaN);
      const max = Number(info.maxmemory ?? 0);
      const limit = max > 0 ? max : Number(info.total_system_memory ?? NaN);
      const free = limit - used;
      const basis = max > 0 ? "maxmemory − used_memory" : "no maxmemory set: total_system_memory − used_memory";
      if (!Number.isFinite(free))
        return {
          expected: `free memory ≥ ${bar.display}`,
          actual: "unknown",
          verdict: "FAIL",
          detail: "Redis INFO memory did not report used_memory and a limit",
        };
      return {
        expected: `free memory ≥ ${bar.display}`,
        actual: `${formatBytes(free)} free (${basis})`,
        verdict: free >= bar.bytes ? "PASS" : "FAIL",
        detail: free >= bar.bytes ? undefined : `raise maxmemory or free memory on the Redis host: a replay's queue needs room`,
      };
    },
  },
  postgres_max_connections: {
    wanted: (s) => Boolean(s.postgres?.maxConnections),
    async run(spec, _ctx, facts) {
      const bar = spec.postgres!.maxConnections!;
      const { maxConnections } = await facts.postgres();
      return {
        expected: `max_connections ≥ ${bar.display}`,
        actual: `max_connections ${maxConnections}`,
        verdict: maxConnections >= bar.min ? "PASS" : "FAIL",
        detail:
          maxConnections >= bar.min ? undefined : `raise max_connections in postgresql.conf to at least ${bar.min} (a restart is needed)`,
      };
    },
  },
  postgres_pool_headroom: {
    wanted: (s) => Boolean(s.postgres),
    async run(_spec, ctx, facts) {
      const { maxConnections, reserved, inUse } = await facts.postgres();
      const free = maxConnections - reserved - inUse;
      return {
        expected: `room for the service's pool (${ctx.poolSize} connection${ctx.poolSize === 1 ? "" : "s"})`,
        actual: `${free} free of ${maxConnections} (${inUse} in use, ${reserved} reserved for superusers)`,
        verdict: free >= ctx.poolSize ? "PASS" : "FAIL",
        detail:
          free >= ctx.poolSize
            ? undefined
            : `the service's workers would wait for connections: close idle clients or raise max_connections`,
      };
    },
  },
  secrets_present: {
    wanted: (s) => Boolean(s.secrets?.length),
    async run(spec, ctx) {
      const names = spec.secrets!;
      const missing = names.filter((n) => !ctx.env[n]);
      return {
        expected: `set: ${names.join(", ")}`,
        actual: missing.length ? `missing: ${missing.join(", ")}` : "all set",
        verdict: missing.length ? "FAIL" : "PASS",
        detail: missing.length ? `set ${missing.join(", ")} in the environment of the process that runs the gate` : undefined,
      };
    },
  },
  service_ready: {
    wanted: (s) => s.serviceReady === true,
    async run(_spec, ctx) {
      const url = `${ctx.serviceBaseUrl}/readyz`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(ctx.timeoutMs ?? 3000) });
        await res.arrayBuffer();
        return {
          expected: "GET /readyz → 200",
          actual: `GET /readyz → ${res.status}`,
          verdict: res.ok ? "PASS" : "FAIL",
          detail: res.ok ? undefined : `the service says it is not ready: see its logs`,
        };
      } catch (err) {
        return {
          expected: "GET /readyz → 200",
          actual: `no answer (${(err as Error).message})`,
          verdict: "FAIL",
          detail: `the service at ${ctx.serviceBaseUrl} does not answer`,
        };
      }
    },
  },
} satisfies Record<PreflightCheckName, PreflightCheck>;

export const PREFLIGHT_CHECK_NAMES = Object.keys(PREFLIGHT_CHECKS) as PreflightCheckName[];

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= load());
}

/** Reads Redis INFO and PostgreSQL's connection settings once each, only if a check needs them. */
function liveFacts(ctx: PreflightContext): Facts {
  const timeout = ctx.timeoutMs ?? 3000;
  return {
    redis: once(async () => {
      if (!ctx.redisUrl) throw new Error("no Redis URL: set preflight.redis.url for a deployed target");
      const redis = new Redis(ctx.redisUrl, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        connectTimeout: timeout,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      redis.on("error", () => {});
      try {
        await redis.connect();
        return { info: { ...parseInfo(await redis.info("memory")), ...parseInfo(await redis.info("persistence")) } };
      } catch (err) {
        throw new Error(
          `Redis at ${hideSecrets(ctx.redisUrl)} did not answer (${(err as Error).message}); check the target's redis_url or preflight.redis.url`,
          { cause: err },
        );
      } finally {
        redis.disconnect();
      }
    }),
    postgres: once(async () => {
      const client = new pg.Client({ connectionString: ctx.databaseUrl, connectionTimeoutMillis: timeout });
      try {
        await client.connect();
        const { rows } = await client.query(
          "select current_setting('max_connections')::int as max, current_setting('superuser_reserved_connections')::int as reserved, (select count(*)::int from pg_stat_activity) as in_use",
        );
        return { maxConnections: rows[0].max, reserved: rows[0].reserved, inUse: rows[0].in_use };
      } catch (err) {
        throw new Error(
          `PostgreSQL at ${hideSecrets(ctx.databaseUrl)} did not answer (${(err as Error).message}); check the target's database_url`,
          { cause: err },
        );
      } finally {
        await client.end().catch(() => {});
      }
    }),
  };
}

/** Runs every check the spec asks for, in catalogue order; a check that cannot look is a FAIL saying why. */
export async function runPreflight(
  spec: PreflightSpec,
  ctx: PreflightContext,
  onResult?: (r: PreflightResult) => void | Promise<void>,
  facts: Facts = liveFacts(ctx),
): Promise<PreflightResult[]> {
  const results: PreflightResult[] = [];
  for (const name of PREFLIGHT_CHECK_NAMES) {
    const check: PreflightCheck = PREFLIGHT_CHECKS[name];
    if (!check.wanted(spec)) continue;
    let r: PreflightResult;
    try {
      r = { check: name, ...(await check.run(spec, ctx, facts)) };
    } catch (err) {
      r = { check: name, expected: "a reading", actual: "could not check", verdict: "FAIL", detail: (err as Error).message };
    }
    results.push(r);
    await onResult?.(r);
  }
  return results;
}
