// POST /webhooks, the accept path: the checks that need only headers, then the body (a sender is cut
// off as soon as it is over --max-body-bytes), the checks on the whole request, and the event goes to
// the sink, which answers. The measured hot path: no awaits, and per request only the id, the body's
// three listeners, the body and the event.

import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ServerOptions } from "../config.js";
import type { EventSink } from "../event-sink.js";
import type { Route, Refusal } from "./route.js";
import type { WebhookAnswers } from "./webhook-answers.js";
import { idempotencyKeyOf, webhookChecks, type WebhookCheck } from "./webhook-checks.js";

const NO_BODY = Buffer.alloc(0);
const UNCHECKED: Refusal = { status: 500, code: "internal", message: "the request could not be checked; it was not stored" };

export function webhookRoute(options: ServerOptions, sink: EventSink, answers: WebhookAnswers, log: Logger): Route {
  const { beforeBody, onRequest, tooLarge } = webhookChecks(options);
  const { maxBodyBytes, orderingKeyHeader, sequenceHeader } = options;

  function firstRefusal(checks: readonly WebhookCheck[], h: IncomingHttpHeaders, body: Buffer, requestId: string): Refusal | null {
    try {
      for (let i = 0; i < checks.length; i++) {
        const refusal = checks[i](h, body);
        if (refusal !== null) return refusal;
      }
      return null;
    } catch (err) {
      // A bug in a check must cost one request a 500, never the process and everything in flight.
      log.error({ request_id: requestId, err: (err as Error).message }, "validation failed unexpectedly");
      return UNCHECKED;
    }
  }

  function refuseUnread(req: IncomingMessage, res: ServerResponse, requestId: string, started: number, r: Refusal): void {
    // Answer now: reading the rest of a refused body would only waste the server's time.
    answers.refused(res, requestId, started, r);
    req.resume();
  }

  function handle(req: IncomingMessage, res: ServerResponse, started: number, receivedMs: number): void {
    const requestId = randomUUID();
    const early = firstRefusal(beforeBody, req.headers, NO_BODY, requestId);
    if (early !== null) return refuseUnread(req, res, requestId, started, early);

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        chunks.length = 0;
        return refuseUnread(req, res, requestId, started, tooLarge);
      }
      chunks.push(chunk);
    });
    req.on("error", () => {
      refused = true; // The client went away; nothing to answer.
    });
    req.on("end", () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      const h = req.headers;
      const refusal = firstRefusal(onRequest, h, body, requestId);
      if (refusal !== null) return answers.refused(res, requestId, started, refusal);
      const event = {
        requestId,
        idempotencyKey: idempotencyKeyOf(h) as string,
        orderingKey: (h[orderingKeyHeader] as string | undefined) ?? "",
        seq: (h[sequenceHeader] as string | undefined) ?? "",
        receivedAt: new Date(receivedMs).toISOString(),
        payload: body,
      };
      sink.put(event, res, started);
    });
  }

  return { methods: ["POST"], handle };
}
