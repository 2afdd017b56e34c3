// The HDR histograms shards send back: microseconds, 3 significant digits, compressed base64. They
// merge exactly by adding counts; what is lost is the position inside a bucket, so every value read
// back comes with its bucket's edges and the reader takes the edge on the safe side.

import * as hdr from "hdr-histogram-js";

/** HDR's own class: `build` returns it when WebAssembly is not asked for; it can walk its buckets. */
export type Hdr = hdr.JsHistogram;

export const SIGNIFICANT_DIGITS = 3;

export function newHdr(): Hdr {
  return hdr.build({ numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, lowestDiscernibleValue: 1, autoResize: true }) as Hdr;
}

/** Microseconds as recorded: ms x 1000 rounded down, never negative, so the true value is in [µs, µs + 1). */
export function toMicros(ms: number): number {
  return ms > 0 ? Math.floor(ms * 1000) : 0;
}

export function recordMs(h: Hdr, ms: number): void {
  h.recordValue(toMicros(ms));
}

export function encodeHdr(h: Hdr): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHdr(encoded: string): Hdr {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false) as Hdr;
  // A fresh histogram of the same settings: decoded ones may be sized to their content only.
  const h = newHdr();
  h.add(decoded);
  return h;
}

/** Adds histograms into a new one: exact, whatever the split. */
export function mergeHdr(parts: readonly Hdr[]): Hdr {
  const h = newHdr();
  for (const p of parts) h.add(p);
  return h;
}

/** A recorded value's bucket in ms: every true value that lands there is in [lowerMs, upperMs). */
export interface Bucket {
  lowerMs: number;
  upperMs: number;
}

export function bucketOfMicros(h: Hdr, micros: number): Bucket {
  return { lowerMs: h.lowestEquivalentValue(micros) / 1000, upperMs: h.nextNonEquivalentValue(micros) / 1000 };
}

/** The bucket of a value in ms, as recording it would place it. */
export function bucketOfMs(h: Hdr, ms: number): Bucket {
  return bucketOfMicros(h, toMicros(ms));
}

/**
 * The buckets holding the samples at the given 1-based ranks (ascending order), in one walk; a rank
 * outside 1..n gives null.
 */
export function bucketsAtRanks(h: Hdr, ranks: readonly number[]): (Bucket | null)[] {
  const n = h.totalCount;
  const out: (Bucket | null)[] = ranks.map(() => null);
  const order = ranks.map((r, i) => [r, i] as const).filter(([r]) => r >= 1 && r <= n);
  order.sort((a, b) => a[0] - b[0]);
  let seen = 0;
  let k = 0;
  for (let index = 0; index < h.countsArrayLength && k < order.length; index++) {
    const c = h.getCountAtIndex(index);
    if (c === 0) continue;
    seen += c;
    while (k < order.length && order[k][0] <= seen) {
      out[order[k][1]] = bucketOfMicros(h, h.valueFromIndex(index));
      k++;
    }
  }
  return out;
}

/** How many samples lie in buckets strictly above the bucket whose upper edge is `upperMs`. */
export function countAbove(h: Hdr, upperMs: number): number {
  let above = 0;
  for (let index = 0; index < h.countsArrayLength; index++) {
    const c = h.getCountAtIndex(index);
    if (c > 0 && h.valueFromIndex(index) / 1000 >= upperMs) above += c;
  }
  return above;
}

/** Non-empty buckets, for reports: lower and upper edge in ms and the count. */
export function hdrBuckets(h: Hdr): { lowerMs: number; upperMs: number; count: number }[] {
  const out: { lowerMs: number; upperMs: number; count: number }[] = [];
  for (let index = 0; index < h.countsArrayLength; index++) {
    const c = h.getCountAtIndex(index);
    if (c > 0) out.push({ ...bucketOfMicros(h, h.valueFromIndex(index)), count: c });
  }
  return out;
}
