// Queue mode's sink: one Redis round trip through the accept-2.lua script (loaded once, then called by
// SHA) decides "new or duplicate" and enqueues for the workers, atomically. Redis not answering is a
// 503 the sender retries.

import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import type { Redis } from "ioredis";
import { assetFile } from "./asset-file.js";
import type { EventSink, IncomingEvent } from "./event-sink.js";
import { queueKeys } from "./queue-keys.js";
import { RETRY_SOON } from "./routes/route.js";
import type { WebhookAnswers } from "./routes/webhook-answers.js";

/** Answers ["accepted" | "duplicate", this request's id | the first delivery's]. */
type AcceptScript = (
  idemKey: string,
  stream: string,
  requestId: string,
  ttlS: number,
  idempotencyKey: string,
  orderingKey: string,
  seq: string,
  receivedAt: string,
  payload: Buffer,
) => Promise<[string, string]>;

let script: string | undefined;

export class QueueSink implements EventSink {
  private readonly call: AcceptScript;
  private readonly idemPrefix: string;
  private readonly stream: string;

  constructor(
    redis: Redis,
    namespace: string,
    private readonly ttlS: number,
    private readonly answers: WebhookAnswers,
  ) {
    script ??= readFileSync(assetFile("commands/accept-2.lua"), "utf8");
    // defineCommand sends EVALSHA and falls back to EVAL after NOSCRIPT (e.g. a restarted Redis).
    if (!("acceptEvent" in redis)) redis.defineCommand("acceptEvent", { numberOfKeys: 2, lua: script });
    const commands = redis as unknown as { acceptEvent: AcceptScript };
    this.call = commands.acceptEvent.bind(redis);
    const keys = queueKeys(namespace);
    this.idemPrefix = keys.idem;
    this.stream = keys.events;
  }

  put(e: IncomingEvent, res: ServerResponse, started: number): void {
    this.call(
      this.idemPrefix + e.idempotencyKey,
      this.stream,
      e.requestId,
      this.ttlS,
      e.idempotencyKey,
      e.orderingKey,
      e.seq,
      e.receivedAt,
      e.payload,
    ).then(
      (r) => {
        if (r[0] === "duplicate") return this.answers.duplicate(res, started, r[1], e);
        this.answers.accepted(res, started, e.requestId, {
          hop: "enqueued",
          request_id: e.requestId,
          idempotency_key: e.idempotencyKey,
          received_at: e.receivedAt,
          enqueued_at: new Date().toISOString(),
        });
      },
      (err: Error) =>
        this.answers.refused(res, e.requestId, started, {
          status: 503,
          code: "queue_unavailable",
          message: `the queue (Redis) is not answering (${err.message}); retry later`,
          headers: RETRY_SOON,
        }),
    );
  }
}
