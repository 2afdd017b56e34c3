// Queue mode's sink: every event the accept path takes in one turn of the event loop goes to Redis in
// ONE call of the accept-batch.lua script (loaded once, then called by SHA), flushed from
// setImmediate, so it leaves before the loop turns again and no request waits for a timer. The script
// decides "new or duplicate" and enqueues each event atomically; each request is answered from its
// own entry of the reply, once the call has returned, i.e. once its event is in the stream. A failed
// call answers 503 to the requests of that call and to no others. An event goes into the stream as
// one field, its head and payload (queued-event.ts).

import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import type { Redis } from "ioredis";
import { assetFile } from "./asset-file.js";
import type { EventSink, IncomingEvent } from "./event-sink.js";
import { queueKeys } from "./queue-keys.js";
import { eventHead } from "./queued-event.js";
import { RETRY_SOON } from "./routes/route.js";
import type { WebhookAnswers } from "./routes/webhook-answers.js";

/** numkeys, KEYS, ARGV as accept-batch.lua reads them; one reply per event: 0 accepted, else the first delivery's id. */
type AcceptBatchScript = (...args: (string | number | Buffer)[]) => Promise<(number | string)[]>;

/**
 * Events per script call: a burst larger than this goes out as several calls in the same write, so
 * one call never holds Redis (single-threaded) for long.
 */
export const MAX_EVENTS_PER_CALL = 128;

let script: string | undefined;

export class QueueSink implements EventSink {
  private readonly call: AcceptBatchScript;
  private readonly idemPrefix: string;
  private readonly stream: string;
  // This tick's requests, in three parallel arrays: nothing is allocated per request to hold them.
  private events: IncomingEvent[] = [];
  private responses: ServerResponse[] = [];
  private starts: number[] = [];
  private scheduled = false;
  private readonly flushTick = () => this.flush();

  constructor(
    redis: Redis,
    namespace: string,
    private readonly ttlS: number,
    private readonly answers: WebhookAnswers,
  ) {
    script ??= readFileSync(assetFile("commands/accept-batch.lua"), "utf8");
    // defineCommand sends EVALSHA and falls back to EVAL after NOSCRIPT (e.g. a restarted Redis). No
    // numberOfKeys: the caller passes it, one key per event plus the stream.
    if (!("acceptBatch" in redis)) redis.defineCommand("acceptBatch", { lua: script });
    const commands = redis as unknown as { acceptBatch: AcceptBatchScript };
    this.call = commands.acceptBatch.bind(redis);
    const keys = queueKeys(namespace);
    this.idemPrefix = keys.idem;
    this.stream = keys.events;
  }

  put(e: IncomingEvent, res: ServerResponse, started: number): void {
    this.events.push(e);
    this.responses.push(res);
    this.starts.push(started);
    // setImmediate, not queueMicrotask: microtasks run after each I/O callback, so every request
    // would still go alone; the check phase comes once all of this turn's I/O callbacks have run.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushTick);
    }
  }

  private flush(): void {
    this.scheduled = false;
    const events = this.events;
    const responses = this.responses;
    const starts = this.starts;
    this.events = [];
    this.responses = [];
    this.starts = [];
    for (let from = 0; from < events.length; from += MAX_EVENTS_PER_CALL) {
      this.send(events, responses, starts, from, Math.min(events.length, from + MAX_EVENTS_PER_CALL));
    }
  }

  private send(events: IncomingEvent[], responses: ServerResponse[], starts: number[], from: number, to: number): void {
    const n = to - from;
    const args: (string | number | Buffer)[] = new Array(2 + n + 1 + 3 * n);
    args[0] = n + 1;
    args[1] = this.stream;
    let a = 2 + n;
    args[a++] = this.ttlS;
    for (let i = from; i < to; i++) {
      const e = events[i];
      args[2 + i - from] = this.idemPrefix + e.idempotencyKey;
      args[a++] = e.requestId;
      args[a++] = eventHead(e.requestId, e.idempotencyKey, e.orderingKey, e.seq, e.receivedAt);
      args[a++] = e.payload;
    }
    this.call(...args).then(
      (replies) => {
        // One time for the batch: every event of it entered the stream in this one call.
        const enqueuedAt = new Date().toISOString();
        for (let i = from; i < to; i++) {
          const r = replies[i - from];
          if (r === 0) this.answers.enqueued(responses[i], starts[i], events[i], enqueuedAt);
          else this.answers.duplicate(responses[i], starts[i], String(r), events[i]);
        }
      },
      (err: Error) => {
        const refusal = {
          status: 503,
          code: "queue_unavailable",
          message: `the queue (Redis) is not answering (${err.message}); retry later`,
          headers: RETRY_SOON,
        };
        for (let i = from; i < to; i++) this.answers.refused(responses[i], events[i].requestId, starts[i], refusal);
      },
    );
  }
}
