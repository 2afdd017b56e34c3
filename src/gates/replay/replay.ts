// The open-loop replay driver: sends a corpus at a fixed offered rate, as wrk2 does, and measures
// every request from when it was due, so a stalled server cannot hide behind its own slowness.
//
// Request i is due at t0 + i/rate and is sent then, whatever earlier answers are doing, except that
// the events of one ordering key go out one at a time in send order (the two events of a corpus's
// out-of-order pair go together): an event whose key still has a request in flight at its due
// time is held and sent the moment that request is answered. Its
// latency still counts from its due time (coordinated omission corrected), so holding it never
// makes the service look faster.
//
// What the replay can prove is decided in replay-validity.ts from the driver's record: whether the
// offered rate held, and the driver's own send lag: from the moment a request could be sent (its
// due time, or its key's previous answer if that came later) to the moment it was handed to the
// connection pool. Time held behind a slow answer of the same key is the service's doing; it is in
// each sample's sendLagMs (sent - due) and in its latency.

import os from "node:os";
import { createServer } from "node:http";
import { connect as netConnect } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { Pool, buildConnector } from "undici";
import type { Dispatcher } from "undici";
import type { ReplayResult, RequestOutcome, RequestSample } from "./gate-run.js";
import type { CorpusEvent } from "./corpus.js";
import { checkSchedule } from "./replay-validity.js";
import { githubSignature, SECRET_PREFIX, signingKey, signStandardWebhook } from "../webhook-signatures.js";

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
}

export type DriverVariant = "lean" | "baseline";

/** Thrown for options the driver cannot run with; `code` is stable, `message` says what to fix. */
export class ReplayError extends Error {
  constructor(
    readonly code: "replay_options_invalid",
    message: string,
  ) {
    super(message);
    this.name = "ReplayError";
  }
}

export { MIN_ACHIEVED_RATE_SHARE } from "./replay-validity.js";

const PROGRESS_INTERVAL_MS = 250;
/** Lean path: seconds of the schedule signed before t0, and kept signed ahead during the run. */
const SIGN_BEFORE_T0_S = 20;
const SIGN_AHEAD_S = 10;
/**
 * A request signed longer ago than this is signed again at its send (one held behind a slow key):
 * services refuse webhook-timestamps more than 5 minutes off (Standard Webhooks' tolerance).
 */
const MAX_SIGNATURE_AGE_S = 120;
const MAX_RESPONSE_BODY_BYTES = 4096;

/** The HMAC key of credentials.signingSecret, or a ReplayError saying what is wrong with the secret. */
function signingKeyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new ReplayError("replay_options_invalid", "credentials.signingSecret must be a Standard Webhooks secret starting with whsec_ (check WEBHOOK_SIGNING_SECRET)");
  }
  const key = signingKey(secret);
  if (key.length === 0) throw new ReplayError("replay_options_invalid", "credentials.signingSecret has no key bytes after whsec_ (it must be whsec_ + base64)");
  return key;
}

const OUTCOME_CODES: RequestOutcome[] = ["accepted", "duplicate", "rejected", "error", "timeout"];
const ACCEPTED = 0;
const DUPLICATE = 1;
const REJECTED = 2;
const ERROR = 3;
const TIMEOUT = 4;

/**
 * Replay the events against the URL at the offered rate. Resolves when every sent request is
 * answered or timed out (or at once on `signal`), with one sample per sent request.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const url = checkOptions(o);
  if (o.signal?.aborted) return run(o, url, []);
  return withDriverPriority(async () => {
    await warmUp(o);
    // A tenth of a second's requests: a stall of that length is met with connections already open,
    // not with a burst of connects (each a socket, a handshake and five setsockopt calls on both sides).
    const sockets = await preconnect(url, Math.min(connectionLimit(o), Math.max(16, Math.ceil(o.rate / 10))));
    return run(o, url, sockets);
  });
}

/**
 * The replay driver shares this machine with the service under test. A load generator belongs on a
 * machine of its own; the nearest thing here is to let the scheduler run it first, so it keeps its
 * schedule (an invalid run says nothing). Latency is still counted from each request's due time.
 * Without the privilege to raise priority (not root), the run goes on at normal priority.
 */
