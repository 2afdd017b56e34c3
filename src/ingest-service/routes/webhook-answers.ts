// The three answers a webhook gets (accepted, duplicate, refused), each counted, timed and logged the
// same way whichever sink took the event.

import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { IncomingEvent } from "../event-sink.js";
import type { ServerMetrics } from "../metrics.js";
import { send, sendRefusal, type Refusal } from "./route.js";

export class WebhookAnswers {
  constructor(
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {}

  /** 202: the event is new; `line` is the sink's log line for it ("enqueued" or "committed"). */
  accepted(res: ServerResponse, started: number, requestId: string, line: object): void {
    this.metrics.accepted++;
    send(res, 202, `{"request_id":"${requestId}","status":"accepted"}`, requestId);
    this.log.info(line);
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
}
