// Where a checked webhook goes: queue mode enqueues it in Redis for the workers (QueueSink), sync mode
// stores it in PostgreSQL inside the request (SyncSink). Either answers the request itself.

import type { ServerResponse } from "node:http";

export interface IncomingEvent {
  requestId: string;
  idempotencyKey: string;
  /** "" when the event has no ordering constraint. */
  orderingKey: string;
  /** Decimal digits, "" when none. */
  seq: string;
  /** ISO 8601. */
  receivedAt: string;
  /** The raw JSON body, as received. */
  payload: Buffer;
}

export interface EventSink {
  /** Enqueues or stores `e`, then answers `res` (202 accepted, 200 duplicate, or a refusal); never throws. */
  put(e: IncomingEvent, res: ServerResponse, started: number): void;
}
