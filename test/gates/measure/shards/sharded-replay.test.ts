// Joining a phase that stopped short: the requests held behind busy keys are scattered through the schedule, so
// every window by position is short; the windows are then cut as one driver cuts its samples, over what was sent.

import type { CorpusEvent } from "../../../../src/gates/measure/corpus/replay-corpus.js";
import type { ReplayResult, RequestSample } from "../../../../src/gates/model/gate-run-record.js";
import { joinShards, summarizeShard, splitSchedule } from "../../../../src/gates/measure/shards/index.js";
import { encodeRawSamples } from "../../../../src/gates/measure/shards/raw-samples.js";
import { requestSample } from "../../../../src/gates/measure/replay/index.js";
import { summarizeLatency } from "../../../../src/gates/verdict/statistics.js";

const N = 1000;
const RATE = 1000;
const events: CorpusEvent[] = Array.from({ length: N }, (_, i) => ({
  index: i,
  id: `msg_${i}`,
  orderingKey: `phase/repo-${i % 37}`,
  seq: Math.floor(i / 37) + 1,
  eventType: "push",
  body: "{}",
  redelivery: false,
}));

/** The phase on one shard: every request due at i/rate; those `sent` answered after `latency(i)` ms. */
function joined(sent: (i: number) => boolean, aborted: string | undefined) {
  const part = splitSchedule(events, 1, RATE)[0];
  const samples: RequestSample[] = [];
  for (let i = 0; i < N; i++) {
    if (!sent(i)) continue;
    const dueAt = i;
    const latencyMs = 2 + ((i * 7919) % 97) / 10 + (i % 50 === 0 ? 40 : 0);
    samples.push(
      requestSample(i, events[i], dueAt, {
        sentAt: dueAt + 0.2,
        doneAt: dueAt + latencyMs,
        ownLagMs: 0.2,
        status: 202,
        outcome: "accepted",
        requestId: `req_${i}`,
        error: undefined,
      }),
    );
  }
  const result: ReplayResult = {
    samples,
    startedAt: new Date(0).toISOString(),
    durationMs: N,
    targetRate: RATE,
    achievedRate: RATE,
    sendLagP99Ms: 0.2,
    valid: true,
    ...(aborted ? { aborted } : {}),
  };
  const runner = { id: "r", host: "h", pid: 1, version: "0", clock: { offsetMs: 0, uncertaintyMs: 0, rttMs: 0, samples: 0 } };
  const summary = summarizeShard(result, { shard: 0, shards: 1, indices: part.indices, totalRequests: N }, runner);
  const outcome = { summary, raw: encodeRawSamples(samples, part.indices) };
  return { samples, ...joinShards([outcome], events, { shards: 1, rate: RATE, t0Ms: 0, leadMs: 0 }) };
}

// Every 7th request from 100 on held behind its key when the budget ran out, and nothing sent after 900.
const sentBeforeStop = (i: number) => i < 900 && (i < 100 || i % 7 !== 3);

test("a stopped phase's windows are cut over the requests it sent, in due order, as one driver's are", () => {
  const { samples, latency } = joined(sentBeforeStop, "error budget spent");
  const oneDriver = summarizeLatency(samples.map((s) => s.latencyMs))!;
  expect(latency!.n).toBe(samples.length);
  expect(latency!.windows).toMatchObject({ count: oneDriver.windows!.count, size: oneDriver.windows!.size });
  // The same windows read off histograms: on the safe side of one driver's, within a bucket's width and its widening.
  expect(latency!.p95CiBatch![1]).toBeGreaterThanOrEqual(oneDriver.p95CiBatch![1]);
  expect(latency!.p95CiBatch![1]).toBeLessThan(oneDriver.p95CiBatch![1] * 1.02);
  expect(latency!.p95CiBatch![0]).toBeLessThanOrEqual(oneDriver.p95CiBatch![0]);
});

test("the same record from a phase that did not stop keeps the windows by position, and their rule: a short window, no interval", () => {
  const { latency } = joined(sentBeforeStop, undefined);
  expect(latency!.windows).toBeNull();
  expect(latency!.p95CiBatch).toBeNull();
});
