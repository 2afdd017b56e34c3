// A queued event as it travels in the Redis stream, from the accept path to a worker: two fields,
// "head" and "payload". head is the event's JSON object up to its payload,
//   {"r":"<request id>","k":<idempotency key>,"o":<ordering key or null>,"s":<seq or null>,"t":"<received at>"
// built once by the accept path, so a worker splices head, ',"p":', the payload and '}' into its
// batch without decoding anything (batch-writer.ts). Fewer fields also mean less for Redis to store
// and for the worker to parse: the six fields of earlier releases cost the worker about a third of
// its CPU per event. Entries in that older form are still read (a stream can hold both during an
// upgrade).

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

/** The stream entry's field names. */
export const HEAD_FIELD = "head";
export const PAYLOAD_FIELD = "payload";

const HEAD_START = '{"r":"';
const QUOTE = 0x22;
const SEQUENCE = /^\d{1,15}$/;

/**
 * The head of an event; `seq` must be 1 to 15 digits (the accept path checked it) or "", `orderingKey`
 * "" for none. A sequence number goes in as a JSON number, so leading zeros are dropped ("007" is 7).
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
    '"'
  );
}

/**
 * The request id of a head, read from its fixed start without decoding the rest; null when the bytes
 * do not start as a head does (then the entry is not one the accept path wrote).
 */
export function requestIdOf(head: Buffer): string | null {
  if (head.length < HEAD_START.length + 2 || head.toString("latin1", 0, HEAD_START.length) !== HEAD_START) return null;
  const end = head.indexOf(QUOTE, HEAD_START.length);
  if (end <= HEAD_START.length || head[head.length - 1] !== QUOTE) return null;
  return head.toString("latin1", HEAD_START.length, end);
}

/** Everything a head says, decoded: for the rare paths that need it (dead letters). null if it is not a head. */
export function readHead(head: Buffer): EventDetails | null {
  let o: unknown;
  try {
    o = JSON.parse(head.toString("utf8") + "}");
  } catch {
    return null;
  }
  const { r, k, o: key, s, t } = o as Record<string, unknown>;
  if (typeof r !== "string" || typeof k !== "string" || typeof t !== "string") return null;
  if (key !== null && typeof key !== "string") return null;
  if (s !== null && !(typeof s === "number" && SEQUENCE.test(String(s)))) return null;
  return { requestId: r, idempotencyKey: k, orderingKey: key, seq: s === null ? null : String(s), receivedAt: t };
}
