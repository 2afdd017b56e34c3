// One clock for every runner of a phase: the coordination Redis's TIME. A runner maps its own
// monotonic clock onto it from the sample with the smallest round trip; half that round trip is how
// far off the mapping can be, since no runner can tell a clock offset from an uneven path.

import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import type { ClockReading } from "./shard-summary.js";

/** Readings of TIME per measurement: each is one Redis command. */
export const CLOCK_SAMPLES = 6;
/** A runner whose mapping may be off by more than this refuses its shard (ms). */
export const DEFAULT_CLOCK_BOUND_MS = 1;

/** The coordination clock as seen from this process. */
export interface CoordinationClock extends ClockReading {
  /** Coordination time (ms since the epoch) to this process's performance.now(). */
  toLocal(coordinationMs: number): number;
  /** performance.now() to coordination time. */
  toCoordination(localMs: number): number;
}

/** Redis TIME in ms since the epoch (one command). */
export async function redisTimeMs(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

/** Waits until performance.now() reaches `until`: a timer may fire up to a millisecond early by that clock. */
async function holdFor(until: number): Promise<void> {
  while (performance.now() < until) await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(until - performance.now()))));
}

/**
 * Reads the coordination clock `samples` times and keeps the reading with the smallest round trip.
 * `faultMs` is a test hook (gate runner --clock-fault-ms): each answer is held until that long after it was asked for
 * (never less), as a clock that far off would look over a path the runner cannot see into.
 */
export async function readCoordinationClock(redis: Redis, o: { samples?: number; faultMs?: number } = {}): Promise<CoordinationClock> {
  let best: { rtt: number; perfToRedis: number } | null = null;
  const samples = o.samples ?? CLOCK_SAMPLES;
  for (let i = 0; i < samples; i++) {
    const sent = performance.now();
    const redisMs = await redisTimeMs(redis);
    if (o.faultMs) await holdFor(sent + o.faultMs);
    const back = performance.now();
    const rtt = back - sent;
    if (!best || rtt < best.rtt) best = { rtt, perfToRedis: redisMs - (sent + back) / 2 };
  }
  const { rtt, perfToRedis } = best!;
  const wallToPerf = Date.now() - performance.now();
  return {
    offsetMs: perfToRedis - wallToPerf,
    uncertaintyMs: rtt / 2,
    rttMs: rtt,
    samples,
    toLocal: (coordinationMs) => coordinationMs - perfToRedis,
    toCoordination: (localMs) => localMs + perfToRedis,
  };
}

/** This process's own clock as the coordination clock, for a flow of one shard in the coordinator's process: exact. */
export function ownClock(): CoordinationClock {
  const wallToPerf = Date.now() - performance.now();
  return {
    offsetMs: 0,
    uncertaintyMs: 0,
    rttMs: 0,
    samples: 0,
    toLocal: (coordinationMs) => coordinationMs - wallToPerf,
    toCoordination: (localMs) => localMs + wallToPerf,
  };
}
