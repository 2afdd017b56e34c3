// measure-phase's door to the runners: a phase of a gate as a plan, driven by N shards, joined into
// one ReplayResult. A phase on one runner is a flow of one shard: the same path. Without runners
// (`gate run` alone) the flow is one shard driven in this process, with no Redis hop: the same plan,
// the same driver, the same summary and the same merge the verdict reads.

import { hostname } from "node:os";
import type { CorpusEvent } from "../corpus/replay-corpus.js";
import type { Deployment } from "../../target/index.js";
import type { Gate, Phase } from "../../model/index.js";
import { phaseCanStillPass, phaseErrorLimit } from "../../verdict/index.js";
import type { ReplayProgress } from "../replay/index.js";
import { driveShard } from "./drive-shard.js";
import { DEFAULT_CLOCK_BOUND_MS, ownClock } from "./redis-clock.js";
import { releaseGateVersion } from "./replay-runner.js";
import { DEFAULT_LEAD_MS, localLeadMs, type PhasePlan, type ShardCoordinator } from "./shard-coordinator.js";
import { DEFAULT_RAW_SAMPLE_CAP } from "./shard-plan.js";
import { joinShards, type JoinedReplay } from "./sharded-replay.js";

/** How a run drives its phases through runners (execute-run.ts makes it). */
export interface ShardedDriving {
  coordinator: ShardCoordinator;
  runId: string;
  runners: number;
  /** The runners this run started on this machine (local-runners.ts), by process id; none for runners elsewhere. */
  localPids?: readonly number[];
  leadMs?: number;
  clockBoundMs?: number;
}

interface PhaseDriving {
  runTag?: string;
  signal?: AbortSignal;
  judgeAlpha?: number;
  onProgress?: (p: ReplayProgress) => void;
}

/** The plan every shard of the phase gets, less its place in the flow. */
function phasePlan(
  gate: Gate,
  phase: Phase,
  deployment: Deployment,
  events: readonly CorpusEvent[],
  runId: string,
  o: PhaseDriving,
): PhasePlan {
  const redeliveries = events.filter((e) => e.redelivery).length;
  const errorLimit = phaseErrorLimit(gate, phase, { distinctEvents: events.length - redeliveries, redeliveries });
  return {
    runId,
    phase: { name: phase.name, requests: phase.requests, rate: phase.rate },
    corpus: gate.corpus,
    gateFile: gate.source.file,
    ...(o.runTag ? { runTag: o.runTag } : {}),
    url: deployment.webhookUrl,
    credentials: deployment.credentials,
    timeoutMs: 30_000,
    clockBoundMs: DEFAULT_CLOCK_BOUND_MS,
    rawSampleCap: DEFAULT_RAW_SAMPLE_CAP,
    ...(errorLimit !== null ? { errorLimit } : {}),
  };
}

export async function driveShardedPhase(
  gate: Gate,
  phase: Phase,
  deployment: Deployment,
  events: readonly CorpusEvent[],
  d: ShardedDriving,
  o: PhaseDriving = {},
): Promise<JoinedReplay> {
  // Runners elsewhere get time to start; the run's own, already waiting, only what they need.
  const leadMs = d.leadMs ?? (d.localPids?.length ? localLeadMs(phase.requests) : DEFAULT_LEAD_MS);
  const plan = { ...phasePlan(gate, phase, deployment, events, d.runId, o), clockBoundMs: d.clockBoundMs ?? DEFAULT_CLOCK_BOUND_MS };
  const { outcomes, t0Ms } = await d.coordinator.drivePhase(plan, d.runners, leadMs, o.signal, o.onProgress);
  // The PASS bounds at the run's level, as one driver's phase has them.
  return joinShards(outcomes, events, { shards: d.runners, rate: phase.rate, t0Ms, leadMs, judgeAlpha: o.judgeAlpha });
}

/**
 * The phase as a flow of one shard in this process: its clock is the coordination clock, so it starts when
 * ready (t0 is its start), and it stops by the phase's own rule, whose words say which objective is lost.
 */
export async function driveLocalPhase(
  gate: Gate,
  phase: Phase,
  deployment: Deployment,
  events: readonly CorpusEvent[],
  o: PhaseDriving = {},
): Promise<JoinedReplay> {
  const redeliveries = events.filter((e) => e.redelivery).length;
  const corpusCounts = { distinctEvents: events.length - redeliveries, redeliveries };
  const clock = ownClock();
  const { offsetMs, uncertaintyMs, rttMs, samples } = clock;
  const outcome = await driveShard(
    { ...phasePlan(gate, phase, deployment, events, "local", o), shard: 0, shards: 1, t0Ms: Date.now(), leadMs: 0, startWhenReady: true },
    clock,
    {
      id: `${hostname()}/${process.pid}`,
      host: hostname(),
      pid: process.pid,
      version: releaseGateVersion(),
      clock: { offsetMs, uncertaintyMs, rttMs, samples },
    },
    {
      events,
      signal: o.signal,
      onProgress: o.onProgress,
      shouldStop: (p) => phaseCanStillPass(gate, phase, { sent: p.sent, errors: p.errors }, corpusCounts),
    },
  );
  const t0Ms = Date.parse(outcome.summary.startedAt);
  return joinShards([outcome], events, { shards: 1, rate: phase.rate, t0Ms, leadMs: 0, judgeAlpha: o.judgeAlpha });
}
