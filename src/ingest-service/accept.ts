// The accept step: one Redis round trip that decides "new or duplicate" and enqueues, atomically,
// through the accept-2.lua script (loaded once, then called by SHA).

import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { assetFile } from "./asset-file.js";
import { queueKeys } from "./queue-keys.js";

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

export interface AcceptResult {
  status: "accepted" | "duplicate";
  /** This request's id when accepted; the first delivery's id when a duplicate. */
  requestId: string;
}

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

export class EventAcceptor {
  private readonly call: AcceptScript;
  private readonly idemPrefix: string;
  private readonly stream: string;

  constructor(
    redis: Redis,
    namespace: string,
    private readonly ttlS: number,
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

  async accept(e: IncomingEvent): Promise<AcceptResult> {
    const [status, requestId] = await this.call(
      this.idemPrefix + e.idempotencyKey,
      this.stream,
      e.requestId,
      this.ttlS,
      e.idempotencyKey,
      e.orderingKey,
      e.seq,
      e.receivedAt,
      e.payload,
    );
    return { status: status === "duplicate" ? "duplicate" : "accepted", requestId };
  }
}
