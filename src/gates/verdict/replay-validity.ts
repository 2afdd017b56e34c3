// What an open-loop replay on a shared machine can and cannot prove about a service's P95.
//
// Latency is counted from each request's due time, so whatever the driver adds (a late send, a
// stall) can only make the service look slower, never faster. Hence the rule is asymmetric, and
// holds on both P95 intervals (exact for independent samples, windowed for correlated ones):
//   - a PASS stands when both upper bounds, driver delays included, are within the bar and the
//     driver really offered the load (the achieved rate held, over the phase and in every window);
//   - a FAIL stands when both lower bounds, after taking the driver's own delays out, are still
//     over the bar;
//   - anything in between is INCONCLUSIVE, and says which way it leans and by how much.
// Pure: data in, data out. The driver calls checkSchedule; the verdict calls judgeP95.

import { type LatencySummary, formatCount, formatMs, type HostContention, type RateWindow, type ScheduleCheck } from "../model/index.js";
import {
  confidenceLabel,
  MIN_P95_WINDOWS,
  MIN_SAMPLES_FOR_WINDOWED_P95,
  MIN_WINDOW_SAMPLES,
  minSamplesForP95Bound,
  p95ConfidenceRanks,
  percentileOfSorted,
  sortAscending,
} from "./statistics.js";
export type { RateWindow, ScheduleCheck } from "../model/index.js";

/** The driver must offer at least this share of the target rate, over the phase and in every window. */
export const MIN_ACHIEVED_RATE_SHARE = 0.99;
/** The windows the achieved rate is checked in, ms of the replay's schedule. */
export const RATE_WINDOW_MS = 5_000;

export interface ScheduleInput {
  targetRate: number;
  /** Requests the driver dispatched, in due order (request i is due at i x 1000 / targetRate). */
  dispatched: number;
  /** When the driver dispatched request i (ms since t0), for i < dispatched. */
  dispatchedAt: ArrayLike<number>;
  /** Per answered request: latency from its due time, ms. */
  latencies: ArrayLike<number>;
  /** Per answered request, aligned with latencies: the driver's own send lag, ms. */
  ownLags: ArrayLike<number>;
  /**
   * When request i is due, ms since t0, for a replay of part of a schedule (one shard of a phase);
   * absent: i x 1000 / targetRate.
   */
  dueAt?: ArrayLike<number>;
}

/** The driver's own send lag (its P99, and how many requests lagged more) and the P95 lower bound left without it. */
export interface DriverFree {
  lowerMs: number | null;
  lagP99Ms: number;
  lagAboveP99: number;
}

/** Checks how well the driver kept its schedule, and what that leaves the verdict to stand on. */
export function checkSchedule(input: ScheduleInput): ScheduleCheck {
  const { targetRate, dispatched, dispatchedAt } = input;
  const intervalMs = 1000 / targetRate;
  const dueOf = input.dueAt ? (i: number) => input.dueAt![i] : (i: number) => i * intervalMs;

  // Windows of the schedule: due counts from the schedule, dispatched counts from the clock.
  const windows: RateWindow[] = [];
  const lastDueMs = dispatched > 0 ? dueOf(dispatched - 1) : 0;
  for (let from = 0; dispatched > 0 && from <= lastDueMs; from += RATE_WINDOW_MS)
    windows.push({ fromMs: from, toMs: from + RATE_WINDOW_MS, due: 0, dispatched: 0, rate: 0 });
  for (let i = 0; i < dispatched; i++) {
    windows[Math.min(windows.length - 1, Math.floor(dueOf(i) / RATE_WINDOW_MS))].due++;
    // Everything dispatched after the last window's start belongs to it: the schedule ends there.
    windows[Math.min(windows.length - 1, Math.max(0, Math.floor(dispatchedAt[i] / RATE_WINDOW_MS)))].dispatched++;
  }
  const free = driverFreeLowerBound(input.latencies, input.ownLags);
  return judgeSchedule(targetRate, dispatched, [dispatchedAt[0], dispatchedAt[dispatched - 1]], windows, free);
}

