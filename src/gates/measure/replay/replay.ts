// The scheduler of one replay: sends each request when it is due (or when its key is free), expires
// what timed out, reports progress, and resolves with the record once everything is answered.

import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";
import { Pool, buildConnector, type Dispatcher } from "undici";
import type { ReplayResult } from "../../model/index.js";
import { signStandardWebhook } from "../../../webhook-signatures.js";
import { connectionLimit, ReplayError, type ReplayOptions } from "./replay-options.js";
import { ERROR, TIMEOUT } from "./replay-record.js";
import { MAX_SIGNATURE_AGE_S, PreparedRequests } from "./prepared-requests.js";
import { ResponseHandler } from "./response-handler.js";
import { LoopWait } from "./loop-wait.js";
import { spareUsable } from "./spare-sockets.js";

const PROGRESS_INTERVAL_MS = 250;

/** Run one Replay to its end: resolves with its result, rejects if it could not start. */
export function run(o: ReplayOptions, url: URL, sockets: Socket[]): Promise<ReplayResult> {
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

/** One replay in progress. Per-request state lives in typed arrays indexed by event position (replay-record.ts). */
export class Replay extends PreparedRequests {
  private readonly timeoutMs: number;
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly path: string;
  private readonly keyOf: Int32Array;
  /** Requests of each key in flight, and how many of them are not concurrent. */
  private readonly keyBusy: Uint8Array;
  private readonly keyBusyInOrder: Uint8Array;
  private readonly held: number[][];
  /** How to give up on request i once undici has it on a connection. */
  private readonly aborts: (((err?: Error) => void) | undefined)[];
  private sweepHead = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private pumping = false;
  private cpuAtStart: NodeJS.CpuUsage | null = null;
  /** Looked at in each of the driver's callbacks: how long an answer read then may have waited for the loop. */
  private readonly loopWait = new LoopWait();
  private readonly onAbort = () => this.abort(`aborted: ${describeReason(this.o.signal?.reason)}`);

  constructor(
    o: ReplayOptions,
    url: URL,
    private readonly spareSockets: Socket[],
    private readonly resolve: (r: ReplayResult) => void,
  ) {
    super(o);
    const events = o.events;
    const n = this.n;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.origin = url.origin;
    this.path = url.pathname + url.search;
    const keyIds = new Map<string, number>();
    this.keyOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const key = events[i].orderingKey;
      let k = keyIds.get(key);
      if (k === undefined) keyIds.set(key, (k = keyIds.size));
      this.keyOf[i] = k;
    }
    this.keyBusy = new Uint8Array(keyIds.size);
    this.keyBusyInOrder = new Uint8Array(keyIds.size);
    this.held = Array.from({ length: keyIds.size }, () => []);
    this.aborts = new Array(n);

    const connect = buildConnector({});
    this.pool = new Pool(this.origin, {
      connections: connectionLimit(o),
      // Hand out the connections opened before t0 first, then connect as usual.
      connect: (options, callback) => {
        let socket: Socket | undefined;
        // One closed, or open too long unused, is dropped: a fresh connect is cheaper than a reset request.
        while ((socket = this.spareSockets.pop()) && !spareUsable(socket)) socket.destroy();
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

  start(): void {
    if (this.o.signal?.aborted) {
      this.stopReason = `aborted: ${describeReason(this.o.signal.reason)}`;
      this.t0 = performance.now();
      this.startedAt = new Date().toISOString();
      this.finish();
      return;
    }
    this.o.signal?.addEventListener("abort", this.onAbort, { once: true });
    const startAt = this.o.startAt;
    if (startAt !== undefined && performance.now() > startAt) {
      // Its first requests are already overdue: sent now, they would measure this driver's lateness.
      throw new ReplayError(
        "replay_started_late",
        `the driver was ready ${(performance.now() - startAt).toFixed(1)} ms after the agreed t0`,
      );
    }
    if (startAt !== undefined) {
      // Sleep to a millisecond before the agreed t0; the loop sends nothing before its due time.
      this.timer = setTimeout(() => this.begin(startAt), Math.max(0, startAt - performance.now() - 1));
      return;
    }
    this.begin(startAt ?? performance.now());
  }

  private begin(t0: number): void {
    this.timer = undefined;
    if (this.finished) return;
    this.cpuAtStart = process.cpuUsage();
    this.t0 = t0;
    this.startedAt = new Date(Date.now() - (performance.now() - t0)).toISOString();
    this.loopWait.start(this.now());
    this.loop();
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  /** The scheduler tick: send what is due, expire what timed out, report, sleep until the next due time. */
  private loop = (): void => {
    this.timer = undefined;
    if (this.finished) return;
    this.loopWait.look(this.now());
    this.pump();
    const now = this.now();
    if (this.lean) this.keepSignedAhead(now);
    this.sweepTimeouts(now);
    if (now - this.lastProgressAt >= PROGRESS_INTERVAL_MS) this.progressTick(now);
    if (this.finished || this.maybeFinish()) return;
    let wait = PROGRESS_INTERVAL_MS - (now - this.lastProgressAt);
    if (this.stopReason === undefined && this.next < this.n) wait = Math.min(wait, this.dueOf(this.next) - now);
    if (this.inFlight > 0) wait = Math.min(wait, 50);
    // Node timers have 1 ms resolution; answers arriving in between also call pump().
    this.timer = setTimeout(this.loop, Math.max(1, Math.floor(wait)));
  };

  /** Dispatch every request whose due time has come. */
  private pump(): void {
    if (this.pumping || this.stopReason !== undefined) return;
    this.pumping = true;
    try {
      // The clock is read again after each dispatch: sending takes time, and a request is dispatched
      // when the ones before it have gone, not when the pump began. With one reading for the whole
      // pump, a schedule the driver could not keep that fell due in one pump looked kept, at an
      // infinite rate (every dispatch at the same instant).
      let now = this.now();
      while (this.next < this.n && this.dueOf(this.next) <= now) {
        const i = this.next++;
        this.dispatchedAt[i] = now;
        const k = this.keyOf[i];
        if (this.held[k].length > 0 || !this.keyFree(i, k)) {
          this.held[k].push(i);
          this.heldCount++;
        } else {
          this.readyAt[i] = this.dueOf(i);
          this.send(i);
        }
        now = this.now();
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
    const headers = this.headerList(i, String(ts), this.signingKey ? signStandardWebhook(this.signingKey, e.id, ts, body) : null);
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

  requestStarted(i: number, abort: (err?: Error) => void): void {
    if (this.state[i] === 2) return abort(new Error("request already given up"));
    this.aborts[i] = abort;
    const now = this.now();
    if (this.handedAt[i] === 0) this.handedAt[i] = now;
    this.loopWait.look(now);
  }

  /** Record the end of request i (first report wins), free its key, and keep the schedule moving. */
  complete(i: number, outcome: number, status: number, requestId: string | null, error?: string): void {
    if (this.state[i] !== 1) return;
    const now = this.now();
    this.state[i] = 2;
    this.doneAt[i] = now;
    // The answer came after its request went out: it cannot have waited longer than that.
    this.answerWait[i] = Math.min(this.loopWait.look(now), now - Math.max(this.sentAt[i], this.handedAt[i]));
    this.outcome[i] = outcome;
    this.status[i] = status;
    this.requestId[i] = requestId;
    if (error !== undefined) this.errorText[i] = error;
    this.aborts[i] = undefined;
    this.inFlight--;
    this.answered++;
    this.counts[outcome]++;
    this.histogram.add(now - this.dueOf(i));

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
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === "string") return reason;
  return "signal";
}
