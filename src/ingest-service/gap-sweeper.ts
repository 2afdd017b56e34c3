// The gap sweep: when the oldest waiting event of an ordering key has waited longer than the gap
// timeout, apply_gaps records the missing sequence numbers and moves the key on. The workers run it,
// and so does a sync-mode server, which has no workers.

import type pg from "pg";
import type { Logger } from "pino";

export interface GapSweeper {
  /** Stops sweeping; resolves when a sweep in flight has finished. */
  stop(): Promise<void>;
}

/** Sweeps every half gap timeout (at most every second), whenever `active()` says this process should. */
export function startGapSweeper(pool: pg.Pool, namespace: string, gapTimeoutMs: number, log: Logger, active = () => true): GapSweeper {
  const sql = `select "${namespace}".apply_gaps($1) as gaps`;
  let sweeping: Promise<unknown> | null = null;
  const timer = setInterval(
    () => {
      // One at a time: a slow sweep must not hold a second connection (in a worker, the batches').
      if (sweeping || !active()) return;
      sweeping = pool
        .query(sql, [gapTimeoutMs])
        .then(({ rows }) => {
          const gaps = Number(rows[0].gaps);
          if (gaps > 0) log.info({ hop: "gap_skipped", gaps }, "skipped sequence gaps after the gap timeout");
        })
        .catch((err: Error) => log.warn({ error: err.message }, "gap sweep failed"))
        .finally(() => (sweeping = null));
    },
    Math.min(1000, Math.max(50, Math.floor(gapTimeoutMs / 2))),
  );
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