/**
 * The check of a schedule from its windows' due and dispatched counts, the first and last dispatch (ms since t0)
 * and the driver's lag: one replay's, or the sum of its shards'.
 */
export function judgeSchedule(
  targetRate: number,
  dispatched: number,
  dispatchSpanMs: [number, number],
  windows: RateWindow[],
  free: DriverFree,
): ScheduleCheck {
  const achievedRate = dispatched <= 1 ? (dispatched === 1 ? targetRate : 0) : rateOver(dispatched, dispatchSpanMs[0], dispatchSpanMs[1]);
  const { slowestWindow, reason } = judgeRate(targetRate, dispatched, achievedRate, windows);
  const check: ScheduleCheck = {
    targetRate,
    achievedRate,
    rateHeld: reason === undefined,
    windows,
    slowestWindow,
    sendLagP99Ms: free.lagP99Ms,
    lagAboveP99: free.lagAboveP99,
    driverFreeP95LowerMs: free.lowerMs,
  };
  if (reason !== undefined) check.reason = reason;
  if (dispatched > 0) check.dispatchSpanMs = dispatchSpanMs;
  return check;
}

/**
 * The rate half of the rule, on windows whose due and dispatched counts are filled in: closes the
 * last window, sets each window's rate, and says why the rate did not hold (undefined: it held).
 * Shared by one driver's check and the merge of many shards' windows.
 */
export function judgeRate(
  targetRate: number,
  dispatched: number,
  achievedRate: number,
  windows: RateWindow[],
): { slowestWindow: RateWindow | null; reason: string | undefined } {
  if (windows.length > 0) windows[windows.length - 1].toMs = Infinity;
  let slowestWindow: RateWindow | null = null;
  for (const w of windows) {
    w.rate = w.due > 0 ? (w.dispatched / w.due) * targetRate : targetRate;
    if (!slowestWindow || w.rate < slowestWindow.rate) slowestWindow = w;
  }
  const floor = MIN_ACHIEVED_RATE_SHARE * targetRate;
  let reason: string | undefined;
  if (dispatched === 0) reason = "no request was sent";
  else if (achievedRate < floor)
    reason = `the driver offered ${achievedRate.toFixed(0)} req/s over the phase, under ${MIN_ACHIEVED_RATE_SHARE * 100}% of the ${targetRate} req/s target`;
  else if (slowestWindow && slowestWindow.rate < floor) {
    reason = `the driver offered ${slowestWindow.rate.toFixed(0)} req/s in ${windowName(slowestWindow)}, under ${MIN_ACHIEVED_RATE_SHARE * 100}% of the ${targetRate} req/s target`;
  }
  return { slowestWindow, reason };
}

/** Requests per second over a span of dispatches, as the rule counts it. */
export function rateOver(count: number, firstMs: number, lastMs: number): number {
  const spanS = (lastMs - firstMs) / 1000;
  return spanS > 0 ? (count - 1) / spanS : Infinity;
}

function windowName(w: RateWindow): string {
  const to = Number.isFinite(w.toMs) ? `${w.toMs / 1000}s` : "the end";
  return `the window ${w.fromMs / 1000}s-${to}`;
}

/**
 * A lower bound on the service's own P95, with the driver's delays taken out. Each of the samples
 * whose own send lag was at most D (the lag P99) lost at most D to the driver; the other m
 * samples may have lost anything, so they are assumed to be the slowest ones and skipped: the
 * service-only latency at rank l is at least the measured latency at rank l - m, less D.
 */
export function driverFreeLowerBound(latencies: ArrayLike<number>, ownLags: ArrayLike<number>): DriverFree {
  const lags = sortAscending(ownLags);
  const lagP99Ms = lags.length > 0 ? percentileOfSorted(lags, 99) : 0;
  let lagAboveP99 = 0;
  for (let i = 0; i < lags.length; i++) if (lags[i] > lagP99Ms) lagAboveP99++;
  const n = latencies.length;
  if (n === 0) return { lowerMs: null, lagP99Ms, lagAboveP99 };
  const [lower] = p95ConfidenceRanks(n);
  const rank = lower - lagAboveP99;
  if (rank < 1 || lower > n) return { lowerMs: null, lagP99Ms, lagAboveP99 };
  return { lowerMs: sortAscending(latencies)[rank - 1] - lagP99Ms, lagP99Ms, lagAboveP99 };
}