async function withDriverPriority<T>(work: () => Promise<T>): Promise<T> {
  const before = os.getPriority();
  let raised = false;
  try {
    os.setPriority(-10);
    raised = true;
  } catch {
    // not permitted: measure at normal priority
  }
  try {
    return await work();
  } finally {
    if (raised) os.setPriority(before);
  }
}


function run(o: ReplayOptions, url: URL, sockets: Socket[]): Promise<ReplayResult> {
  return new Promise<ReplayResult>((resolve, reject) => {
    try {
      const r = new Replay(o, url, sockets, resolve);
      settleHeap();
      r.start();
    } catch (err) {
      for (const s of sockets) s.destroy();
      reject(err);
    }
  });
}

/**
 * Push what setup left in V8's young generation (a freshly generated corpus, the driver's tables)
 * into the old one before t0, by allocating short-lived garbage. Otherwise the first scavenges of
 * the run copy those hundreds of MB, pausing the driver 20-40 ms in its first second.
 */
function settleHeap(): void {
  let keep = 0;
  for (let i = 0; i < 300_000; i++) keep += new Array<number>(16).length;
  if (keep < 0) throw new Error("unreachable");
}

/** One connection per ordering key at most in flight: a connection per key means the pool never queues. */
function connectionLimit(o: ReplayOptions): number {
  if (o.connections !== undefined) return o.connections;
  const keys = new Set<string>();
  for (const e of o.events) keys.add(e.orderingKey);
  return Math.min(1024, Math.max(16, keys.size));
}

/**
 * Open TCP connections before t0. Connecting costs both sides a few hundred microseconds; without
 * this, the first burst after any hiccup opens dozens at once and the driver falls behind its own
 * schedule. The service sees connections, no requests. Plain http only (https connects as usual).
 */
async function preconnect(url: URL, count: number): Promise<Socket[]> {
  if (url.protocol !== "http:") return [];
  const port = Number(url.port || 80);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const attempts = Array.from({ length: count }, () =>
    new Promise<Socket | null>((resolve) => {
      const socket = netConnect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
      socket.once("connect", () => resolve(socket));
      socket.once("error", () => resolve(null));
    }),
  );
  const sockets: Socket[] = [];
  for (const s of await Promise.all(attempts)) {
    if (!s) continue;
    s.removeAllListeners("error");
    s.on("error", () => s.destroy());
    sockets.push(s);
  }
  return sockets;
}

/**
 * Run the driver's own code once, against a throwaway sink on 127.0.0.1, before t0. A cold
 * driver compiles undici's HTTP parser (WebAssembly) and JIT-compiles its send path during its
 * first requests, stalling its event loop for 100-200 ms: that lag belongs to the driver, and
 * would otherwise land on the first measured requests. The service under test sees nothing.
 */
async function warmUp(o: ReplayOptions): Promise<void> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(202, { "x-request-id": "warm-up" }).end('{"status":"accepted"}'));
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = sink.address() as AddressInfo;
    const events = o.events.slice(0, 1000);
    const url = new URL(`http://127.0.0.1:${port}/warm-up`);
    // The same paths as the real run, handing over connections opened in advance included.
    const sockets = await preconnect(url, 32);
    await run({ ...o, url: url.href, rate: 10_000, events, connections: 64, onProgress: undefined, shouldStop: undefined }, url, sockets);
  } finally {
    sink.closeAllConnections();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}

function checkOptions(o: ReplayOptions): URL {
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
  if (o.connections !== undefined && !(Number.isInteger(o.connections) && o.connections >= 1)) problems.push(`connections must be a whole number >= 1, got ${o.connections}`);
  if (o.timeoutMs !== undefined && !(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) problems.push(`timeoutMs must be a positive number, got ${o.timeoutMs}`);
  if (problems.length > 0 || !url) throw new ReplayError("replay_options_invalid", `replay: ${problems.join("; ")}`);
  if (o.credentials.signingSecret !== undefined) signingKeyOf(o.credentials.signingSecret);
  return url;
}

/** Latency histogram for the running P95: buckets grow by 2% from 0.01 ms. */
class RunningHistogram {
  private static readonly BASE = 0.01;
  private static readonly LOG_GROWTH = Math.log(1.02);
  private readonly counts = new Uint32Array(1000);
  private n = 0;

  add(ms: number): void {
    const i = ms <= RunningHistogram.BASE ? 0 : Math.ceil(Math.log(ms / RunningHistogram.BASE) / RunningHistogram.LOG_GROWTH);
    this.counts[Math.min(i, this.counts.length - 1)]++;
    this.n++;
  }

  /** Upper edge of the bucket holding the nearest-rank P95. */
  p95(): number | null {
    if (this.n === 0) return null;
    const rank = Math.ceil(this.n * 0.95);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return RunningHistogram.BASE * Math.exp(i * RunningHistogram.LOG_GROWTH);
    }
    return null;
  }
}

