// A phase's latency distribution as data: fixed-width buckets from 0 up past the larger of P99 and the SLO bar
// (linear, so the picture's distances read as milliseconds; statistics.ts has log buckets for wide ranges),
// the percentiles the verdict used, and the CSV people open in a spreadsheet. histogram-svg.ts draws it.

import type { LatencySummary, PhaseResult, PhaseVerdict } from "../../model/index.js";
import { summarizeLatency } from "../../verdict/index.js";
import { didNotRun } from "./report-format.js";

export interface HistogramBucket {
  /** Inclusive lower edge, ms. */
  lowerMs: number;
  /** Exclusive upper edge, ms. */
  upperMs: number;
  count: number;
}

export interface LatencyHistogram {
  phase: string;
  ran: boolean;
  /** Why there is no distribution (the phase did not run, or no request was answered), or why it means nothing. */
  note: string | null;
  /** False when the replay's offered rate did not hold: the distribution is shown, but cannot prove a PASS. */
  valid: boolean;
  /** Requests counted: every sample of the phase, errors and timeouts included (their latency is how long they took to fail). */
  samples: number;
  bucketWidthMs: number;
  buckets: HistogramBucket[];
  /** Samples at or beyond the last bucket's upper edge. */
  overflow: { fromMs: number; count: number };
  /** The percentiles the verdict was decided on; null when none were measured. */
  percentiles: LatencySummary | null;
  /** "run": the runner's measured summary; "samples": recomputed here (nearest rank) because the run had none. */
  percentileSource: "run" | "samples" | null;
  /** This phase's P95 bar, ms. */
  barMs: number;
  verdict: PhaseVerdict;
}

const TARGET_BUCKETS = 40;

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least raw. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw * (1 - 1e-12)) return m * power;
  return 10 * power;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function buildLatencyHistogram(phase: PhaseResult): LatencyHistogram {
  const latencies = phase.replay?.samples.map((s) => s.latencyMs) ?? [];
  let percentiles: LatencySummary | null = phase.latency;
  let percentileSource: LatencyHistogram["percentileSource"] = percentiles ? "run" : null;
  if (!percentiles && latencies.length > 0) {
    percentiles = summarizeLatency(latencies);
    percentileSource = "samples";
  }
  const valid = phase.replay ? phase.replay.valid : true;
  const note = !phase.ran
    ? didNotRun(phase.reason)
    : latencies.length === 0
      ? "no request was sent or answered, so there is no distribution"
      : !valid
        ? `RATE NOT HELD, so these latencies can show a FAIL but cannot prove a PASS: ${phase.replay!.invalidReason ?? "the driver did not offer the phase's rate"}`
        : null;
  const top = Math.max(percentiles?.p99 ?? 0, phase.latencyBarMs, 1) * 1.15;
  const step = niceStep(top / TARGET_BUCKETS);
  const count = Math.max(1, Math.ceil(top / step));
  const counts = new Array<number>(count).fill(0);
  let overflow = 0;
  for (const ms of latencies) {
    const i = Math.floor(Math.max(0, ms) / step);
    if (i >= count) overflow++;
    else counts[i]!++;
  }
  return {
    phase: phase.name,
    ran: phase.ran,
    note,
    valid,
    samples: latencies.length,
    bucketWidthMs: step,
    buckets: counts.map((c, i) => ({ lowerMs: round6(i * step), upperMs: round6((i + 1) * step), count: c })),
    overflow: { fromMs: round6(count * step), count: overflow },
    percentiles,
    percentileSource,
    barMs: phase.latencyBarMs,
    verdict: phase.verdict,
  };
}

/** One row per bucket, then the overflow row (upper edge "inf"); cumulative_share is of all samples. */
export function histogramCsv(h: LatencyHistogram): string {
  const rows = ["lower_ms,upper_ms,count,cumulative_share"];
  let seen = 0;
  const share = (): string => (h.samples === 0 ? "0" : (seen / h.samples).toFixed(6));
  for (const b of h.buckets) {
    seen += b.count;
    rows.push(`${b.lowerMs},${b.upperMs},${b.count},${share()}`);
  }
  seen += h.overflow.count;
  rows.push(`${h.overflow.fromMs},inf,${h.overflow.count},${share()}`);
  return `${rows.join("\n")}\n`;
}
