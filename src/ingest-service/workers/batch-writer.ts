// Writes one batch of queued events to PostgreSQL: one transaction, one statement (the
// ingest_batch function stores, dedupes and applies per-key order). Retries outages with capped
// backoff (full jitter) and never reports success before COMMIT; data PostgreSQL refuses goes to dead_letters
// instead of blocking the queue for ever.

import type pg from "pg";
import type { Logger } from "pino";
import { Backoff, sleep, type BackoffPolicy } from "../../retry.js";
import { readEvent } from "../queued-event.js";

export interface QueuedEvent {
  /** Redis stream entry id, for the ack. */
  entryId: string;
  requestId: string;
  /**
   * The event as the accept path queued it (queued-event.ts): its JSON object without the closing
   * brace, the raw body last (kept as bytes: never decoded on the way).
   */
  json: Buffer;
}

export interface BatchResult {
  batchId: string;
  /** Rows new to webhook_events (redeliveries and re-runs add none). */
  inserted: number;
  /** Events moved to dead_letters instead. */
  deadLettered: QueuedEvent[];
  /** Duration of the successful attempt, ms. */
  commitMs: number;
  /** Failed attempts before it. */
  retries: number;
}

export type RetryPolicy = BackoffPolicy;

export const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 50, maxDelayMs: 2000 };

// jsonb's binary input format is a version byte (1) followed by the JSON text.
const JSONB_VERSION = 1;
const OPEN_BRACKET = 0x5b; // "["
const CLOSE_BRACE = 0x7d; // "}"
const CLOSE_BRACKET = 0x5d; // "]"
const COMMA = 0x2c; // ","

/**
 * The batch as one jsonb value (binary format) for ingest_events (002). Events go in as the bytes
 * the accept path queued: it built each head and checked each payload is a JSON object jsonb can
 * store, so splicing them into the array is valid JSON, and nothing is decoded, escaped or
 * re-encoded on the way. One buffer serves every batch of a writer (grown when a batch needs more)
 * instead of a new ~300 KB one per batch, whose external memory drove V8 to a full collection every
 * thousand events or so.
 */
export class BatchJsonb {
  private buffer = Buffer.allocUnsafeSlow(0);

  /** The batch's bytes: a view of this encoder's buffer, valid until the next encode(). */
  encode(events: QueuedEvent[]): Buffer {
    let size = 2 + events.length; // "[", "]", a comma between events and each event's closing brace
    for (let i = 0; i < events.length; i++) size += events[i].json.length;
    if (this.buffer.length < size) this.buffer = Buffer.allocUnsafeSlow(size + (size >> 2));
    const out = this.buffer;
    out[0] = JSONB_VERSION;
    out[1] = OPEN_BRACKET;
    let at = 2;
    for (let i = 0; i < events.length; i++) {
      if (i > 0) out[at++] = COMMA;
      at += events[i].json.copy(out, at);
      out[at++] = CLOSE_BRACE;
    }
    out[at++] = CLOSE_BRACKET;
    return out.subarray(0, at);
  }
}

/** SQLSTATE classes that mean "this data", not "this outage": 22 data exception, 54 program limit. */
function refusedAsData(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("54"));
}

export class BatchWriter {
  private readonly statement: pg.QueryConfig;
  private readonly deadLetterSql: string;
  /** One batch at a time: each attempt is awaited before the next is encoded. */
  private readonly batchJsonb = new BatchJsonb();

  constructor(
    private readonly pool: pg.Pool,
    namespace: string,
    private readonly firstSeq: number,
    private readonly log: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    const schema = `"${namespace}"`;
    this.statement = {
      // Named: parsed once per connection, then only bound and executed.
      name: `${namespace}_ingest_events`,
      text: `select ${schema}.ingest_events($1::jsonb, $2, $3) as inserted`,
    };
    this.deadLetterSql = `insert into ${schema}.dead_letters
      (idempotency_key, request_id, ordering_key, seq, payload_text, received_at, error_code, error_message)
      values ($1, $2, $3, $4, $5, $6, $7, $8)`;
  }

  /** One attempt: resolves after COMMIT with the number of new rows, rejects with PostgreSQL's error. */
  async writeOnce(events: QueuedEvent[], batchId: string): Promise<number> {
    // A Buffer parameter travels in binary format: jsonb_recv reads it without a text round trip.
    // Safe to reuse: this writer awaits each attempt before it encodes the next, and pg copies the
    // parameter into its Bind message when it sends the query.
    const { rows } = await this.pool.query({ ...this.statement, values: [this.batchJsonb.encode(events), batchId, this.firstSeq] });
    return Number(rows[0].inserted);
  }

  /**
   * Writes the batch, retrying outages until it commits or `stopping()` turns true (then null:
   * the caller must not ack, the events stay pending for another worker).
   */
  async write(events: QueuedEvent[], batchId: string, stopping: () => boolean): Promise<BatchResult | null> {
    let retries = 0;
    const backoff = new Backoff(this.retry);
    for (;;) {
      const t0 = performance.now();
      try {
        const inserted = await this.writeOnce(events, batchId);
        return { batchId, inserted, deadLettered: [], commitMs: performance.now() - t0, retries };
      } catch (err) {
        if (refusedAsData(err)) {
          const split = await this.writeOneByOne(events, batchId).catch(() => null);
          if (split) return { ...split, commitMs: performance.now() - t0, retries };
        }
        const e = err as { code?: string; message?: string };
        const delay = backoff.next();
        this.log.warn(
          { hop: "batch_failed", batch_id: batchId, events: events.length, attempt: retries + 1, code: e.code, error: e.message },
          `batch failed, retrying in ${delay} ms`,
        );
        retries++;
        if (stopping()) return null;
        await sleep(delay);
        if (stopping()) return null;
      }
    }
  }

  /** A batch PostgreSQL refused as data: find the event(s) at fault, keep the rest. */
  private async writeOneByOne(events: QueuedEvent[], batchId: string): Promise<Omit<BatchResult, "commitMs" | "retries">> {
    let inserted = 0;
    const deadLettered: QueuedEvent[] = [];
    for (const e of events) {
      try {
        inserted += await this.writeOnce([e], batchId);
      } catch (err) {
        if (!refusedAsData(err)) throw err;
        const x = err as { code: string; message: string };
        // An entry whose head does not read is kept whole in payload_text, so nothing of it is lost.
        const read = readEvent(e.json);
        const d = read?.details;
        await this.pool.query(this.deadLetterSql, [
          d?.idempotencyKey ?? "",
          d?.requestId ?? e.requestId,
          d?.orderingKey ?? null,
          d?.seq ?? null,
          (read?.payload ?? e.json).toString("utf8"),
          d?.receivedAt ?? null,
          x.code,
          x.message,
        ]);
        deadLettered.push(e);
        this.log.error(
          {
            hop: "dead_lettered",
            batch_id: batchId,
            request_id: e.requestId,
            idempotency_key: d?.idempotencyKey,
            code: x.code,
            error: x.message,
          },
          "PostgreSQL refused an event; kept in dead_letters",
        );
      }
    }
    return { batchId, inserted, deadLettered };
  }
}
