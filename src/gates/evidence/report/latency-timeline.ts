// A phase's latency over time, the way load-testing tools put response time over time first: a FAIL
// caused by a few 200 ms stalls looks like stalls, not like a slow service. Time is cut in windows of
// a second, or shorter for a phase of a few seconds (at least 20 windows, never under 100 ms), each
// holding the requests due in it (latency P50, P95, max, and the send lag they met), the 202s
// answered in it (per second), and the deepest the service's queue was seen in it.

import type { PhaseResult, PhaseVerdict, RequestSample } from "../../model/index.js";
import { didNotRun } from "./report-format.js";

export interface TimelineSecond {
  /** Seconds since the replay's t0 at which this window starts; it covers [second, second + window). */
  second: number;
  /** Requests due in this window. */
  requests: number;
  /** Latency (due time to answer) of the requests due in this second, ms; null when none was due. */
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  /** Send lag (sent − due) of those requests, ms: the driver's delay plus time held behind the key. */
  sendLagP95Ms: number | null;
  sendLagMaxMs: number | null;
  /** Requests answered accepted (202) in this window, per second. */
  acceptedPerS: number;
  /** The deepest the service's queue was sampled in this window; null when not sampled in it. */
  queueDepth: number | null;
}

export interface LatencyTimeline {
  phase: string;
  ran: boolean;
  /** Why there is nothing to show, or why what is shown means nothing. */
  note: string | null;
  valid: boolean;
  barMs: number;
  verdict: PhaseVerdict;
  /** Length of each window, ms: 1,000, or shorter for a short phase. */
  windowMs: number;
  /** False when the target's queue could not be sampled (a deployed target): the series is absent, not zero. */
  queueSampled: boolean;
  seconds: TimelineSecond[];
}

/** Nearest-rank percentile of an ascending array. */
function rank(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function buildLatencyTimeline(phase: PhaseResult): LatencyTimeline {
  const queue = phase.resources?.queueDepth ?? null;
  const base = { phase: phase.name, ran: phase.ran, barMs: phase.latencyBarMs, verdict: phase.verdict, queueSampled: queue !== null };
  const samples: RequestSample[] = phase.replay?.samples ?? [];
  if (!phase.ran || samples.length === 0) {
    return { ...base, windowMs: 1000, note: phase.ran ? "no request was answered" : didNotRun(phase.reason), valid: false, seconds: [] };
  }
  let lastMs = 0;
  for (const s of samples) lastMs = Math.max(lastMs, s.dueAt, s.doneAt);
  for (const q of queue ?? []) if (q.atMs >= 0) lastMs = Math.max(lastMs, q.atMs);
  const windowMs = windowFor(lastMs);
  const count = Math.floor(lastMs / windowMs) + 1;
  const latencies: number[][] = Array.from({ length: count }, () => []);
  const lags: number[][] = Array.from({ length: count }, () => []);
  const accepted = new Array<number>(count).fill(0);
  const depth = new Array<number | null>(count).fill(null);
  for (const s of samples) {
    const due = Math.max(0, Math.floor(s.dueAt / windowMs));
    latencies[due]!.push(s.latencyMs);
    lags[due]!.push(s.sendLagMs);
    if (s.outcome === "accepted") accepted[Math.max(0, Math.floor(s.doneAt / windowMs))]!++;
  }
  for (const q of queue ?? []) {
    if (q.atMs < 0) continue; // sampled before t0, while the driver warmed up
    const i = Math.floor(q.atMs / windowMs);
    depth[i] = Math.max(depth[i] ?? 0, q.depth);
  }
  const seconds: TimelineSecond[] = [];
  for (let i = 0; i < count; i++) {
    const l = latencies[i]!.sort((a, b) => a - b);
    const g = lags[i]!.sort((a, b) => a - b);
    seconds.push({
      second: (i * windowMs) / 1000,
      requests: l.length,
      p50Ms: l.length ? rank(l, 50) : null,
      p95Ms: l.length ? rank(l, 95) : null,
      maxMs: l.length ? l[l.length - 1]! : null,
      sendLagP95Ms: g.length ? rank(g, 95) : null,
      sendLagMaxMs: g.length ? g[g.length - 1]! : null,
      acceptedPerS: (accepted[i]! * 1000) / windowMs,
      queueDepth: depth[i]!,
    });
  }
  const valid = phase.replay?.valid ?? false;
  return {
    ...base,
    windowMs,
    note: valid ? null : `invalid replay: ${phase.replay?.invalidReason ?? "the driver could not keep up"}`,
    valid,
    seconds,
  };
}

/** Windows of a second, or the longest of 500, 250, 200 and 100 ms that still gives 20 of them. */
export function windowFor(spanMs: number): number {
  for (const w of [1000, 500, 250, 200]) if (spanMs / w >= 20) return w;
  return 100;
}

const round3 = (x: number | null): string => (x === null ? "" : String(Math.round(x * 1000) / 1000));

export function timelineCsv(t: LatencyTimeline): string {
  const lines = ["start_s,requests,p50_ms,p95_ms,max_ms,send_lag_p95_ms,send_lag_max_ms,accepted_per_s,queue_depth"];
  for (const s of t.seconds) {
    lines.push(
      [
        s.second,
        s.requests,
        round3(s.p50Ms),
        round3(s.p95Ms),
        round3(s.maxMs),
        round3(s.sendLagP95Ms),
        round3(s.sendLagMaxMs),
        s.acceptedPerS,
        s.queueDepth ?? "",
      ].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}
