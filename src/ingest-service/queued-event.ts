// A queued event as it travels in the Redis stream, from the accept path to a worker: ONE field,
// "event", holding the event as the JSON object a worker's batch wants, without its closing brace:
//   {"r":"<request id>","k":<idempotency key>,"o":<ordering key or null>,"s":<seq or null>,"t":"<received at>","p":<payload>
// The accept path builds the head (everything before the payload) and accept-batch.lua appends the
// payload as received, so a worker cuts the entry at the payload's key, the head into its batch's heads
// and the payload into its bodies, without decoding anything (batch-writer.ts). Earlier releases wrote six fields, one per detail; parsing those replies
// and building the JSON cost the worker about a third of its CPU per event. Entries in that older form
// are still read (a stream can hold both during an upgrade).

/** What an event's head says, as the accept path took it. */
export interface EventDetails {
  requestId: string;
  idempotencyKey: string;
  /** null when the event has no ordering constraint. */
  orderingKey: string | null;
  /** Decimal digits, null when none. */
  seq: string | null;
  /** ISO 8601. */
  receivedAt: string;
}

/** The stream entry's one field. */
export const EVENT_FIELD = "event";

const HEAD_START = '{"r":"';
/** Where the head ends and the payload starts: inside the head's strings a quote is always escaped, so the first match is this. */
const PAYLOAD_KEY = ',"p":';
export const PAYLOAD_KEY_LENGTH = PAYLOAD_KEY.length;
const QUOTE = 0x22;
/** A sequence number as the accept path takes it: 1 to 15 decimal digits (an exact JSON number, a bigint). */
export const SEQUENCE = /^\d{1,15}$/;

/**
 * The head of an event, up to and with its payload's key. `seq` is 1 to 15 digits (the accept path
 * checked it) or "" for none, `orderingKey` "" for none. A sequence number goes in as a JSON number,
 * so leading zeros are dropped ("007" is 7).
 */
export function eventHead(requestId: string, idempotencyKey: string, orderingKey: string, seq: string, receivedAt: string): string {
  return (
    HEAD_START +
    requestId +
    '","k":' +
    JSON.stringify(idempotencyKey) +
    ',"o":' +
    (orderingKey === "" ? "null" : JSON.stringify(orderingKey)) +
    ',"s":' +
    (seq === "" ? "null" : seq.charCodeAt(0) === 0x30 ? String(Number(seq)) : seq) +
    ',"t":"' +
    receivedAt +
    '"' +
    PAYLOAD_KEY
  );
}

/** Where a queued event's payload starts (just after its key), or -1 when the head does not end as the accept path writes it. */
export function payloadStart(event: Buffer): number {
  const at = event.indexOf(PAYLOAD_KEY);
  return at < 0 ? -1 : at + PAYLOAD_KEY.length;
}

/**
 * The request id of a queued event, read from its fixed start without decoding the rest; null when
 * the bytes do not start as the accept path writes them.
 */
export function requestIdOf(event: Buffer): string | null {
  if (event.length < HEAD_START.length + 2 || event.toString("latin1", 0, HEAD_START.length) !== HEAD_START) return null;
  const end = event.indexOf(QUOTE, HEAD_START.length);
  return end <= HEAD_START.length ? null : event.toString("latin1", HEAD_START.length, end);
}

/**
 * A queued event's details and payload, decoded: for the rare paths that need them (dead letters).
 * null if the head does not read.
 */
export function readEvent(event: Buffer): { details: EventDetails; payload: Buffer } | null {
  const start = payloadStart(event);
  if (start < 0) return null;
  const at = start - PAYLOAD_KEY.length;
  let o: unknown;
  try {
    o = JSON.parse(event.toString("utf8", 0, at) + "}");
  } catch {
    return null;
  }
  const { r, k, o: key, s, t } = o as Record<string, unknown>;
  if (typeof r !== "string" || typeof k !== "string" || typeof t !== "string") return null;
  if (key !== null && typeof key !== "string") return null;
  if (s !== null && !(typeof s === "number" && SEQUENCE.test(String(s)))) return null;
  return {
    details: { requestId: r, idempotencyKey: k, orderingKey: key, seq: s === null ? null : String(s), receivedAt: t },
    payload: event.subarray(start),
  };
}