/** One replay in progress. Per-request state lives in typed arrays indexed by event position. */
class Replay {
  private readonly n: number;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly path: string;
  private readonly signingKey: Buffer | null;
  private readonly orderingHeader: string;
  private readonly sequenceHeader: string;
  private readonly bearer: string | null;
  /** X-Hub-Signature-256 per event: it signs the body alone, so it is computed once. */
  private readonly githubSignatures: string[] | null;
  private readonly keyOf: Int32Array;
  /** Requests of each key in flight, and how many of them are not concurrent. */
  private readonly keyBusy: Uint8Array;
  private readonly keyBusyInOrder: Uint8Array;
  private readonly held: number[][];
  private readonly sentAt: Float64Array;
  private readonly readyAt: Float64Array;
  private readonly dispatchedAt: Float64Array;
  private readonly doneAt: Float64Array;
  private readonly status: Uint16Array;
  private readonly outcome: Uint8Array;
  /** 0 not sent, 1 in flight, 2 done. */
  private readonly state: Uint8Array;
  private readonly requestId: (string | null)[];
  private readonly errorText: (string | undefined)[];
  /** How to give up on request i once undici has it on a connection. */
  private readonly aborts: (((err?: Error) => void) | undefined)[];
  /**
   * Every body's bytes, encoded once into one buffer (undici would encode a string body at every
   * send); body i is bodyBytes[bodyStart[i] .. bodyStart[i + 1]).
   */
  private readonly bodyBytes: Buffer;
  private readonly bodyStart: Float64Array;
  /** The lean path (see ReplayOptions.driver); false runs the per-request baseline. */
  private readonly lean: boolean;
  /** Lean path: each body as a view of bodyBytes, made once. */
  private readonly bodies: Buffer[] = [];
  /**
   * Lean path: each request's complete header list, made before t0; its webhook-timestamp and
   * webhook-signature are filled in ahead of its due time (signAhead), never on the send path.
   */
  private readonly headerLists: string[][] = [];
  /** Unix second each request was signed at (lean path). */
  private readonly signedAtS: Float64Array;
  /** Requests [0, signedUpTo) are signed. */
  private signedUpTo = 0;
  /** Indexes in the order they were sent: sentAt is ascending along it, which makes the timeout sweep cheap. */
  private readonly sendOrder: Int32Array;
  private sendCount = 0;
  private sweepHead = 0;
  private next = 0;
  private heldCount = 0;
  private inFlight = 0;
  private readonly counts = new Uint32Array(5);
  private answered = 0;
  private readonly histogram = new RunningHistogram();

  private t0 = 0;
  private startedAt = "";
  private timer: NodeJS.Timeout | undefined;
  private lastProgressAt = 0;
  private sentAtLastProgress = 0;
  private stopReason: string | undefined;
  private finished = false;
  private pumping = false;
  private cachedSecond = -1;
  private cachedSecondAt = -Infinity;
  private cpuAtStart: NodeJS.CpuUsage | null = null;
  private cpuUs: number | null = null;
  private readonly onAbort = () => this.abort(`aborted: ${describeReason(this.o.signal?.reason)}`);

