// An interval on the ratio of two runs' P95s (candidate / baseline) that respects autocorrelation: a moving-block
// bootstrap (Künsch 1989) over time windows of each run, seeded from the data, so the same two runs always give
// the same interval. The regression objective (slos/latency-p95-regression.ts) judges on it.

import { createHash } from "node:crypto";
import type { TimedLatency } from "../model/index.js";
export type { TimedLatency } from "../model/index.js";

export interface RatioIntervalOptions {
  /** A block is the requests due within this window, ms (default 250). */
  blockMs?: number;
  /** Bootstrap replicates (default 2000). */
  replicates?: number;
  /** Two-sided confidence (default 0.95: two one-sided 97.5% bounds, as the latency_p95 rule). */
  confidence?: number;
  /** Mixed into the seed, so two comparisons of the same data in different roles differ (default ""). */
  label?: string;
}

export const RATIO_DEFAULTS = { blockMs: 250, replicates: 2000, confidence: 0.95 } as const;

/** Fewer than this many blocks in a run cannot show how much its P95 moves from one stretch of time to the next. */
export const MIN_BLOCKS = 8;
/** Fewer requests than this per run: a P95 resampled from them is a handful of values. */
export const MIN_REQUESTS = 200;

export type RatioInterval =
  | {
      ok: true;
      /** P95 of the candidate / P95 of the baseline, both nearest rank over every request. */
      ratio: number;
      lower: number;
      upper: number;
      candidateP95: number;
      baselineP95: number;
      /** Requests per block in each run (the window's worth at its offered rate). */
      blockLength: { candidate: number; baseline: number };
      blocks: { candidate: number; baseline: number };
      n: { candidate: number; baseline: number };
      replicates: number;
      blockMs: number;
      /** The bootstrap's seed (hex): SHA-256 of both runs' data and the label. */
      seed: string;
    }
  | { ok: false; why: string; n: { candidate: number; baseline: number } };

/**
 * The ratio of P95s with its bootstrap percentile interval. Each replicate resamples each run on its own: blocks
 * of consecutive requests (by due time, `blockMs` worth) drawn with replacement from every starting position and
 * laid end to end to the run's length, so a slow stretch stays together as it happened. The interval is the
 * (1 - confidence)/2 and (1 + confidence)/2 quantiles of the replicates' ratios.
 */
