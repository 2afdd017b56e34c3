// What a shard sends back instead of its requests: HDR histograms (latency from due time, send lag,
// the driver's own lag, latency per window of the phase), the rate windows, counts per outcome, a bitmap of
// the events it saw accepted and the SHA-256 of its raw samples. Built from its ReplayResult; pure.

import { createHash } from "node:crypto";
import type { ReplayResult, RequestOutcome, RequestSample } from "../../model/index.js";
import { p95WindowCount, p95WindowOf } from "../../verdict/index.js";
import { encodeHdr, newHdr, recordMs, type Hdr } from "./shard-histogram.js";

/** A runner's reading of the coordination clock (redis-clock.ts). */
export interface ClockReading {
  /** Coordination time minus this runner's wall clock, ms. */
  offsetMs: number;
  /** Half the round trip of the best sample: the offset is right within this, ms. */
  uncertaintyMs: number;
  rttMs: number;
  samples: number;
}

/** Who drove a shard, for the evidence. */
export interface RunnerInfo {
  /** host/pid, or the name given with --name. */
  id: string;
  host: string;
  pid: number;
  /** release-gate's version on the runner. */
  version: string;
  clock: ClockReading;
}

export const OUTCOMES: readonly RequestOutcome[] = ["accepted", "duplicate", "rejected", "error", "timeout"];

export interface ShardSummary {
  shard: number;
  shards: number;
  runner: RunnerInfo;
  /** Events in the shard, and how many the driver dispatched (sent, or held behind their key). */
  requests: number;
  dispatched: number;
  /** When the first and last were dispatched, ms since the common t0. */
  dispatchSpanMs: [number, number] | null;
  /** Due and dispatched counts per window of the schedule (fromMs a multiple of RATE_WINDOW_MS). */
  rateWindows: { fromMs: number; due: number; dispatched: number }[];
  /** Encoded HDR histograms, µs: latency from due time, send lag (sent - due), the driver's own lag. */
  latency: string;
  sendLag: string;
  ownLag: string;
  /**
   * Latency per window of the windowed P95 interval: the phase's N global positions cut into
   * b = p95WindowCount(N) windows, as one driver cuts its samples (statistics.ts p95WindowOf), and
   * only the answered requests in each, as there. With every request answered these are one
   * driver's windows exactly; with some unanswered, the windows stay at their positions and one
   * with under 20 answers leaves the phase without a windowed interval. Windows holding none of
   * this shard's answers are left out; none at all when the phase is too small for the interval (b = 0).
   */
  latencyWindows: { window: number; hdr: string }[];
  counts: Record<RequestOutcome, number>;
  /** Answers by HTTP status ("0" for transport errors and timeouts). */
  byStatus: Record<string, number>;
  /** Bitmap over the phase's global positions: bit i set when event i was answered accepted or duplicate. */
  accepted: string;
  /** SHA-256 of the raw samples (rawSampleDigest). */
  samplesSha256: string;
  /** Wall-clock t0 as the runner placed it. */
  startedAt: string;
  /** The driver's CPU over the replay, µs. */
  driverCpuUs: number | null;
  aborted?: string;
}

/**
 * The digest of a shard's raw samples: one line per answered request, in global order, of the
 * fields the verdict and the stored-data checks rest on. Coordinator and runner compute it alike.
 */
export function rawSampleDigest(samples: readonly RequestSample[], globalIndex: (s: RequestSample) => number): string {
  const hash = createHash("sha256");
  const order = [...samples].sort((a, b) => globalIndex(a) - globalIndex(b));
  for (const s of order) {
    hash.update(`${globalIndex(s)}\t${s.eventId}\t${s.outcome}\t${s.status}\t${s.dueAt}\t${s.sentAt}\t${s.doneAt}\t${s.requestId ?? ""}\n`);
  }
  return hash.digest("hex");
}

/** Summarises one shard's replay; `indices[j]` is the global position of the shard's event j. */
export function summarizeShard(
  result: ReplayResult,
  part: { shard: number; shards: number; indices: Int32Array; totalRequests: number },
  runner: RunnerInfo,
): ShardSummary {
  const latency = newHdr();
  const sendLag = newHdr();
  const ownLag = newHdr();
  const windows = new Map<number, Hdr>();
  const b = p95WindowCount(part.totalRequests);
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<RequestOutcome, number>;
  const byStatus: Record<string, number> = {};
  const bitmap = new Uint8Array(Math.ceil(part.totalRequests / 8));
  for (const s of result.samples) {
    recordMs(latency, s.latencyMs);
    recordMs(sendLag, s.sendLagMs);
    recordMs(ownLag, s.ownLagMs ?? s.sendLagMs);
    if (b > 0) {
      const w = p95WindowOf(part.indices[s.index], part.totalRequests, b);
      let wh = windows.get(w);
      if (!wh) windows.set(w, (wh = newHdr()));
      recordMs(wh, s.latencyMs);
    }
    counts[s.outcome]++;
    byStatus[String(s.status)] = (byStatus[String(s.status)] ?? 0) + 1;
    if (s.outcome === "accepted" || s.outcome === "duplicate") {
      const g = part.indices[s.index];
      bitmap[g >> 3] |= 1 << (g & 7);
    }
  }
  const schedule = result.schedule;
  const summary: ShardSummary = {
    shard: part.shard,
    shards: part.shards,
    runner,
    requests: part.indices.length,
    dispatched: schedule ? schedule.windows.reduce((n, w) => n + w.dispatched, 0) : result.samples.length,
    dispatchSpanMs: schedule?.dispatchSpanMs ?? null,
    rateWindows: (schedule?.windows ?? []).map((w) => ({ fromMs: w.fromMs, due: w.due, dispatched: w.dispatched })),
    latency: encodeHdr(latency),
    sendLag: encodeHdr(sendLag),
    ownLag: encodeHdr(ownLag),
    latencyWindows: [...windows.entries()].sort((x, y) => x[0] - y[0]).map(([window, h]) => ({ window, hdr: encodeHdr(h) })),
    counts,
    byStatus,
    accepted: Buffer.from(bitmap).toString("base64"),
    samplesSha256: rawSampleDigest(result.samples, (s) => part.indices[s.index]),
    startedAt: result.startedAt,
    driverCpuUs: result.driverCpuUs ?? null,
  };
  if (result.aborted !== undefined) summary.aborted = result.aborted;
  return summary;
}
