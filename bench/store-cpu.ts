// Which processes of Redis and PostgreSQL work for a bench session, so their CPU per request can be
// counted beside the service's: redis-server (INFO's process_id) and, of PostgreSQL, the backends of
// the session's server and workers (found by the application_name they connect with, at the start
// and again at the end of each run) plus the shared processes that write for them (WAL writer,
// background writer, checkpointer). Both servers are shared with whatever else runs on the machine:
// their deltas include that work too.

import type pg from "pg";
import { Redis } from "ioredis";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";
import { postgresApplicationName } from "../src/ingest-service/postgres-pools.js";

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

/**
 * PostgreSQL processes working for the service in `schema`: the backends of its server and workers
 * (by the application_name they connect with) and the shared writers.
 */
export async function postgresPids(db: pg.Client, schema: string): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    `select pid from pg_stat_activity
      where pid <> pg_backend_pid()
        and (application_name in ($1, $2) or backend_type in ('walwriter', 'background writer', 'checkpointer'))`,
    [postgresApplicationName("serve", schema), postgresApplicationName("worker", schema)],
  );
  return rows.map((r) => r.pid);
}

/**
 * Starts counting the CPU of PostgreSQL's processes for `schema`; the function it returns stops and
 * gives the µs spent. A backend that connected in between (a pool opening its second connection under
 * load) is counted whole: it was not there at the start. One that disconnected in between is lost
 * (the service's pools keep their connections, so none should).
 */
export async function postgresCpuMeter(db: pg.Client, schema: string): Promise<() => Promise<{ cpuUs: number | null; processes: number }>> {
  const pids = await postgresPids(db, schema);
  const before = cpuOf(pids);
  return async () => {
    const joined = (await postgresPids(db, schema)).filter((p) => !pids.includes(p));
    const all = [...pids, ...joined];
    return { cpuUs: cpuDelta([...before, ...joined.map(() => 0)], cpuOf(all)), processes: all.length };
  };
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