export function p95RatioInterval(
  candidate: readonly TimedLatency[],
  baseline: readonly TimedLatency[],
  options: RatioIntervalOptions = {},
): RatioInterval {
  const blockMs = options.blockMs ?? RATIO_DEFAULTS.blockMs;
  const replicates = options.replicates ?? RATIO_DEFAULTS.replicates;
  const confidence = options.confidence ?? RATIO_DEFAULTS.confidence;
  if (!(blockMs > 0)) throw new RangeError(`blockMs must be above 0, got ${blockMs}`);
  if (!(Number.isInteger(replicates) && replicates >= 100))
    throw new RangeError(`replicates must be a whole number >= 100, got ${replicates}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const n = { candidate: candidate.length, baseline: baseline.length };
  const c = inDueOrder(candidate);
  const b = inDueOrder(baseline);
  const cLen = blockLength(c, blockMs);
  const bLen = blockLength(b, blockMs);
  const blocks = { candidate: Math.floor(c.latencies.length / cLen), baseline: Math.floor(b.latencies.length / bLen) };
  for (const [role, count, k] of [
    ["candidate", n.candidate, blocks.candidate],
    ["baseline", n.baseline, blocks.baseline],
  ] as const) {
    if (count < MIN_REQUESTS)
      return { ok: false, why: `the ${role} has ${count} requests; a comparison needs at least ${MIN_REQUESTS}`, n };
    if (k < MIN_BLOCKS) {
      return {
        ok: false,
        why: `the ${role} spans ${k} windows of ${blockMs}ms; a comparison needs at least ${MIN_BLOCKS} (a longer phase)`,
        n,
      };
    }
  }
  const seedBytes = createHash("sha256")
    .update(options.label ?? "")
    .update(bytesOf(c.latencies))
    .update(bytesOf(c.due))
    .update(bytesOf(b.latencies))
    .update(bytesOf(b.due))
    .digest();
  const random = xoshiro128ss(seedBytes);
  const candidateP95 = p95Of(Float64Array.from(c.latencies));
  const baselineP95 = p95Of(Float64Array.from(b.latencies));
  const cScratch = new Float64Array(c.latencies.length);
  const bScratch = new Float64Array(b.latencies.length);
  const ratios = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) {
    const cp = p95Of(resample(c.latencies, cLen, cScratch, random));
    const bp = p95Of(resample(b.latencies, bLen, bScratch, random));
    ratios[r] = bp > 0 ? cp / bp : cp > 0 ? Infinity : 1;
  }
  ratios.sort();
  const tail = (1 - confidence) / 2;
  const at = (q: number) => ratios[Math.min(replicates - 1, Math.max(0, Math.ceil(q * replicates - 1e-9) - 1))]!;
  return {
    ok: true,
    ratio: baselineP95 > 0 ? candidateP95 / baselineP95 : candidateP95 > 0 ? Infinity : 1,
    lower: at(tail),
    upper: at(1 - tail),
    candidateP95,
    baselineP95,
    blockLength: { candidate: cLen, baseline: bLen },
    blocks,
    n,
    replicates,
    blockMs,
    seed: seedBytes.subarray(0, 16).toString("hex"),
  };
}

/** Latencies and due times in due order (ties by position: the driver's send order). */
function inDueOrder(samples: readonly TimedLatency[]): { latencies: Float64Array; due: Float64Array } {
  const order = samples.map((_, i) => i).sort((x, y) => samples[x]!.dueAt - samples[y]!.dueAt || x - y);
  const latencies = new Float64Array(samples.length);
  const due = new Float64Array(samples.length);
  order.forEach((i, k) => {
    latencies[k] = samples[i]!.latencyMs;
    due[k] = samples[i]!.dueAt;
  });
  for (let i = 0; i < latencies.length; i++) {
    if (!Number.isFinite(latencies[i]!) || !Number.isFinite(due[i]!))
      throw new RangeError(`sample ${i} has a latency or due time that is not a finite number`);
  }
  return { latencies, due };
}

/** Requests per window: the run's count times the window's share of its span (at least 1). */
function blockLength(run: { due: Float64Array }, blockMs: number): number {
  const n = run.due.length;
  if (n < 2) return 1;
  const gap = (run.due[n - 1]! - run.due[0]!) / (n - 1);
  const spanMs = run.due[n - 1]! - run.due[0]! + gap;
  return spanMs > 0 ? Math.max(1, Math.round((n * blockMs) / spanMs)) : n;
}

function resample(values: Float64Array, len: number, out: Float64Array, random: () => number): Float64Array {
  const n = values.length;
  const starts = n - len + 1;
  for (let filled = 0; filled < n;) {
    const start = Math.floor(random() * starts);
    const take = Math.min(len, n - filled);
    out.set(values.subarray(start, start + take), filled);
    filled += take;
  }
  return out;
}

/** Nearest-rank P95 (the 95th percentile every report uses), by selection: the array is reordered. */
function p95Of(values: Float64Array): number {
  const k = Math.min(values.length, Math.max(1, Math.ceil(0.95 * values.length - 1e-9))) - 1;
  return select(values, k);
}

/** The k-th smallest (0-based), Hoare's selection with a median-of-three pivot; O(n) on average. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const pivot = median3(a[lo]!, a[mid]!, a[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function median3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}

function bytesOf(a: Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** xoshiro128** (Blackman and Vigna): small, fast, and the same stream for the same seed on every machine. */
function xoshiro128ss(seed: Buffer): () => number {
  let a = seed.readUInt32LE(0) | 0;
  let b = seed.readUInt32LE(4) | 0;
  let c = seed.readUInt32LE(8) | 0;
  let d = seed.readUInt32LE(12) | 0;
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return (result >>> 0) / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
