// What a replay records per request, in typed arrays indexed by event position, and the two views
// made of it: the progress reported while it runs, and the ReplayResult it resolves with.

import type { ReplayResult, RequestOutcome, RequestSample } from "../../model/index.js";
import { checkSchedule } from "../../verdict/index.js";
import type { ReplayOptions, ReplayProgress } from "./replay-options.js";
import { requestSample } from "./request-sample.js";
import { RunningHistogram } from "./running-histogram.js";

const OUTCOME_CODES: RequestOutcome[] = ["accepted", "duplicate", "rejected", "error", "timeout"];
export const ACCEPTED = 0;
export const DUPLICATE = 1;
export const REJECTED = 2;
export const ERROR = 3;
export const TIMEOUT = 4;

/** The record a Replay keeps as it goes; the scheduler (replay.ts) writes it, nothing else does. */
export class ReplayRecord {
  protected readonly n: number;
  protected readonly intervalMs: number;
  /** Due times of a shard's events (ReplayOptions.dueAt); null: event i is due at i x intervalMs. */
  protected readonly due: Float64Array | null;
  protected readonly sentAt: Float64Array;
  protected readonly readyAt: Float64Array;
  protected readonly dispatchedAt: Float64Array;
  protected readonly doneAt: Float64Array;
  /** When request i was handed to its connection (0: never was): a new connection takes it a turn of the loop after it was sent. */
  protected readonly handedAt: Float64Array;
  /** How long request i's answer may have waited for the driver's busy event loop before it was read (loop-wait.ts). */
  protected readonly answerWait: Float64Array;
  protected readonly status: Uint16Array;
  protected readonly outcome: Uint8Array;
  /** 0 not sent, 1 in flight, 2 done. */
  protected readonly state: Uint8Array;
  protected readonly requestId: (string | null)[];
  protected readonly errorText: (string | undefined)[];
  /** Indexes in the order they were sent: sentAt is ascending along it, which makes the timeout sweep cheap. */
  protected readonly sendOrder: Int32Array;
  protected sendCount = 0;
  protected next = 0;
  protected heldCount = 0;
  protected inFlight = 0;
  protected readonly counts = new Uint32Array(5);
  protected answered = 0;
  protected readonly histogram = new RunningHistogram();

  protected startedAt = "";
  protected lastProgressAt = 0;
  protected sentAtLastProgress = 0;
  protected stopReason: string | undefined;
  protected cpuUs: number | null = null;

  constructor(protected readonly o: ReplayOptions) {
    const n = (this.n = o.events.length);
    this.intervalMs = 1000 / o.rate;
    this.due = o.dueAt ?? null;
    this.sentAt = new Float64Array(n);
    this.readyAt = new Float64Array(n);
    this.dispatchedAt = new Float64Array(n);
    this.doneAt = new Float64Array(n);
    this.handedAt = new Float64Array(n);
    this.answerWait = new Float64Array(n);
    this.status = new Uint16Array(n);
    this.outcome = new Uint8Array(n);
    this.state = new Uint8Array(n);
    this.requestId = new Array(n).fill(null);
    this.errorText = new Array(n);
    this.sendOrder = new Int32Array(n);
  }

  /** When request i is due, ms since t0. */
  protected dueOf(i: number): number {
    return this.due ? this.due[i] : i * this.intervalMs;
  }

  protected progress(now: number): ReplayProgress {
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

  protected result(): ReplayResult {
    const samples: RequestSample[] = [];
    const lags: number[] = [];
    let lastDone = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.state[i] !== 2) continue;
      const sample = requestSample(i, this.o.events[i], this.dueOf(i), {
        sentAt: this.sentAt[i],
        doneAt: this.doneAt[i],
        ownLagMs: Math.max(this.sentAt[i], this.handedAt[i]) - this.readyAt[i] + this.answerWait[i],
        status: this.status[i],
        outcome: OUTCOME_CODES[this.outcome[i]],
        requestId: this.requestId[i],
        error: this.errorText[i],
      });
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
      ...(this.due ? { dueAt: this.due } : {}),
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
