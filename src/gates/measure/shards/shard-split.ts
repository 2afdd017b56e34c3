// How a phase is split over runners: every ordering key on one shard (key hash mod N), so per-key
// sequence and the corpus's deliberate out-of-order pairs mean on a shard what they mean on one
// machine; each shard keeps its events' places in the one global schedule (event i due at i/rate).

import { createHash } from "node:crypto";

/** The shard an ordering key belongs to: the first 32 bits of its SHA-256, mod the shard count. */
export function shardOfKey(orderingKey: string, shards: number): number {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new RangeError(`shards must be a whole number >= 1, got ${shards}`);
  return createHash("sha256").update(orderingKey).digest().readUInt32BE(0) % shards;
}

/** One shard's part of the schedule: the global positions of its events, ascending, and when each is due. */
export interface ShardPart {
  shard: number;
  /** Global event positions, ascending. */
  indices: Int32Array;
  /** dueAt[j] = indices[j] x 1000 / rate, ms since t0. */
  dueAt: Float64Array;
}

/** Splits a phase's events over `shards` shards; every event lands on exactly one. Pure. */
export function splitSchedule(events: readonly { orderingKey: string }[], shards: number, rate: number): ShardPart[] {
  const owner = new Map<string, number>();
  const counts = new Array<number>(shards).fill(0);
  const shardOf = new Int32Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const key = events[i].orderingKey;
    let s = owner.get(key);
    if (s === undefined) owner.set(key, (s = shardOfKey(key, shards)));
    shardOf[i] = s;
    counts[s]++;
  }
  const parts = counts.map((c, shard) => ({ shard, indices: new Int32Array(c), dueAt: new Float64Array(c) }));
  const fill = new Array<number>(shards).fill(0);
  const intervalMs = 1000 / rate;
  for (let i = 0; i < events.length; i++) {
    const p = parts[shardOf[i]];
    const j = fill[shardOf[i]]++;
    p.indices[j] = i;
    p.dueAt[j] = i * intervalMs;
  }
  return parts;
}