export type LatencyVerdict = "PASS" | "FAIL" | "INCONCLUSIVE";

export interface P95Judgement {
  verdict: LatencyVerdict;
  /** For INCONCLUSIVE: where the point estimate lies, and how far from the bar. */
  leaning?: "PASS" | "FAIL";
  byMs?: number;
  /** Why, naming the numbers; quotes the bar. */
  detail: string;
}

/**
 * The asymmetric rule, on both P95 intervals: the exact one (independent samples) and the windowed
 * one (correlated samples). A PASS needs both upper bounds, at the run's level, within the bar; a
 * FAIL needs both lower bounds (95%), less the driver's delays, over it. `schedule` is the replay's
 * ScheduleCheck; a replay without one cannot show that the load was offered, nor how late its driver
 * was, so it proves nothing either way.
 */
export function judgeP95(
  latency: LatencySummary,
  barMs: number,
  schedule: ScheduleCheck | undefined,
  whose = "bar",
  contention?: HostContention,
): P95Judgement {
  const [lower] = latency.p95Ci;
  const pass = latency.passBounds;
  const level = confidenceLabel(pass.oneSidedAlpha);
  const hasUpper = pass.exactRank <= latency.n && Number.isFinite(pass.exact);
  const batch = latency.p95CiBatch;
  const freeLower = schedule?.driverFreeP95LowerMs ?? null;
  // The windowed lower bound, less the allowance the driver's delays took off the exact one.
  const batchFreeLower = batch && freeLower !== null ? Math.max(0, batch[0] - (lower - freeLower)) : null;
  const correlated = windowsClause(latency);
  const why: string[] = [];

  if (schedule && freeLower !== null && freeLower > barMs && batchFreeLower !== null && batchFreeLower > barMs) {
    const fail =
      `latency_p95 lower CI ${formatMs(lower)}, less the driver's own delays (driver lag p99 ${formatMs(schedule.sendLagP99Ms)}` +
      `${schedule.lagAboveP99 ? `, and the ${schedule.lagAboveP99} requests the driver delayed most set aside` : ""}), is ${formatMs(freeLower)} > ${formatMs(barMs)} (${whose}, over by ${formatMs(freeLower - barMs)}); ` +
      `the windowed lower bound, less the same, is ${formatMs(batchFreeLower)} (${correlated})`;
    // Other work on the host can only slow the service: a FAIL must also stand without the seconds it held the CPU.
    const busy = contention && contention.contended.length > 0 && !contention.unattributable ? contention : null;
    if (!busy) return { verdict: "FAIL", detail: contention && !contention.unattributable ? `${fail}; ${quietClause(contention)}` : fail };
    const clean = busy.cleanFreeP95LowerMs;
    if (clean !== null && clean > barMs) {
      return {
        verdict: "FAIL",
        detail: `${fail}; with the ${busy.requestsInContended} requests due while other work held the CPU set aside, it is still ${formatMs(clean)} (over by ${formatMs(clean - barMs)})`,
      };
    }
    why.push(
      `${contentionClause(busy)}; ` +
        (clean === null
          ? `set aside, the ${busy.cleanRequests} requests left are too few to bound the P95`
          : `set aside, the lower bound of the other ${busy.cleanRequests} requests, less the driver's delays, is ${formatMs(clean)}, within the bar`) +
        ": rerun on a quiet machine",
    );
  }
  if (schedule?.rateHeld && hasUpper && pass.exact <= barMs && pass.batch !== null && pass.batch <= barMs) {
    return {
      verdict: "PASS",
      detail:
        `latency_p95 upper bounds at ${level}: exact ${formatMs(pass.exact)}, windowed ${formatMs(pass.batch)} (${correlated}), ` +
        `both <= ${formatMs(barMs)} (${whose}), driver delays included; the offered rate held`,
    };
  }

  const leaning = latency.p95 <= barMs ? "PASS" : "FAIL";
  const byMs = Math.abs(latency.p95 - barMs);
  if (why.length === 0 && !schedule)
    why.push("the replay has no schedule record, so neither the offered rate nor the driver's delays are known");
  else if (why.length === 0 && schedule) {
    if (!hasUpper)
      why.push(
        `${latency.n} samples are too few for a ${level} upper bound on P95 (a phase needs at least ${minSamplesForP95Bound(pass.oneSidedAlpha)})`,
      );
    else if (pass.exact > barMs)
      why.push(`the exact upper bound at ${level}, ${formatMs(pass.exact)}, is over the ${formatMs(barMs)} ${whose}`);
    if (pass.batch === null)
      why.push(
        latency.n < MIN_SAMPLES_FOR_WINDOWED_P95
          ? `${latency.n} samples are too few for the windowed interval (it needs ${MIN_SAMPLES_FOR_WINDOWED_P95}: ${MIN_P95_WINDOWS} windows of ${MIN_WINDOW_SAMPLES})`
          : `there is no windowed interval: a window of the phase holds fewer than ${MIN_WINDOW_SAMPLES} answers (requests went unanswered)`,
      );
    else if (pass.batch > barMs)
      why.push(`the windowed upper bound at ${level}, ${formatMs(pass.batch)}, is over the ${formatMs(barMs)} ${whose} (${correlated})`);
    if (!schedule.rateHeld)
      why.push(
        `the offered rate did not hold (${schedule.reason ?? "below target"}), so the service may have seen less load than the phase demands`,
      );
    if (freeLower === null) why.push("no lower bound is left once the driver's delays are taken out");
    else if (freeLower <= barMs)
      why.push(
        `with the driver's own delays taken out (driver lag p99 ${formatMs(schedule.sendLagP99Ms)}) the lower bound ${formatMs(freeLower)} is within the bar`,
      );
    else if (batchFreeLower === null)
      why.push(
        `with the driver's own delays taken out the exact lower bound ${formatMs(freeLower)} is over the bar, but there is no windowed interval to confirm it`,
      );
    else
      why.push(
        `with the driver's own delays taken out the exact lower bound ${formatMs(freeLower)} is over the bar, but the windowed one, ${formatMs(batchFreeLower)}, is within it (${correlated})`,
      );
  }
  return {
    verdict: "INCONCLUSIVE",
    leaning,
    byMs,
    detail: `latency_p95 INCONCLUSIVE, leaning ${leaning}: P95 ${formatMs(latency.p95)} is ${formatMs(byMs)} ${leaning === "PASS" ? "under" : "over"} the ${formatMs(barMs)} ${whose}, but ${why.join("; ")}`,
  };
}

