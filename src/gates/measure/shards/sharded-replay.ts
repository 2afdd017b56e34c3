// The shards' outcomes made into one ReplayResult: the verdict's numbers from the merged histograms
// (merge-shards.ts), and the union of the shards' raw records, checked against their digests, for
// the stored-data checks (acceptance, idempotency, order, loss) and the evidence.

import type { CorpusEvent } from "../corpus/replay-corpus.js";
import type { LatencySummary, ReplayResult, RequestSample, ShardedReplay } from "../../model/index.js";
import { p95WindowCount, p95WindowOf } from "../../verdict/index.js";
import { MergeError, mergeShards, summarizeHistogram } from "./merge-shards.js";
import { newHdr, recordMs } from "./shard-histogram.js";
import { decodeRawSamples } from "./raw-samples.js";
import type { ShardOutcome } from "./shard-plan.js";
import { rawSampleDigest } from "./shard-summary.js";

/** A ReplayResult whose latency summary is the merged one: measure-phase takes it instead of summarising samples. */
export interface JoinedReplay {
  result: ReplayResult & { shards: ShardedReplay };
  latency: LatencySummary | null;
}

export function joinShards(
  outcomes: readonly ShardOutcome[],
  events: readonly CorpusEvent[],
  o: { shards: number; rate: number; t0Ms: number; leadMs: number; judgeAlpha?: number },
): JoinedReplay {
  const merged = mergeShards(
    outcomes.map((x) => x.summary),
    { shards: o.shards, targetRate: o.rate, totalRequests: events.length, judgeAlpha: o.judgeAlpha },
  );
  const samples: RequestSample[] = [];
  for (const { summary, raw } of outcomes) {
    const who = `shard ${summary.shard + 1}/${o.shards} (runner ${summary.runner.id})`;
    if (raw === null)
      throw new MergeError(
        `${who} had more requests than the raw-sample cap: the stored-data checks need every shard's records (raise the cap, or add runners)`,
      );
    const mine = decodeRawSamples(raw, events, o.rate);
    if (rawSampleDigest(mine, (s) => s.index) !== summary.samplesSha256)
      throw new MergeError(`${who}: its raw samples do not match the SHA-256 it reported`);
    for (const s of mine) samples.push(s);
  }
  samples.sort((a, b) => a.index - b.index);
  const schedule = merged.schedule;
  const shards: ShardedReplay = {
    runners: o.shards,
    t0: new Date(o.t0Ms).toISOString(),
    leadMs: o.leadMs,
    shards: merged.perShard.map((v, k) => ({
      shard: v.shard,
      runner: {
        id: v.runner.id,
        host: v.runner.host,
        pid: v.runner.pid,
        version: v.runner.version,
        offsetMs: v.runner.clock.offsetMs,
        uncertaintyMs: v.runner.clock.uncertaintyMs,
      },
      requests: v.requests,
      n: v.n,
      p95Ms: v.p95Ms,
      sendLagP99Ms: v.sendLagP99Ms,
      cpuPerRequestUs: v.cpuPerRequestUs,
      latencyHdr: v.latency,
      samplesSha256: outcomes[k].summary.samplesSha256,
    })),
    histograms: merged.histograms,
    windows: merged.windows.map((w) => ({
      window: w.window,
      fromIndex: w.fromIndex,
      toIndex: w.toIndex,
      n: w.n,
      p95LowerMs: w.p95?.lowerMs ?? null,
      p95UpperMs: w.p95?.upperMs ?? null,
    })),
  };
  const aborted = outcomes.map((x) => x.summary.aborted).find((a) => a !== undefined);
  const result: ReplayResult & { shards: ShardedReplay } = {
    samples,
    startedAt: new Date(o.t0Ms).toISOString(),
    durationMs: samples.reduce((m, s) => Math.max(m, s.doneAt), 0),
    targetRate: o.rate,
    achievedRate: schedule.achievedRate,
    sendLagP99Ms: schedule.sendLagP99Ms,
    valid: schedule.rateHeld,
    schedule,
    shards,
  };
  if (schedule.reason !== undefined) result.invalidReason = schedule.reason;
  if (aborted !== undefined) result.aborted = aborted;
  if (merged.driverCpuUs !== null) result.driverCpuUs = merged.driverCpuUs;
  return { result, latency: aborted !== undefined ? cutAsSent(merged.latency, samples, o.judgeAlpha) : merged.latency };
}

/**
 * A phase that stopped short (its error budget spent) sent some of its positions and held the rest behind busy
 * keys, so the windows by position are left short all through it. Its windows are then cut as one driver cuts
 * its samples, over the requests it sent, in due order (from the shards' raw records, checked above), and the
 * same arithmetic reads them on the safe side of each bucket.
 */
function cutAsSent(latency: LatencySummary | null, samples: readonly RequestSample[], judgeAlpha?: number): LatencySummary | null {
  if (latency === null || latency.windows !== null) return latency;
  const b = p95WindowCount(samples.length);
  if (b === 0) return latency;
  const all = newHdr();
  const windows = Array.from({ length: b }, () => newHdr());
  samples.forEach((s, k) => {
    recordMs(all, s.latencyMs);
    recordMs(windows[p95WindowOf(k, samples.length, b)], s.latencyMs);
  });
  return summarizeHistogram(all, windows, judgeAlpha);
}
