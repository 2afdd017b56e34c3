// Each request as it will go on the wire, made before t0: its body bytes and, on the lean path, its
// complete header list, signed ahead of its due time so no HMAC is computed on the send path.

import { githubSignature, signStandardWebhook } from "../../../webhook-signatures.js";
import type { CorpusEvent } from "../corpus/replay-corpus.js";
import { signingKeyOf, type ReplayOptions } from "./replay-options.js";
import { ReplayRecord } from "./replay-record.js";

/** Lean path: seconds of the schedule signed before t0, and kept signed ahead during the run. */
const SIGN_BEFORE_T0_S = 20;
const SIGN_AHEAD_S = 10;
/**
 * A request signed longer ago than this is signed again at its send (one held behind a slow key):
 * services refuse webhook-timestamps more than 5 minutes off (Standard Webhooks' tolerance).
 */
export const MAX_SIGNATURE_AGE_S = 120;

/** The replay's requests, ready to send; the scheduler (replay.ts) sends them. */
export class PreparedRequests extends ReplayRecord {
  protected readonly signingKey: Buffer | null;
  protected readonly orderingHeader: string;
  protected readonly sequenceHeader: string;
  protected readonly bearer: string | null;
  /** X-Hub-Signature-256 per event: it signs the body alone, so it is computed once. */
  protected readonly githubSignatures: string[] | null;
  /**
   * Every body's bytes, encoded once into one buffer (undici would encode a string body at every
   * send); body i is bodyBytes[bodyStart[i] .. bodyStart[i + 1]).
   */
  protected readonly bodyBytes: Buffer;
  protected readonly bodyStart: Float64Array;
  /** The lean path (see ReplayOptions.driver); false runs the per-request baseline. */
  protected readonly lean: boolean;
  /** Lean path: each body as a view of bodyBytes, made once. */
  protected readonly bodies: Buffer[] = [];
  /**
   * Lean path: each request's complete header list, made before t0; its webhook-timestamp and
   * webhook-signature are filled in ahead of its due time (signAhead), never on the send path.
   */
  protected readonly headerLists: string[][] = [];
  /** Unix second each request was signed at (lean path). */
  protected readonly signedAtS: Float64Array;
  /** Requests [0, signedUpTo) are signed. */
  protected signedUpTo = 0;
  private cachedSecond = -1;
  private cachedSecondAt = -Infinity;

  constructor(o: ReplayOptions) {
    super(o);
    const events = o.events;
    const n = this.n;
    this.signingKey = o.credentials.signingSecret !== undefined ? signingKeyOf(o.credentials.signingSecret) : null;
    this.orderingHeader = (o.headers?.orderingKey ?? "x-ordering-key").toLowerCase();
    this.sequenceHeader = (o.headers?.sequence ?? "x-sequence").toLowerCase();
    this.bearer = o.credentials.bearerKey !== undefined ? `Bearer ${o.credentials.bearerKey}` : null;
    this.githubSignatures =
      o.credentials.githubSecret !== undefined ? events.map((e) => githubSignature(o.credentials.githubSecret!, e.body)) : null;
    [this.bodyBytes, this.bodyStart] = encodeBodies(events);
    this.lean = (o.driver ?? "lean") === "lean";
    this.signedAtS = new Float64Array(this.lean ? n : 0);
    if (this.lean) {
      for (let i = 0; i < n; i++) {
        this.bodies.push(this.bodyBytes.subarray(this.bodyStart[i], this.bodyStart[i + 1]));
        // Timestamp at 11 and signature at 13, filled in ahead of the due time (signAhead).
        const headers = this.headerList(i, "", this.signingKey ? "" : null);
        this.headerLists.push(headers);
      }
      this.signAhead(SIGN_BEFORE_T0_S * o.rate);
    }
  }

  /**
   * Request i's headers as a flat [name, value, ...] list, the cheapest form for undici to take in:
   * the timestamp at index 11, the signature (null: none) at 13.
   */
  protected headerList(i: number, timestamp: string, signature: string | null): string[] {
    const e = this.o.events[i];
    const headers = [
      "content-type",
      "application/json",
      "webhook-id",
      e.id,
      this.orderingHeader,
      e.orderingKey,
      this.sequenceHeader,
      String(e.seq),
      "x-github-event",
      e.eventType,
      "webhook-timestamp",
      timestamp,
    ];
    if (signature !== null) headers.push("webhook-signature", signature);
    if (this.bearer) headers.push("authorization", this.bearer);
    if (this.githubSignatures) headers.push("x-hub-signature-256", this.githubSignatures[i]);
    return headers;
  }

  /**
   * Sign requests [signedUpTo, signedUpTo + count) now, with the current unix second. The phase's
   * first SIGN_BEFORE_T0_S seconds are signed before t0; during the run, each scheduler tick keeps
   * SIGN_AHEAD_S seconds signed ahead of the schedule, a few at a time, so a long phase's
   * timestamps stay fresh without any signing on the send path.
   */
  protected signAhead(count: number): void {
    const end = Math.min(this.n, this.signedUpTo + Math.ceil(count));
    const ts = Math.floor(Date.now() / 1000);
    const tsText = String(ts);
    for (let i = this.signedUpTo; i < end; i++) this.sign(i, ts, tsText);
    this.signedUpTo = end;
  }

  protected sign(i: number, ts: number, tsText: string): void {
    const headers = this.headerLists[i];
    headers[11] = tsText;
    if (this.signingKey) headers[13] = signStandardWebhook(this.signingKey, this.o.events[i].id, ts, this.bodies[i]);
    this.signedAtS[i] = ts;
  }

  /**
   * Keep SIGN_AHEAD_S seconds of the schedule signed, 5 ms of requests per tick at most: signing a
   * larger chunk at once would stall the ticks behind it (an HMAC costs microseconds), and ticks
   * come every millisecond or so, so this keeps up with the schedule several times over.
   */
  protected keepSignedAhead(now: number): void {
    if (this.signedUpTo >= this.n) return;
    if (this.dueOf(this.signedUpTo) > now + SIGN_AHEAD_S * 1000) return;
    this.signAhead(Math.max(1, this.o.rate / 200));
  }

  /** Wall-clock unix seconds, read from the clock at most every 100 ms. */
  protected unixSecond(now: number): number {
    if (now - this.cachedSecondAt > 100) {
      this.cachedSecond = Math.floor(Date.now() / 1000);
      this.cachedSecondAt = now;
    }
    return this.cachedSecond;
  }
}

/** UTF-8 bytes of every body in one allocation, and where each starts (n + 1 offsets). */
function encodeBodies(events: CorpusEvent[]): [Buffer, Float64Array] {
  const start = new Float64Array(events.length + 1);
  let total = 0;
  for (let i = 0; i < events.length; i++) {
    start[i] = total;
    total += Buffer.byteLength(events[i].body);
  }
  start[events.length] = total;
  const all = Buffer.allocUnsafeSlow(total);
  for (let i = 0; i < events.length; i++) all.write(events[i].body, start[i], "utf8");
  return [all, start];
}