/** The windows behind the windowed interval, in one clause: how many, and what the samples were worth. */
function windowsClause(l: LatencySummary): string {
  if (!l.windows) return "no windows";
  const ess = l.effectiveSampleSize === null ? "not estimable" : formatCount(Math.round(l.effectiveSampleSize));
  return `${l.windows.count} windows of ${formatCount(l.windows.size)}; effective sample size ${ess} of ${formatCount(l.n)}`;
}

/** A host whose other work never reached the limit, in one clause: a FAIL it cannot excuse says so. */
function quietClause(c: HostContention): string {
  return `other work on the host stayed at or under ${c.limitCores} cores every second (peak ${c.peakForeignCores.toFixed(2)}, mean ${c.meanForeignCores.toFixed(2)})`;
}

/** Other work on the host during a phase, in one clause for a verdict's detail; pure. */
export function contentionClause(c: HostContention): string {
  const seconds = c.contended.reduce((s, x) => s + (x.toMs - x.fromMs), 0) / 1000;
  const who = c.topForeign.length
    ? ` (busiest: ${c.topForeign
        .slice(0, 3)
        .map((p) => `${p.command} ${p.cpuSeconds.toFixed(1)} CPU-s`)
        .join(", ")})`
    : "";
  return (
    `other work held the machine's CPU: up to ${c.peakForeignCores.toFixed(2)} cores outside this run${who}, ` +
    `over ${c.limitCores} cores for ${seconds.toFixed(0)} s of the phase (${c.requestsInContended} requests due then)`
  );
}
