// What a replay is asked to do (ReplayOptions), what it reports while it runs (ReplayProgress), and
// the check that turns options the driver cannot run with into a ReplayError saying what to fix.

import type { CorpusEvent } from "../corpus/replay-corpus.js";
import { SECRET_PREFIX, signingKey } from "../../../webhook-signatures.js";

export interface ReplayProgress {
  elapsedMs: number;
  /** Requests in the replay. */
  total: number;
  sent: number;
  answered: number;
  accepted: number;
  duplicates: number;
  /** Answered 4xx (or another non-2xx, non-5xx status). */
  rejected: number;
  /** 5xx answers and transport errors. */
  serverErrors: number;
  timeouts: number;
  /** Everything that is not accepted or duplicate: rejected + serverErrors + timeouts. */
  errors: number;
  inFlight: number;
  /** Due, but waiting for the previous request of their ordering key to be answered. */
  heldByKey: number;
  /** Requests sent per second over the last progress interval. */
  currentRate: number;
  /** P95 of the latencies so far, from a histogram with 2% resolution; null before any answer. */
  p95Ms: number | null;
}

export interface ReplayOptions {
  /** Full URL of the endpoint, e.g. http://127.0.0.1:8080/webhooks */
  url: string;
  /** Offered requests per second (open loop). */
  rate: number;
  events: CorpusEvent[];
  credentials: { bearerKey?: string; signingSecret?: string; githubSecret?: string };
  /** Header names for the ordering key and sequence; default x-ordering-key / x-sequence. */
  headers?: { orderingKey: string; sequence: string };
  /** undici Pool size; default: one connection per ordering key (at most 1,024), never fewer than 16. */
  connections?: number;
  /** Per request, from its send; default 30,000. A timeout is outcome "timeout", status 0. */
  timeoutMs?: number;
  /** Called about every 250 ms, and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** Checked about every 250 ms: return a reason to stop sending (e.g. the error budget is spent). */
  shouldStop?: (p: ReplayProgress) => string | null;
  /** Abort at once: stop sending and give up on requests in flight. */
  signal?: AbortSignal;
  /**
   * "lean" (default): every request's headers and signature made before it is due, answers read as
   * bytes. "baseline": the driver as it was before, signing, building headers and parsing each answer
   * as JSON per request; kept so the bench can show what the lean path saves, side by side.
   */
  driver?: DriverVariant;
  /**
   * One shard of a phase's schedule (shards/): when each event is due, ms since t0, ascending. Absent:
   * event i is due at i x 1000 / rate.
   */
  dueAt?: Float64Array;
  /**
   * t0 on this process's performance.now() clock, agreed with the other shards through the
   * coordination clock; absent: t0 is when the replay starts. The replay waits for it.
   */
  startAt?: number;
}

export type DriverVariant = "lean" | "baseline";

/** Thrown for options the driver cannot run with; `code` is stable, `message` says what to fix. */
export class ReplayError extends Error {
  constructor(
    readonly code: "replay_options_invalid" | "replay_started_late",
    message: string,
  ) {
    super(message);
    this.name = "ReplayError";
  }
}

/** The HMAC key of credentials.signingSecret, or a ReplayError saying what is wrong with the secret. */
export function signingKeyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new ReplayError(
      "replay_options_invalid",
      "credentials.signingSecret must be a Standard Webhooks secret starting with whsec_ (check WEBHOOK_SIGNING_SECRET)",
    );
  }
  const key = signingKey(secret);
  if (key.length === 0)
    throw new ReplayError("replay_options_invalid", "credentials.signingSecret has no key bytes after whsec_ (it must be whsec_ + base64)");
  return key;
}

/** One connection per ordering key at most in flight: a connection per key means the pool never queues. */
export function connectionLimit(o: ReplayOptions): number {
  if (o.connections !== undefined) return o.connections;
  const keys = new Set<string>();
  for (const e of o.events) keys.add(e.orderingKey);
  return Math.min(1024, Math.max(16, keys.size));
}

export function checkOptions(o: ReplayOptions): URL {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(o.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") problems.push(`url must be http or https, got ${o.url}`);
  } catch {
    problems.push(`url is not a URL: ${JSON.stringify(o.url)}`);
  }
  if (!(Number.isFinite(o.rate) && o.rate > 0)) problems.push(`rate must be a positive number of requests per second, got ${o.rate}`);
  if (!Array.isArray(o.events) || o.events.length === 0) problems.push("events must hold at least one event");
  if (o.connections !== undefined && !(Number.isInteger(o.connections) && o.connections >= 1))
    problems.push(`connections must be a whole number >= 1, got ${o.connections}`);
  if (o.dueAt !== undefined && o.dueAt.length !== (o.events?.length ?? 0))
    problems.push(`dueAt must hold one due time per event (${o.events?.length ?? 0}), got ${o.dueAt.length}`);
  if (o.timeoutMs !== undefined && !(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0))
    problems.push(`timeoutMs must be a positive number, got ${o.timeoutMs}`);
  if (problems.length > 0 || !url) throw new ReplayError("replay_options_invalid", `replay: ${problems.join("; ")}`);
  if (o.credentials.signingSecret !== undefined) signingKeyOf(o.credentials.signingSecret);
  return url;
}