  constructor(
    private readonly o: ReplayOptions,
    url: URL,
    private readonly spareSockets: Socket[],
    private readonly resolve: (r: ReplayResult) => void,
  ) {
    const events = o.events;
    const n = (this.n = events.length);
    this.intervalMs = 1000 / o.rate;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.origin = url.origin;
    this.path = url.pathname + url.search;
    this.signingKey = o.credentials.signingSecret !== undefined ? signingKeyOf(o.credentials.signingSecret) : null;

    this.orderingHeader = (o.headers?.orderingKey ?? "x-ordering-key").toLowerCase();
    this.sequenceHeader = (o.headers?.sequence ?? "x-sequence").toLowerCase();
    this.bearer = o.credentials.bearerKey !== undefined ? `Bearer ${o.credentials.bearerKey}` : null;
    const keyIds = new Map<string, number>();
    this.keyOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const key = events[i].orderingKey;
      let k = keyIds.get(key);
      if (k === undefined) keyIds.set(key, (k = keyIds.size));
      this.keyOf[i] = k;
    }
    this.githubSignatures = o.credentials.githubSecret !== undefined ? events.map((e) => githubSignature(o.credentials.githubSecret!, e.body)) : null;
    this.keyBusy = new Uint8Array(keyIds.size);
    this.keyBusyInOrder = new Uint8Array(keyIds.size);
    this.held = Array.from({ length: keyIds.size }, () => []);

    this.sentAt = new Float64Array(n);
    this.readyAt = new Float64Array(n);
    this.dispatchedAt = new Float64Array(n);
    this.doneAt = new Float64Array(n);
    this.status = new Uint16Array(n);
    this.outcome = new Uint8Array(n);
    this.state = new Uint8Array(n);
    this.requestId = new Array(n).fill(null);
    this.errorText = new Array(n);
    this.aborts = new Array(n);
    [this.bodyBytes, this.bodyStart] = encodeBodies(events);
    this.sendOrder = new Int32Array(n);
    this.lean = (o.driver ?? "lean") === "lean";
    this.signedAtS = new Float64Array(this.lean ? n : 0);
    if (this.lean) {
      for (let i = 0; i < n; i++) {
        const e = events[i];
        this.bodies.push(this.bodyBytes.subarray(this.bodyStart[i], this.bodyStart[i + 1]));
        // A flat [name, value, ...] list: the cheapest form for undici to take in. Timestamp at 11, signature at 13.
        const headers = [
          "content-type", "application/json",
          "webhook-id", e.id,
          this.orderingHeader, e.orderingKey,
          this.sequenceHeader, String(e.seq),
          "x-github-event", e.eventType,
          "webhook-timestamp", "",
        ];
        if (this.signingKey) headers.push("webhook-signature", "");
        if (this.bearer) headers.push("authorization", this.bearer);
        if (this.githubSignatures) headers.push("x-hub-signature-256", this.githubSignatures[i]);
        this.headerLists.push(headers);
      }
      this.signAhead(SIGN_BEFORE_T0_S * o.rate);
    }

