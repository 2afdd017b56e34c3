// Which processes of Redis and PostgreSQL work for a bench session, so their CPU per request can be
// counted beside the service's: redis-server (INFO's process_id) and, of PostgreSQL, the backends
// whose last statement names the session's schema (the workers' and the server's connections) plus
// the shared processes that write for them (WAL writer, background writer, checkpointer). Both
// servers are shared with whatever else runs on the machine: their deltas include that work too.

import type pg from "pg";
import { Redis } from "ioredis";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";

export interface StorePids {
  redis: number | null;
  postgres: number[];
}

export async function redisServerPid(redisUrl: string): Promise<number | null> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const m = /process_id:(\d+)/.exec(await redis.info("server"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/** PostgreSQL processes working for `schema`: its backends and the shared writers. */
export async function postgresPids(db: pg.Client, schema: string): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    `select pid from pg_stat_activity
      where pid <> pg_backend_pid()
        and (position($1 in coalesce(query, '')) > 0
             or backend_type in ('walwriter', 'background writer', 'checkpointer'))`,
    [`"${schema}"`],
  );
  return rows.map((r) => r.pid);
}

/** CPU µs used so far by each pid (null where it cannot be read). */
export function cpuOf(pids: number[]): (number | null)[] {
  return pids.map(processCpuUs);
}

/** Sum of the deltas; a process gone in between (null) counts as 0 rather than spoiling the sum. */
export function cpuDelta(before: (number | null)[], after: (number | null)[]): number | null {
  if (before.length === 0) return null;
  let total = 0;
  for (let i = 0; i < before.length; i++) {
    const a = before[i];
    const b = after[i];
    if (a !== null && b !== null && b >= a) total += b - a;
  }
  return total;
}
