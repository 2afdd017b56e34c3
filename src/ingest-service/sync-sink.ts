// Sync mode's sink, the seed's design: INSERT and COMMIT inside the request (ingest_one) on the single
// shared connection, then answer. Data PostgreSQL refuses is a 400; PostgreSQL not answering, a 503.

import type { ServerResponse } from "node:http";
import type pg from "pg";
import type { EventSink, IncomingEvent } from "./event-sink.js";
import { RETRY_SOON, type Refusal } from "./routes/route.js";
import type { WebhookAnswers } from "./routes/webhook-answers.js";

export class SyncSink implements EventSink {
  private readonly ingestOne: string;

  constructor(
    private readonly pool: pg.Pool,
    namespace: string,
    private readonly firstSeq: number,
    private readonly answers: WebhookAnswers,
  ) {
    this.ingestOne = `select "${namespace}".ingest_one($1, $2, $3, $4, $5, $6, $7, $8) as request_id`;
  }

  put(e: IncomingEvent, res: ServerResponse, started: number): void {
    const batchId = `sync-${e.requestId}`;
    this.pool
      .query(this.ingestOne, [
        e.idempotencyKey,
        e.requestId,
        e.orderingKey || null,
        e.seq === "" ? null : e.seq,
        e.payload.toString("utf8"),
        e.receivedAt,
        batchId,
        this.firstSeq,
      ])
      .then(
        ({ rows }) => {
          const stored = rows[0].request_id as string;
          if (stored !== e.requestId) return this.answers.duplicate(res, started, stored, e);
          this.answers.accepted(res, started, e.requestId, {
            hop: "committed",
            batch_id: batchId,
            request_ids: [e.requestId],
            idempotency_key: e.idempotencyKey,
            received_at: e.receivedAt,
            committed_at: new Date().toISOString(),
          });
        },
        (err: { code?: string; message: string }) => this.answers.refused(res, e.requestId, started, storeRefusal(err)),
      );
  }
}

function storeRefusal(err: { code?: string; message: string }): Refusal {
  // Data PostgreSQL refuses (class 22, 54) is the sender's to fix; anything else is an outage.
  if (err.code && (err.code.startsWith("22") || err.code.startsWith("54"))) {
    return { status: 400, code: "unsupported_json", message: `PostgreSQL refused the body: ${err.message}` };
  }
  return {
    status: 503,
    code: "store_unavailable",
    message: `the database is not answering (${err.message}); retry later`,
    headers: RETRY_SOON,
  };
}
