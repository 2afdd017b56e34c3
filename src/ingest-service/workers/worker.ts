// An ingest worker: reads the namespace's Redis stream as one consumer of the "workers" group,
// writes batches with the BatchWriter, and only after COMMIT acknowledges and deletes the entries.
// Entries a dead worker held are taken over after the visibility timeout (XAUTOCLAIM); the unique
// idempotency key makes the re-run write nothing twice. Also sweeps for sequence gaps.

import { randomBytes } from "node:crypto";
import { hostname, setPriority } from "node:os";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { Logger } from "pino";
import { BatchLinger } from "./batch-linger.js";
import { BatchWriter, type QueuedEvent, type RetryPolicy } from "./batch-writer.js";
import { CollectingTurn, TURN_ASK_MS } from "./collecting-turn.js";
import type { WorkerOptions } from "../config.js";
import { openPostgres, openRedis, redactUrl, IngestStartError } from "../connect.js";
import { postgresApplicationName, WORKER_POSTGRES_POOL } from "../postgres-pools.js";
import { createServiceLog } from "../logger.js";
import { startGapSweeper } from "../gap-sweeper.js";
import { batchMetricFields } from "../metrics.js";
import { migrate } from "../migrate.js";
import { queueKeys } from "../queue-keys.js";
import { EVENT_FIELD, eventHead, requestIdOf, SEQUENCE } from "../queued-event.js";
import { Backoff, sleep } from "../../retry.js";

export interface IngestWorker {
  consumer: string;
  /** Finishes (and acks) the batch in hand, stops reading, closes connections, flushes the log. */
  close(): Promise<void>;
}

/** How long one XREADGROUP blocks when the stream is empty: bounds how long close() waits. */
const BLOCK_MS = 250;

/** Entries come back as bytes (the *Buffer commands): payloads are never decoded in the worker. */
type StreamEntry = [id: Buffer, fields: Buffer[] | null];

