// Writes one batch of queued events to PostgreSQL: one transaction, one statement (the
// ingest_events function stores, dedupes and applies per-key order). Retries outages with capped
// backoff (full jitter) and never reports success before COMMIT; data PostgreSQL refuses goes to dead_letters
// instead of blocking the queue for ever.

import type pg from "pg";
import type { Logger } from "pino";
import { Backoff, sleep, type BackoffPolicy } from "../../retry.js";
import { PAYLOAD_KEY_LENGTH, payloadStart, readEvent } from "../queued-event.js";
import { BatchStatement } from "./batch-statement.js";

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
const CLOSE_BRACKET = 0x5d; // "]"
const COMMA = 0x2c; // ","

/** A batch as ingest_events (004) takes it: both views of its encoder's buffers, valid until the next encode(). */
export interface EncodedBatch {
  /** jsonb, binary format: [{"r","k","o","s","t","b","l"}, ...], each event's head with where its body is. */
  heads: Buffer;
  /** bytea: the bodies one after another, event i's being l bytes from offset b. */
  bodies: Buffer;
}

/**
 * The batch for ingest_events (004). Events go in as the bytes the accept path queued, cut at the
 * payload's key: the heads (which the accept path built) into one jsonb array, each closed with its
 * body's offset and length, and the payloads (which it checked are JSON objects jsonb could hold) into
 * one bytea, stored as sent. Nothing is decoded, escaped or re-encoded on the way. Each buffer serves
 * every batch of a writer (grown when a batch needs more) instead of new ones per batch, whose
 * external memory drove V8 to a full collection every thousand events or so.
 */
export class BatchEncoder {
  private heads = Buffer.allocUnsafeSlow(0);
  private bodies = Buffer.allocUnsafeSlow(0);

  encode(events: QueuedEvent[]): EncodedBatch {
    // Per event at most: the head, ',"b":' and ',"l":' with two numbers of up to 10 digits, "}" and a comma.
    let size = 3;
    let bodySize = 0;
    for (let i = 0; i < events.length; i++) {
      size += events[i].json.length + 32;
      bodySize += events[i].json.length;
    }
    if (this.heads.length < size) this.heads = Buffer.allocUnsafeSlow(size + (size >> 2));
    if (this.bodies.length < bodySize) this.bodies = Buffer.allocUnsafeSlow(bodySize + (bodySize >> 2));
    const heads = this.heads;
    const bodies = this.bodies;
    heads[0] = JSONB_VERSION;
    heads[1] = OPEN_BRACKET;
    let at = 2;
    let body = 0;
    for (let i = 0; i < events.length; i++) {
      const json = events[i].json;
      // An entry whose head does not end as written goes in whole, without a body: PostgreSQL refuses
      // it as data, and the writer sends it to dead_letters.
      const start = payloadStart(json);
      const headEnd = start < 0 ? json.length : start - PAYLOAD_KEY_LENGTH;
      const length = start < 0 ? 0 : json.length - start;
      if (i > 0) heads[at++] = COMMA;
      at += json.copy(heads, at, 0, headEnd);
      at += heads.write(`,"b":${body},"l":${length}}`, at, "latin1");
      if (length > 0) body += json.copy(bodies, body, start);
    }
    heads[at++] = CLOSE_BRACKET;
    return { heads: heads.subarray(0, at), bodies: bodies.subarray(0, body) };
  }
}

/**
 * SQLSTATEs that mean "this data", not "this outage": class 22 data exception, class 54 program limit,
 * and the table's own rules on an event's details, 23502 (no idempotency key, request id or received
 * time) and 23514 (a negative sequence number, an ordering key without one). Retrying those would
 * block the queue behind one entry for ever.
 */
function refusedAsData(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("54") || code === "23502" || code === "23514");
}

export class BatchWriter {
  private readonly statement: { name: string; text: string };
  private readonly deadLetterSql: string;
  /** One batch at a time: each attempt is awaited before the next is encoded. */
  private readonly encoder = new BatchEncoder();

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
      text: `select ${schema}.ingest_events($1::jsonb, $2::bytea, $3, $4) as inserted`,
    };
    this.deadLetterSql = `insert into ${schema}.dead_letters
      (idempotency_key, request_id, ordering_key, seq, payload_text, received_at, error_code, error_message)
      values ($1, $2, $3, $4, $5, $6, $7, $8)`;
  }

  /** One attempt: resolves after COMMIT with the number of new rows, rejects with PostgreSQL's error. */
  async writeOnce(events: QueuedEvent[], batchId: string): Promise<number> {
    // The buffers travel in binary format (jsonb_recv and bytearecv read them without a text round
    // trip), written to the socket as they are (batch-statement.ts). Safe to reuse: this writer awaits
    // each attempt, and so PostgreSQL's answer to it, before it encodes the next.
    const { heads, bodies } = this.encoder.encode(events);
    const { name, text } = this.statement;
    const client = await this.pool.connect();
    try {
      const inserted = await new Promise<number>((resolve, reject) => {
        client.query(new BatchStatement(name, text, heads, bodies, batchId, this.firstSeq, (err, n) => (err ? reject(err) : resolve(n))));
      });
      client.release();
      return inserted;
    } catch (err) {
      client.release(err as Error); // As pool.query does: a client whose query failed is closed, not reused.
      throw err;
    }
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
