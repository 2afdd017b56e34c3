// undici's answer to each request, read into one outcome: accepted, duplicate, rejected or error.
// Per request: reads as few bytes and makes as few strings as it can.

import { ACCEPTED, DUPLICATE, ERROR, REJECTED } from "./replay-record.js";

/** What a handler tells the scheduler (replay.ts's Replay): when its request started and how it ended. */
export interface RequestListener {
  requestStarted(i: number, abort: (err?: Error) => void): void;
  complete(i: number, outcome: number, status: number, requestId: string | null, error?: string): void;
}

const MAX_RESPONSE_BODY_BYTES = 4096;

/**
 * undici's per-request callbacks, turned into one complete() call. This is undici's raw callback
 * form (onConnect/onHeaders/...): the newer onRequestStart form wraps every request in two more
 * objects and parses every response header into an object, which costs the driver CPU it shares
 * with the service under test.
 */
export class ResponseHandler {
  private statusCode = 0;
  private requestId: string | null = null;
  private chunks: Buffer[] | null = null;
  private bytes = 0;

  constructor(
    private readonly replay: RequestListener,
    private readonly i: number,
    /** Read the answer as bytes (lean) or, as the baseline did, through strings and JSON.parse. */
    private readonly lean: boolean,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.replay.requestStarted(this.i, abort);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.statusCode = statusCode;
    this.requestId = this.lean ? findHeaderBytes(rawHeaders, X_REQUEST_ID) : findHeader(rawHeaders, "x-request-id");
    // Only a 2xx body matters: it says accepted or duplicate.
    if (statusCode >= 200 && statusCode < 300) this.chunks = [];
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.chunks && this.bytes < MAX_RESPONSE_BODY_BYTES) {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
    }
    return true;
  }

  onComplete(): void {
    const s = this.statusCode;
    let outcome: number;
    if (s >= 200 && s < 300) outcome = (this.lean ? saysDuplicate(this.chunks!) : isDuplicateAnswer(this.chunks!)) ? DUPLICATE : ACCEPTED;
    else if (s >= 500) outcome = ERROR;
    else outcome = REJECTED;
    this.replay.complete(this.i, outcome, s, this.requestId);
  }

  onError(err: Error): void {
    this.replay.complete(this.i, ERROR, 0, this.requestId, describeTransportError(err));
  }
}

/** Value of a header in undici's raw [name, value, name, value ...] form, by lowercase name. */
function findHeader(raw: Buffer[], lowercaseName: string): string | null {
  for (let h = 0; h < raw.length; h += 2) {
    const name = raw[h];
    if (name.length === lowercaseName.length && name.toString("latin1").toLowerCase() === lowercaseName)
      return raw[h + 1].toString("latin1");
  }
  return null;
}

const X_REQUEST_ID = Buffer.from("x-request-id", "latin1");

/** findHeader without making a string of every header name: bytes compared, ASCII case folded. */
function findHeaderBytes(raw: Buffer[], lowercaseName: Buffer): string | null {
  const len = lowercaseName.length;
  outer: for (let h = 0; h < raw.length; h += 2) {
    const name = raw[h];
    if (name.length !== len) continue;
    for (let b = 0; b < len; b++) {
      const c = name[b];
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lowercaseName[b]) continue outer;
    }
    return raw[h + 1].toString("latin1");
  }
  return null;
}

const DUPLICATE_STATUS = Buffer.from('"status":"duplicate"');

/**
 * The lean reading of a 2xx answer: an answer whose bytes do not hold `"status":"duplicate"` is
 * accepted, without a string or a parse; only the few that do (redeliveries) are parsed, so a body
 * that merely contains those bytes elsewhere is judged exactly as JSON.parse judges it.
 */
export function saysDuplicate(chunks: Buffer[]): boolean {
  if (chunks.length === 0) return false;
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  return body.indexOf(DUPLICATE_STATUS) >= 0 && isDuplicateAnswer([body]);
}

function isDuplicateAnswer(chunks: Buffer[]): boolean {
  if (chunks.length === 0) return false;
  try {
    const body = JSON.parse(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8"));
    return body !== null && typeof body === "object" && body.status === "duplicate";
  } catch {
    return false;
  }
}

function describeTransportError(err: Error): string {
  const code = (err as { code?: string }).code;
  return code ? `${code}: ${err.message}` : err.message;
}