export async function startIngestWorker(options: WorkerOptions, retry?: RetryPolicy): Promise<IngestWorker> {
  const { log, flush } = createServiceLog(options, "worker");
  // Batches can wait a few milliseconds; a webhook answer should not, when both share a machine.
  if (options.nice > 0) {
    try {
      setPriority(process.pid, options.nice);
    } catch (err) {
      log.warn({ error: (err as Error).message }, "could not lower the worker's scheduling priority");
    }
  }
  const consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const keys = queueKeys(options.namespace);
  let redis: Redis | undefined;
  let pool: pg.Pool | undefined;
  try {
    redis = await openRedis(options.redisUrl, { kind: "worker", blockMs: BLOCK_MS }, log);
    // Two connections: batches on one, the gap sweep on the other, so neither waits for the other.
    pool = await openPostgres(options.databaseUrl, WORKER_POSTGRES_POOL, log, postgresApplicationName("worker", options.namespace));
    try {
      await migrate(pool, options.namespace);
    } catch (err) {
      throw new IngestStartError("migration_failed", `${(err as Error).message} (database ${redactUrl(options.databaseUrl)})`);
    }
    try {
      // From "0": events accepted before any worker ever started are read too.
      await redis.xgroup("CREATE", keys.events, keys.group, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
  } catch (err) {
    redis?.disconnect();
    await pool?.end().catch(() => {});
    await flush();
    throw err;
  }
  return run(options, consumer, keys, redis, pool, log, flush, retry);
}

/**
 * Forgets consumers of dead workers once nothing is pending on them and they have been idle for
 * `minIdleMs`, so the group does not list every process that ever ran. A live consumer removed by
 * mistake reappears on its next read. Returns the names removed.
 */
export async function forgetDeadConsumers(redis: Redis, namespace: string, self: string, minIdleMs: number): Promise<string[]> {
  const keys = queueKeys(namespace);
  const consumers = (await redis.xinfo("CONSUMERS", keys.events, keys.group)) as (string | number)[][];
  const removed: string[] = [];
  for (const c of consumers) {
    const info: Record<string, string | number> = {};
    for (let i = 0; i + 1 < c.length; i += 2) info[String(c[i])] = c[i + 1];
    const name = String(info.name);
    if (name !== self && Number(info.pending) === 0 && Number(info.idle) >= minIdleMs) {
      await redis.xgroup("DELCONSUMER", keys.events, keys.group, name);
      removed.push(name);
    }
  }
  return removed;
}

/**
 * The group's count of entries read and its lag (entries not yet delivered to any consumer; null when
 * Redis cannot tell), from an XINFO GROUPS reply; null if the count is not there (Redis before 7).
 */
export function groupState(reply: unknown, name: string): { entriesRead: number; lag: number | null } | null {
  if (!Array.isArray(reply)) return null;
  for (const g of reply) {
    if (!Array.isArray(g)) continue;
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
    if (String(info.name) !== name) continue;
    const entriesRead = Number(info["entries-read"]);
    const lag = info.lag === null || info.lag === undefined || !Number.isFinite(Number(info.lag)) ? null : Number(info.lag);
    return info["entries-read"] === null || !Number.isFinite(entriesRead) ? null : { entriesRead, lag };
  }
  return null;
}

/** An entry as the accept path writes it: one field, the event (queued-event.ts); null if it is not one. */
function queuedEvent(entryId: string, fields: Buffer[]): QueuedEvent | null {
  if (fields[0].toString("latin1") !== EVENT_FIELD) return null;
  const requestId = requestIdOf(fields[1]);
  return requestId === null ? null : { entryId, requestId, json: fields[1] };
}

/** An entry of earlier releases, one field per detail: its head is built here instead. */
function olderQueuedEvent(entryId: string, fields: Buffer[]): QueuedEvent | null {
  const f: Record<string, string> = {};
  let payload: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString("latin1");
    if (name === "payload") payload = fields[i + 1];
    else f[name] = fields[i + 1].toString("utf8");
  }
  // seq goes into the batch's JSON unquoted: anything but digits would corrupt the whole batch.
  if (!f.idempotency_key || !f.request_id || payload === undefined || (f.seq && !SEQUENCE.test(f.seq))) return null;
  // The head carries the request id and the time as they are (the accept path's are a UUID and an ISO
  // 8601 time): nothing that would need escaping gets in.
  if (!/^[\w.:-]{1,128}$/.test(f.request_id)) return null;
  const receivedAt = f.received_at && /^[\d:.TZ+-]{10,40}$/.test(f.received_at) ? f.received_at : new Date().toISOString();
  const head = eventHead(f.request_id, f.idempotency_key, f.ordering_key ?? "", f.seq ?? "", receivedAt);
  return { entryId, requestId: f.request_id, json: Buffer.concat([Buffer.from(head), payload]) };
}

function run(
  options: WorkerOptions,
  consumer: string,
  keys: ReturnType<typeof queueKeys>,
  redis: Redis,
  pool: pg.Pool,
  log: Logger,
  flush: () => Promise<void>,
  retry: RetryPolicy | undefined,
): IngestWorker {
  const writer = new BatchWriter(pool, options.namespace, options.firstSeq, log, retry);
  const batchSize = options.batchSize;
  const linger = new BatchLinger({ batchSize, minMs: options.batchLingerMs, maxMs: options.batchLingerMaxMs });
  let stopping = false;
  let batchCounter = 0;
  const batchPrefix = `${consumer}-${Date.now().toString(36)}`;

  // The ack of the last committed batch (XACK + XDEL and its metrics), sent with the next read in one
  // round trip instead of one of its own: Redis runs it before the read, so a quiet stream is acked
  // at once, and a busy one within the linger. Until then the entries are pending on this consumer:
  // were it to die, they would be taken over and re-written, which writes nothing (the UNIQUE key).
  let unsentAck: { batchId: string; ids: string[]; metrics: [string, number][] } | null = null;

  function takeAck(tx: ReturnType<Redis["pipeline"]>): string | null {
    if (!unsentAck) return null;
    const { batchId, ids, metrics } = unsentAck;
    unsentAck = null;
    tx.xack(keys.events, keys.group, ...ids).xdel(keys.events, ...ids);
    for (const [field, n] of metrics) tx.hincrby(keys.metrics, field, n);
    return batchId;
  }

  /** Runs the pipeline; warns when the ack in it failed; returns the last `n` commands' replies, or throws the first of their errors. */
  async function execWithAck(tx: ReturnType<Redis["pipeline"]>, ackedBatch: string | null, n = 1): Promise<unknown[]> {
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await tx.exec();
    } catch (err) {
      if (ackedBatch) ackFailed(ackedBatch, err as Error);
      throw err;
    }
    if (!replies) throw new Error("the Redis pipeline was discarded");
    const failedAck = replies.slice(0, -n).find(([err]) => err)?.[0];
    if (ackedBatch && failedAck) ackFailed(ackedBatch, failedAck);
    const wanted = replies.slice(-n);
    const failed = wanted.find(([err]) => err)?.[0];
    if (failed) throw failed;
    return wanted.map(([, reply]) => reply);
  }

  function ackFailed(batchId: string, err: Error): void {
    // Committed but not acked: the entries will be reclaimed and re-written, which writes nothing.
    log.warn({ batch_id: batchId, error: err.message }, "ack failed after commit");
  }

  async function flushAck(): Promise<void> {
    const tx = redis.pipeline();
    const batchId = takeAck(tx);
    if (batchId) await execWithAck(tx.ping(), batchId).catch(() => {});
  }

  // The collecting turn (collecting-turn.ts): only its holder lingers over a stream that is not backlogged.
  const turn = new CollectingTurn(redis, keys.turn, consumer);
  /**
   * A backlog: a full batch or more was still waiting after this worker's last batch (the group's lag;
   * without it, the read came back full). Read again at once, turn or not.
   */
  let backlogged = false;
  /** The group's lag after the last read; null while unknown. */
  let lagAfterRead: number | null = null;
  let wake: (() => void) | null = null;

  /** Waits `ms`, or less if close() comes first. */
  function stopOrSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake?.(), ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });
  }

  /** Takes the turn if it is free (or keeps it), sending the last batch's ack in the same round trip. */
  async function takeTurn(): Promise<boolean> {
    const tx = redis.pipeline();
    const ackedBatch = takeAck(tx);
    turn.ask(tx);
    const [reply] = await execWithAck(tx, ackedBatch);
    return turn.settle(reply);
  }

  async function read(count: number, blockMs: number | null): Promise<StreamEntry[]> {
    const tx = redis.pipeline();
    const ackedBatch = takeAck(tx);
    // The holder renews its turn with every read; one that lost it (it expired) takes it back if free.
    const renewing = turn.holding;
    if (renewing) turn.ask(tx);
    if (blockMs === null) tx.xreadgroupBuffer("GROUP", keys.group, consumer, "COUNT", count, "STREAMS", keys.events, ">");
    else tx.xreadgroupBuffer("GROUP", keys.group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", keys.events, ">");
    // The group's count of entries read, right after this read: the stream's rate, for the linger.
    tx.xinfo("GROUPS", keys.events);
    const replies = await execWithAck(tx, ackedBatch, renewing ? 3 : 2);
    if (renewing) turn.settle(replies.shift());
    const [reply, groups] = replies as [[Buffer, StreamEntry[]][] | null, unknown];
    const group = groupState(groups, keys.group);
    if (group) linger.observeGroup(group.entriesRead, performance.now());
    lagAfterRead = group ? group.lag : null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Entries other consumers have held longer than the visibility timeout, now ours. */
  async function reclaim(): Promise<StreamEntry[]> {
    await flushAck();
    const reply = (await redis.callBuffer(
      "XAUTOCLAIM",
      keys.events,
      keys.group,
      consumer,
      options.visibilityTimeoutMs,
      "0-0",
      "COUNT",
      batchSize,
    )) as [Buffer, StreamEntry[], Buffer[]?];
    const entries = reply[1] ?? [];
    if (entries.length) log.info({ hop: "reclaimed", consumer, entries: entries.length }, "took over events from a silent worker");
    return entries;
  }

  function decode(entries: StreamEntry[]): { events: QueuedEvent[]; unreadable: string[] } {
    const events: QueuedEvent[] = [];
    const unreadable: string[] = [];
    for (const [id, fields] of entries) {
      const entryId = id.toString("latin1");
      const event = fields && (fields.length === 2 ? queuedEvent(entryId, fields) : olderQueuedEvent(entryId, fields));
      if (event) events.push(event);
      else unreadable.push(entryId);
    }
    return { events, unreadable };
  }

  async function processEntries(entries: StreamEntry[]): Promise<void> {
    const { events, unreadable } = decode(entries);
    if (unreadable.length) log.error({ entries: unreadable }, "stream entries without an event; acknowledged and dropped");
    const batchId = `${batchPrefix}-${++batchCounter}`;
    const result = events.length ? await writer.write(events, batchId, () => stopping) : null;
    if (events.length && !result) return; // Stopped while the database was failing: leave them pending.
    const ids = entries.map(([id]) => id.toString("latin1"));
    const metrics: [string, number][] = [];
    if (result) {
      metrics.push(...batchMetricFields(events.length, result.inserted, result.commitMs, result.retries));
      if (result.deadLettered.length) metrics.push(["dead_letters", result.deadLettered.length]);
      log.info({
        hop: "committed",
        batch_id: batchId,
        request_ids: events.map((e) => e.requestId),
        committed_at: new Date().toISOString(),
        events: events.length,
        new_rows: result.inserted,
        commit_ms: Math.round(result.commitMs * 100) / 100,
        retries: result.retries,
      });
    }
    unsentAck = { batchId, ids, metrics };
  }

  const reclaimEveryMs = Math.max(100, Math.min(1000, Math.floor(options.visibilityTimeoutMs / 2)));
  const loop = (async () => {
    let lastReadAt = performance.now();
    let nextReclaim = 0;
    let nextForget = Date.now() + 60_000;
    const redisBackoff = new Backoff({ firstDelayMs: 100, maxDelayMs: 2000 });
    while (!stopping) {
      try {
        let entries: StreamEntry[] = [];
        // Not backlogged and not this worker's turn: wait for it (the holder died, or gave it up).
        if (!backlogged && !turn.holding && !(await takeTurn())) {
          await stopOrSleep(TURN_ASK_MS);
          continue;
        }
        if (Date.now() >= nextReclaim) {
          entries = await reclaim();
          nextReclaim = Date.now() + reclaimEveryMs;
        }
        if (Date.now() >= nextForget) {
          nextForget = Date.now() + 60_000;
          const minIdleMs = Math.max(60_000, 10 * options.visibilityTimeoutMs);
          await forgetDeadConsumers(redis, options.namespace, consumer, minIdleMs).catch((err: Error) =>
            log.warn({ error: err.message }, "could not tidy the consumer group"),
          );
        }
        // Lingering lets a stream of events share one transaction instead of a few each: on a busy
        // stream by waiting before the read, else by waiting after the first event arrived.
        // A backlog is read at once.
        let waited = 0;
        if (entries.length === 0) {
          waited = stopping || backlogged ? 0 : linger.waitBeforeReadMs(performance.now() - lastReadAt);
          if (waited > 0) await sleep(waited);
          entries = await read(batchSize, BLOCK_MS);
        }
        redisBackoff.reset();
        if (entries.length === 0) {
          lastReadAt = performance.now();
          backlogged = false;
          continue;
        }
        // Short of a batch: after a blocking read, the first events of a quiet stream, which may wait
        // for company; after a wait, a read that came right after another worker's, which keeps
        // collecting instead of writing a few events (and no longer reads in step with it).
        const short = waited > 0 ? entries.length < batchSize / 2 : entries.length < batchSize;
        const heldMs = waited > 0 ? performance.now() - lastReadAt : 0;
        const wait = stopping || !short ? 0 : linger.waitMs(entries.length, heldMs);
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait));
          entries = entries.concat(await read(batchSize - entries.length, null));
        }
        const readAt = performance.now();
        linger.observe(entries.length, readAt - lastReadAt);
        lastReadAt = readAt;
        backlogged = lagAfterRead === null ? entries.length >= batchSize : lagAfterRead >= batchSize;
        if (backlogged) turn.giveUp(); // Let a waiting worker join in.
        await processEntries(entries);
      } catch (err) {
        const message = (err as Error).message;
        if (message.includes("NOGROUP")) {
          // Redis lost the group (a restart without its data, FLUSHALL, failover to an empty replica):
          // recreate it instead of retrying a read that can never succeed.
          await redis.xgroup("CREATE", keys.events, keys.group, "0", "MKSTREAM").catch(() => {});
          log.error({ error: message }, "the consumer group was gone; recreated it");
          continue;
        }
        const delay = redisBackoff.next();
        log.warn({ error: message }, `queue read failed, retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  })();

  // One worker sweeps, the one at work: the holder of the turn, or a worker draining a backlog.
  const sweeper = startGapSweeper(pool, options.namespace, options.gapTimeoutMs, log, () => turn.holding || backlogged);

  log.info(
    {
      consumer,
      batch_size: batchSize,
      batch_linger_ms: options.batchLingerMs,
      batch_linger_max_ms: options.batchLingerMaxMs,
      gap_timeout_ms: options.gapTimeoutMs,
      visibility_timeout_ms: options.visibilityTimeoutMs,
    },
    "ingest worker started",
  );

  let closing: Promise<void> | undefined;
  return {
    consumer,
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        wake?.();
        const swept = sweeper.stop();
        await loop;
        turn.giveUp();
        await flushAck();
        await swept;
        await redis.quit().catch(() => redis.disconnect());
        await pool.end().catch(() => {});
        log.info({ consumer }, "ingest worker stopped");
        await flush();
      })()),
  };
}
