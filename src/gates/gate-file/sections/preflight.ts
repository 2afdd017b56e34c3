// `preflight:` what Redis, PostgreSQL, the environment and the service must be before load starts.

import { SERVER_POSTGRES_POOL, WORKER_POSTGRES_POOL } from "../../../ingest-service/postgres-pools.js";
import { type Target, type PreflightSpec, parseBytes } from "../../model/index.js";
import { atLeast, countIn, oneOf, url } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { PREFLIGHT_KEYS, PREFLIGHT_POSTGRES_KEYS, PREFLIGHT_REDIS_KEYS } from "../schema.js";

export function readPreflight(r: GateReader, entry: Entry, target: Target | undefined): PreflightSpec | undefined {
  const m = r.mapping(entry, "preflight", PREFLIGHT_KEYS, "the pre-flight checks");
  if (!m) return undefined;
  const at = (k: string) => m.entries.get(k);
  const spec: PreflightSpec = {};
  let ok = true;
  const redisEntry = at("redis");
  if (redisEntry) {
    const redis = r.mapping(redisEntry, "preflight.redis", PREFLIGHT_REDIS_KEYS, "the Redis checks");
    if (!redis) ok = false;
    else {
      const got = (k: string) => redis.entries.get(k);
      const url_ = got("url")
        ? r.value(got("url"), "preflight.redis.url", url(["redis:", "rediss:"], "redis://queue.example.com:6379"))
        : target?.kind === "bundled"
          ? target.redisUrl
          : undefined;
      if (!got("url") && target?.kind === "deployed") {
        r.problem(redisEntry.key, "preflight.redis.url", `a deployed target names no Redis; expected url: the Redis the service queues in`);
        ok = false;
      }
      const policy = got("maxmemory_policy")
        ? r.value(
            got("maxmemory_policy"),
            "preflight.redis.maxmemory_policy",
            oneOf([
              "noeviction",
              "allkeys-lru",
              "volatile-lru",
              "allkeys-lfu",
              "volatile-lfu",
              "allkeys-random",
              "volatile-random",
              "volatile-ttl",
            ] as const),
          )
        : undefined;
      const aof = got("aof") ? r.value(got("aof"), "preflight.redis.aof", oneOf(["required", "any"] as const)) : undefined;
      const free = got("free_memory")
        ? r.value(got("free_memory"), "preflight.redis.free_memory", atLeast(parseBytes, `">= 64MB"`))
        : undefined;
      if (
        (got("url") && url_ === undefined) ||
        (got("maxmemory_policy") && !policy) ||
        (got("aof") && !aof) ||
        (got("free_memory") && !free)
      )
        ok = false;
      spec.redis = {
        url: url_,
        ...(policy ? { maxmemoryPolicy: policy } : {}),
        ...(aof ? { aof } : {}),
        ...(free ? { freeMemory: { bytes: free.value, display: free.display } } : {}),
      };
    }
  }
  const pgEntry = at("postgres");
  if (pgEntry) {
    const p = r.mapping(pgEntry, "preflight.postgres", PREFLIGHT_POSTGRES_KEYS, "the PostgreSQL checks");
    if (!p) ok = false;
    else {
      const got = (k: string) => p.entries.get(k);
      const max = got("max_connections")
        ? r.value(
            got("max_connections"),
            "preflight.postgres.max_connections",
            atLeast((raw) => countIn(1, 1_000_000)(raw), `">= 100"`),
          )
        : undefined;
      let poolSize = got("pool_size") ? r.value(got("pool_size"), "preflight.postgres.pool_size", countIn(1, 100_000)) : undefined;
      if (poolSize === undefined && !got("pool_size") && target?.kind === "bundled")
        poolSize = SERVER_POSTGRES_POOL + target.workers * WORKER_POSTGRES_POOL;
      if (!got("pool_size") && target?.kind === "deployed") {
        r.problem(
          pgEntry.key,
          "preflight.postgres.pool_size",
          `a deployed target's pool is unknown; expected pool_size: the PostgreSQL connections the service opens`,
        );
        ok = false;
      }
      if ((got("max_connections") && !max) || poolSize === undefined) ok = false;
      else spec.postgres = { ...(max ? { maxConnections: { min: max.value, display: max.display } } : {}), poolSize };
    }
  }
  const secretsEntry = at("secrets");
  if (secretsEntry) {
    const items = r.sequence(secretsEntry, "preflight.secrets", "a list of environment variable names such as [WEBHOOK_SIGNING_SECRET]");
    if (!items) ok = false;
    spec.secrets = [];
    items?.forEach((item, i) => {
      const name = r.value({ key: item, value: item }, `preflight.secrets[${i}]`, (raw) => {
        if (typeof raw === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) return raw;
        throw new Error(
          `${JSON.stringify(raw)} is not an environment variable name; expected a name such as WEBHOOK_SIGNING_SECRET (the name, never the value)`,
        );
      });
      if (name === undefined) ok = false;
      else spec.secrets!.push(name);
    });
  }
  if (at("service_ready")) {
    const ready = r.value(at("service_ready"), "preflight.service_ready", (raw) => {
      if (typeof raw === "boolean") return raw;
      throw new Error(`${JSON.stringify(raw)} is not true or false; expected service_ready: true`);
    });
    if (ready === undefined) ok = false;
    else spec.serviceReady = ready;
  }
  return ok ? spec : undefined;
}
