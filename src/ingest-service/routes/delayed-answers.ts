// The slowness knob (`--added-latency 2ms`): each 202 is held back by a fixed delay, so a slower build can be
// made on purpose (npm run calibrate measures how often the regression bar catches it). Used only when the
// delay is above 0: at 0 the server builds the plain WebhookAnswers and the accept path has no timer.

import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ServerMetrics } from "../metrics.js";
import type { IncomingEvent } from "../event-sink.js";
import { WebhookAnswers } from "./webhook-answers.js";

export class DelayedAnswers extends WebhookAnswers {
  constructor(
    metrics: ServerMetrics,
    log: Logger,
    private readonly delayMs: number,
  ) {
    super(metrics, log);
  }

  override accepted(res: ServerResponse, started: number, requestId: string, line: object): void {
    setTimeout(() => super.accepted(res, started, requestId, line), this.delayMs);
  }

  /** Queue mode's 202 (the batched accept path answers through this one). */
  override enqueued(res: ServerResponse, started: number, e: IncomingEvent, enqueuedAt: string): void {
    setTimeout(() => super.enqueued(res, started, e, enqueuedAt), this.delayMs);
  }
}
