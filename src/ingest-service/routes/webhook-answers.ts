// The three answers a webhook gets (accepted, duplicate, refused), each counted, timed and logged the
// same way whichever sink took the event. The 202 is the hot one: its status line's headers are a
// list made once (only the request id changes, written into its slot), its length is fixed (request
// ids are UUIDs), and its body is one string built from two constant halves; node:http writes head and
// body in one corked write.

import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { IncomingEvent } from "../event-sink.js";
import type { ServerMetrics } from "../metrics.js";
import { JSON_TYPE, send, sendRefusal, type Refusal } from "./route.js";

const ACCEPTED_OPEN = '{"request_id":"';
const ACCEPTED_CLOSE = '","status":"accepted"}';
/** Length of a randomUUID(): the 202's content-length is known before any request arrives. */
const UUID_LENGTH = 36;
const ACCEPTED_HEADERS: string[] = [
  "content-type",
  JSON_TYPE,
  "content-length",
  String(ACCEPTED_OPEN.length + UUID_LENGTH + ACCEPTED_CLOSE.length),
  "x-request-id",
  "",
];

export class WebhookAnswers {
  constructor(
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {}

  /** 202: the event is new; `line` is the sink's log line for it ("committed", sync mode). */
  accepted(res: ServerResponse, started: number, requestId: string, line: object): void {
    this.metrics.accepted++;
    this.write202(res, requestId);
    this.log.info(line);
    this.metrics.latencyMs.observe(performance.now() - started);
  }

  /** 202 for an event now in the queue (queue mode), with its "enqueued" hop line. */
  enqueued(res: ServerResponse, started: number, e: IncomingEvent, enqueuedAt: string): void {
    this.metrics.accepted++;
    this.write202(res, e.requestId);
    this.log.info({
      hop: "enqueued",
      request_id: e.requestId,
      idempotency_key: e.idempotencyKey,
      received_at: e.receivedAt,
      enqueued_at: enqueuedAt,
    });
    this.metrics.latencyMs.observe(performance.now() - started);
  }

  /** 200: seen before, answered with the first delivery's request id. */
  duplicate(res: ServerResponse, started: number, firstId: string, e: IncomingEvent): void {
    this.metrics.duplicates++;
    send(res, 200, JSON.stringify({ request_id: firstId, status: "duplicate" }), firstId);
    this.log.info({ hop: "duplicate", request_id: firstId, idempotency_key: e.idempotencyKey, received_at: e.receivedAt });
    this.metrics.latencyMs.observe(performance.now() - started);
  }

  refused(res: ServerResponse, requestId: string, started: number, r: Refusal): void {
    this.metrics.reject(r.code);
    sendRefusal(res, requestId, r);
    this.metrics.latencyMs.observe(performance.now() - started);
    this.log.info({ hop: "rejected", request_id: requestId, status: r.status, code: r.code });
  }

  private write202(res: ServerResponse, requestId: string): void {
    if (requestId.length !== UUID_LENGTH) {
      send(res, 202, ACCEPTED_OPEN + requestId + ACCEPTED_CLOSE, requestId);
      return;
    }
    // writeHead reads the list at once, so one list serves every request.
    ACCEPTED_HEADERS[5] = requestId;
    res.writeHead(202, ACCEPTED_HEADERS);
    res.end(ACCEPTED_OPEN + requestId + ACCEPTED_CLOSE);
  }
}
