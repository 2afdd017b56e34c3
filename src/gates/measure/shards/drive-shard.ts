// A runner's half of a sharded phase: checks its clock, rebuilds its part of the corpus, waits for
// the agreed t0 and replays its events at their places in the global schedule, then summarises.

import { performance } from "node:perf_hooks";
import { phaseCorpus } from "../corpus/phase-corpus.js";
import type { CorpusEvent } from "../corpus/replay-corpus.js";
import type { ReplayResult } from "../../model/index.js";
import { replay, ReplayError, type ReplayOptions, type ReplayProgress } from "../replay/index.js";
import type { CoordinationClock } from "./redis-clock.js";
import { encodeRawSamples } from "./raw-samples.js";
import type { ShardOutcome, ShardPlan } from "./shard-plan.js";
import { splitSchedule } from "./shard-split.js";
import { summarizeShard, type RunnerInfo } from "./shard-summary.js";

/** Why a runner would not drive its shard; the phase is ERROR, naming the runner. */
export class ShardRefusal extends Error {
  constructor(
    readonly code: "clock_uncertain" | "started_late",
    message: string,
  ) {
    super(message);
    this.name = "ShardRefusal";
  }
}

/** What the process driving a shard adds to its plan. */
export interface ShardDriving {
  signal?: AbortSignal;
  onProgress?: (p: ReplayProgress) => void;
  /** The phase's events when this process has them already (a flow in the coordinator's process); else rebuilt from the plan. */
  events?: readonly CorpusEvent[];
  /** The phase's own stopping rule, in its own words, for a shard that is the whole phase; else the plan's error limit. */
  shouldStop?: ReplayOptions["shouldStop"];
}

export async function driveShard(
  plan: ShardPlan,
  clock: CoordinationClock,
  runner: RunnerInfo,
  o: ShardDriving = {},
): Promise<ShardOutcome> {
  const { signal, onProgress } = o;
  const who = `runner ${runner.id} (shard ${plan.shard + 1}/${plan.shards})`;
  if (!(clock.uncertaintyMs <= plan.clockBoundMs)) {
    throw new ShardRefusal(
      "clock_uncertain",
      `${who} refused its shard: its clock is known to ±${clock.uncertaintyMs.toFixed(2)} ms of the coordination clock (best round trip ${clock.rttMs.toFixed(2)} ms), over the ${plan.clockBoundMs} ms bound`,
    );
  }
  const events = o.events ?? phaseCorpus({ corpus: plan.corpus, source: { file: plan.gateFile } }, plan.phase, plan.runTag);
  const part = splitSchedule(events, plan.shards, plan.phase.rate)[plan.shard];
  const mine = Array.from(part.indices, (g) => events[g]);
  const startAt = plan.startWhenReady ? undefined : clock.toLocal(plan.t0Ms);
  const late = () =>
    new ShardRefusal(
      "started_late",
      `${who} started late: it was ready ${(performance.now() - startAt!).toFixed(0)} ms after t0 (the plan gave ${plan.leadMs} ms of lead)`,
    );
  if (startAt !== undefined && performance.now() > startAt) throw late();
  let result: ReplayResult;
  if (mine.length === 0) {
    result = {
      samples: [],
      startedAt: new Date(clock.toCoordination(startAt ?? performance.now()) - clock.offsetMs).toISOString(),
      durationMs: 0,
      targetRate: plan.phase.rate,
      achievedRate: 0,
      sendLagP99Ms: 0,
      valid: true,
    };
  } else {
    result = await replay({
      url: plan.url,
      rate: plan.phase.rate,
      events: mine,
      dueAt: part.dueAt,
      startAt,
      credentials: plan.credentials,
      timeoutMs: plan.timeoutMs,
      signal,
      onProgress,
      // The phase's errors are at least this shard's: past the phase's limit it cannot pass, so stop spending.
      shouldStop:
        o.shouldStop ??
        ((p) =>
          plan.errorLimit !== undefined && p.errors > plan.errorLimit
            ? `error budget spent on ${who} alone: ${p.errors} errors after ${p.sent} of its ${mine.length} requests; the phase allows at most ${plan.errorLimit}`
            : null),
    }).catch((err: unknown) => {
      throw err instanceof ReplayError && err.code === "replay_started_late" ? late() : err;
    });
  }
  const summary = summarizeShard(
    result,
    { shard: plan.shard, shards: plan.shards, indices: part.indices, totalRequests: events.length },
    runner,
  );
  return { summary, raw: mine.length <= plan.rawSampleCap ? encodeRawSamples(result.samples, part.indices) : null };
}