    const connect = buildConnector({});
    this.pool = new Pool(this.origin, {
      connections: connectionLimit(o),
      // Hand out the connections opened before t0 first, then connect as usual.
      connect: (options, callback) => {
        let socket: Socket | undefined;
        while ((socket = this.spareSockets.pop()) && (socket.destroyed || socket.readyState !== "open"));
        if (!socket) return connect(options, callback);
        socket.removeAllListeners("error");
        process.nextTick(callback, null, socket);
      },
      pipelining: 1,
      // Timeouts are the driver's own (sweepTimeouts), measured from the send.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 60_000,
    });
  }

  /**
   * Sign requests [signedUpTo, signedUpTo + count) now, with the current unix second. The phase's
   * first SIGN_BEFORE_T0_S seconds are signed before t0; during the run, each scheduler tick keeps
   * SIGN_AHEAD_S seconds signed ahead of the schedule, a few at a time, so a long phase's
   * timestamps stay fresh without any signing on the send path.
   */
  private signAhead(count: number): void {
    const end = Math.min(this.n, this.signedUpTo + Math.ceil(count));
    const ts = Math.floor(Date.now() / 1000);
    const tsText = String(ts);
    for (let i = this.signedUpTo; i < end; i++) this.sign(i, ts, tsText);
    this.signedUpTo = end;
  }

  private sign(i: number, ts: number, tsText: string): void {
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
  private keepSignedAhead(now: number): void {
    if (this.signedUpTo >= this.n) return;
    if (this.signedUpTo * this.intervalMs > now + SIGN_AHEAD_S * 1000) return;
    this.signAhead(Math.max(1, this.o.rate / 200));
  }

  start(): void {
    if (this.o.signal?.aborted) {
      this.stopReason = `aborted: ${describeReason(this.o.signal.reason)}`;
      this.t0 = performance.now();
      this.startedAt = new Date().toISOString();
      this.finish();
      return;
    }
    this.o.signal?.addEventListener("abort", this.onAbort, { once: true });
    this.cpuAtStart = process.cpuUsage();
    this.t0 = performance.now();
    this.startedAt = new Date(Date.now()).toISOString();
    this.loop();
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  /** The scheduler tick: send what is due, expire what timed out, report, sleep until the next due time. */
  private loop = (): void => {
    this.timer = undefined;
    if (this.finished) return;
    this.pump();
    const now = this.now();
    if (this.lean) this.keepSignedAhead(now);
    this.sweepTimeouts(now);
    if (now - this.lastProgressAt >= PROGRESS_INTERVAL_MS) this.progressTick(now);
    if (this.finished || this.maybeFinish()) return;
    let wait = PROGRESS_INTERVAL_MS - (now - this.lastProgressAt);
    if (this.stopReason === undefined && this.next < this.n) wait = Math.min(wait, this.next * this.intervalMs - now);
    if (this.inFlight > 0) wait = Math.min(wait, 50);
    // Node timers have 1 ms resolution; answers arriving in between also call pump().
    this.timer = setTimeout(this.loop, Math.max(1, Math.floor(wait)));
  };

  /** Dispatch every request whose due time has come. */
  private pump(): void {
    if (this.pumping || this.stopReason !== undefined) return;
    this.pumping = true;
    try {
      const now = this.now();
      while (this.next < this.n && this.next * this.intervalMs <= now) {
        const i = this.next++;
        this.dispatchedAt[i] = now;
        const k = this.keyOf[i];
        if (this.held[k].length > 0 || !this.keyFree(i, k)) {
          this.held[k].push(i);
          this.heldCount++;
        } else {
          this.readyAt[i] = i * this.intervalMs;
          this.send(i);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private send(i: number): void {
    const now = this.now();
    this.keyBusy[this.keyOf[i]]++;
    if (!this.o.events[i].concurrent) this.keyBusyInOrder[this.keyOf[i]]++;
    this.state[i] = 1;
    this.sentAt[i] = now;
    this.sendOrder[this.sendCount++] = i;
    this.inFlight++;
    if (!this.lean) return this.sendBaseline(i, now);
    // Signed ahead of time; sign here only what the schedule outran, or what waited so long behind
    // its key that its timestamp went stale.
    if (i >= this.signedUpTo) {
      this.signAhead(i + 1 - this.signedUpTo);
    } else if (this.unixSecond(now) - this.signedAtS[i] > MAX_SIGNATURE_AGE_S) {
      const ts = Math.floor(Date.now() / 1000);
      this.sign(i, ts, String(ts));
    }
    this.pool.dispatch(
      { origin: this.origin, path: this.path, method: "POST", headers: this.headerLists[i], body: this.bodies[i] },
      new ResponseHandler(this, i, true) as unknown as Dispatcher.DispatchHandler,
    );
  }

  /** The driver's send path before issue 10, per request: signature, header list and timestamp text. */
  private sendBaseline(i: number, now: number): void {
    const e = this.o.events[i];
    const body = this.bodyBytes.subarray(this.bodyStart[i], this.bodyStart[i + 1]);
    const ts = this.unixSecond(now);
    // A flat [name, value, ...] list: the cheapest form for undici to take in.
    const headers = [
      "content-type", "application/json",
      "webhook-id", e.id,
      this.orderingHeader, e.orderingKey,
      this.sequenceHeader, String(e.seq),
      "x-github-event", e.eventType,
      "webhook-timestamp", String(ts),
    ];
    if (this.signingKey) headers.push("webhook-signature", signStandardWebhook(this.signingKey, e.id, ts, body));
    if (this.bearer) headers.push("authorization", this.bearer);
    if (this.githubSignatures) headers.push("x-hub-signature-256", this.githubSignatures[i]);
    this.pool.dispatch(
      { origin: this.origin, path: this.path, method: "POST", headers, body },
      new ResponseHandler(this, i, false) as unknown as Dispatcher.DispatchHandler,
    );
  }

  /**
   * May request i of key k go now? An event waits until every earlier request of its key was
   * answered; a concurrent one (the corpus's out-of-order pairs) waits only for the earlier ones
   * that are not concurrent, so the two of a pair are in flight together.
   */
  private keyFree(i: number, k: number): boolean {
    return this.o.events[i].concurrent ? this.keyBusyInOrder[k] === 0 : this.keyBusy[k] === 0;
  }

  /** Wall-clock unix seconds, read from the clock at most every 100 ms. */
  private unixSecond(now: number): number {
    if (now - this.cachedSecondAt > 100) {
      this.cachedSecond = Math.floor(Date.now() / 1000);
      this.cachedSecondAt = now;
    }
    return this.cachedSecond;
  }

  requestStarted(i: number, abort: (err?: Error) => void): void {
    if (this.state[i] === 2) abort(new Error("request already given up"));
    else this.aborts[i] = abort;
  }

  /** Record the end of request i (first report wins), free its key, and keep the schedule moving. */
  complete(i: number, outcome: number, status: number, requestId: string | null, error?: string): void {
    if (this.state[i] !== 1) return;
    const now = this.now();
    this.state[i] = 2;
    this.doneAt[i] = now;
    this.outcome[i] = outcome;
    this.status[i] = status;
    this.requestId[i] = requestId;
    if (error !== undefined) this.errorText[i] = error;
    this.aborts[i] = undefined;
    this.inFlight--;
    this.answered++;
    this.counts[outcome]++;
    this.histogram.add(now - i * this.intervalMs);

    const k = this.keyOf[i];
    this.keyBusy[k]--;
    if (!this.o.events[i].concurrent) this.keyBusyInOrder[k]--;
    if (this.stopReason === undefined) {
      const queue = this.held[k];
      while (queue.length > 0 && this.keyFree(queue[0], k)) {
        const j = queue.shift()!;
        this.heldCount--;
        this.readyAt[j] = now;
        this.send(j);
      }
      this.pump();
    }
    if (this.inFlight === 0) this.maybeFinish();
  }

  private sweepTimeouts(now: number): void {
    while (this.sweepHead < this.sendCount) {
      const i = this.sendOrder[this.sweepHead];
      if (this.state[i] === 2) {
        this.sweepHead++;
        continue;
      }
      if (now - this.sentAt[i] < this.timeoutMs) return;
      this.sweepHead++;
      const abort = this.aborts[i];
      this.complete(i, TIMEOUT, 0, null, `no answer within ${this.timeoutMs} ms`);
      abort?.(new Error("timeout"));
    }
  }

  private progress(now: number): ReplayProgress {
    const c = this.counts;
    const elapsedSinceLast = now - this.lastProgressAt;
    return {
      elapsedMs: now,
      total: this.n,
      sent: this.sendCount,
      answered: this.answered,
      accepted: c[ACCEPTED],
      duplicates: c[DUPLICATE],
      rejected: c[REJECTED],
      serverErrors: c[ERROR],
      timeouts: c[TIMEOUT],
      errors: c[REJECTED] + c[ERROR] + c[TIMEOUT],
      inFlight: this.inFlight,
      heldByKey: this.heldCount,
      currentRate: elapsedSinceLast > 0 ? ((this.sendCount - this.sentAtLastProgress) * 1000) / elapsedSinceLast : 0,
      p95Ms: this.histogram.p95(),
    };
  }

  private progressTick(now: number): void {
    const p = this.progress(now);
    this.lastProgressAt = now;
    this.sentAtLastProgress = this.sendCount;
    try {
      this.o.onProgress?.(p);
      if (this.stopReason === undefined && this.o.shouldStop) {
        const reason = this.o.shouldStop(p);
        if (reason) this.stopSending(reason);
      }
    } catch (err) {
      this.abort(`aborted: a progress callback failed: ${(err as Error).message}`);
    }
  }

  /** Stop sending; requests in flight may still answer (or time out). */
  private stopSending(reason: string): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    for (const queue of this.held) queue.length = 0;
    this.heldCount = 0;
  }

  /** Stop sending and give up on everything in flight now. */
  private abort(reason: string): void {
    this.stopSending(reason);
    for (let h = this.sweepHead; h < this.sendCount; h++) {
      const i = this.sendOrder[h];
      if (this.state[i] !== 1) continue;
      const abort = this.aborts[i];
      this.complete(i, ERROR, 0, null, "replay aborted before an answer");
      abort?.(new Error("replay aborted"));
    }
    this.maybeFinish();
  }

  private maybeFinish(): boolean {
    if (this.finished) return true;
    const allDispatched = this.stopReason !== undefined || (this.next === this.n && this.heldCount === 0);
    if (!allDispatched || this.inFlight > 0) return false;
    this.finish();
    return true;
  }

  private finish(): void {
    this.finished = true;
    // The driver's CPU over the replay, before building its result (which is bookkeeping, not sending).
    const cpu = this.cpuAtStart ? process.cpuUsage(this.cpuAtStart) : null;
    if (cpu) this.cpuUs = cpu.user + cpu.system;
    if (this.timer) clearTimeout(this.timer);
    this.o.signal?.removeEventListener("abort", this.onAbort);
    const now = this.now();
    try {
      this.o.onProgress?.(this.progress(now));
    } catch {
      // The run is over; a failing progress printer must not lose its result.
    }
    const result = this.result();
    for (const s of this.spareSockets) s.destroy();
    this.pool.destroy().then(
      () => this.resolve(result),
      () => this.resolve(result),
    );
  }

  private result(): ReplayResult {
    const samples: RequestSample[] = [];
    const lags: number[] = [];
    let lastDone = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.state[i] !== 2) continue;
      const e = this.o.events[i];
      const dueAt = i * this.intervalMs;
      const sample: RequestSample = {
        index: i,
        eventId: e.id,
        orderingKey: e.orderingKey,
        seq: e.seq,
        redelivery: e.redelivery,
        dueAt,
        sentAt: this.sentAt[i],
        doneAt: this.doneAt[i],
        latencyMs: this.doneAt[i] - dueAt,
        sendLagMs: this.sentAt[i] - dueAt,
        ownLagMs: this.sentAt[i] - this.readyAt[i],
        status: this.status[i],
        outcome: OUTCOME_CODES[this.outcome[i]],
        requestId: this.requestId[i],
      };
      const error = this.errorText[i];
      if (error !== undefined) sample.error = error;
      samples.push(sample);
      lags.push(sample.ownLagMs!);
      lastDone = Math.max(lastDone, this.doneAt[i]);
    }
    const targetRate = this.o.rate;
    // The replay-validity rule judges the schedule: dispatches (sent, or held behind their key) in
    // order of due time (this.next of them), latencies from due time, and the driver's own lag.
    const schedule = checkSchedule({
      targetRate,
      dispatched: this.next,
      dispatchedAt: this.dispatchedAt,
      latencies: samples.map((s) => s.latencyMs),
      ownLags: lags,
    });
    const result: ReplayResult = {
      samples,
      startedAt: this.startedAt,
      durationMs: lastDone,
      targetRate,
      achievedRate: schedule.achievedRate,
      sendLagP99Ms: schedule.sendLagP99Ms,
      valid: schedule.rateHeld,
      schedule,
    };
    if (schedule.reason !== undefined) result.invalidReason = schedule.reason;
    if (this.stopReason !== undefined) result.aborted = this.stopReason;
    if (this.cpuUs !== null) result.driverCpuUs = this.cpuUs;
    return result;
  }
}

/**
 * undici's per-request callbacks, turned into one complete() call. This is undici's raw callback
 * form (onConnect/onHeaders/...): the newer onRequestStart form wraps every request in two more
 * objects and parses every response header into an object, which costs the driver CPU it shares
 * with the service under test.
 */
class ResponseHandler {
  private statusCode = 0;
  private requestId: string | null = null;
  private chunks: Buffer[] | null = null;
  private bytes = 0;

  constructor(
    private readonly replay: Replay,
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
    if (name.length === lowercaseName.length && name.toString("latin1").toLowerCase() === lowercaseName) return raw[h + 1].toString("latin1");
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

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === "string") return reason;
  return "signal";
}
