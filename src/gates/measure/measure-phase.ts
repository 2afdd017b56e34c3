// One phase of a run, measured: its corpus, the open-loop replay, the wait for the drain, what was
// stored and the database's constraints, the host's contention, and the phase's verdict. Also the
// result of a phase that never ran.

import type { Gate, Phase, PhaseResult, ReplayResult, BaselineRun } from "../model/index.js";
import type { Deployment } from "../target/index.js";
import { evaluatePhase } from "../verdict/index.js";
import { driveLocalPhase, driveShardedPhase, type ShardedDriving } from "./shards/index.js";
import type { EventStore, StoredEvent } from "./event-store.js";
import {
  acknowledgedIds,
  databaseConfirmation,
  distinctIds,
  errorBreakdown,
  idempotencyReport,
  orderingReport,
} from "./event-validation.js";
import { phaseCorpus } from "./corpus/phase-corpus.js";
import type { ReplayProgress } from "./replay/index.js";
import { networkInterfaces } from "node:os";
import { judgeContention } from "./host-contention.js";
import { phaseResources, startPhaseMonitor } from "./phase-monitor.js";

export { OUT_OF_ORDER_SHARE, phaseCorpus, runTagOf } from "./corpus/phase-corpus.js";

/** The result of a phase that did not run: never a PASS. */
export function notRun(phase: Phase, reason: string): PhaseResult {
  return {
    name: phase.name,
    requests: phase.requests,
    rate: phase.rate,
    latencyBarMs: phase.latencyP95Ms,
    ran: false,
    replay: null,
    latency: null,
    distinctEvents: 0,
    accepted: 0,
    duplicates: 0,
    errors: { byStatus: {}, timeouts: 0, transport: 0 },
    drainMs: null,
    idempotency: null,
    ordering: null,
    database: null,
    verdict: "NOT_RUN",
    reason,
    slos: [],
  };
}

/** Waits until every acknowledged event is stored and applied, or the phase's drain timeout passes. */
async function waitForDrain(
  store: EventStore,
  ids: string[],
  replayEnd: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await store.progress(ids);
    if (p.stored >= ids.length && p.unapplied === 0) {
      const last = p.lastPersistedAt ? Date.parse(p.lastPersistedAt) : replayEnd;
      return Math.max(0, last - replayEnd);
    }
    if (Date.now() > deadline || signal?.aborted) return null;
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function measurePhase(
  gate: Gate,
  phase: Phase,
  deployment: Deployment,
  store: EventStore,
  o: {
    signal?: AbortSignal;
    onProgress?: (p: ReplayProgress) => void;
    judgeAlpha?: number;
    baseline?: BaselineRun;
    shards?: ShardedDriving;
  },
  runTag: string | undefined,
): Promise<{ result: PhaseResult; stored: StoredEvent[]; replay: ReplayResult }> {
  const events = phaseCorpus(gate, phase, runTag);
  const monitor = startPhaseMonitor(deployment, undefined, o.shards?.localPids);
  const stopMonitor = (err: unknown): Promise<never> =>
    monitor.stop().then(
      () => Promise.reject(err),
      () => Promise.reject(err),
    );
  // One path either way: a flow of shards (N runners, or one in this process) whose histograms merge into the verdict's latency.
  const driving = { runTag, signal: o.signal, judgeAlpha: o.judgeAlpha, onProgress: o.onProgress };
  const { result, latency } = await (
    o.shards
      ? driveShardedPhase(gate, phase, deployment, events, o.shards, driving)
      : driveLocalPhase(gate, phase, deployment, events, driving)
  ).catch(stopMonitor);
  const samples = result.samples;
  const acknowledged = [...acknowledgedIds(samples)];
  const lastAnswer = samples.reduce((m, s) => Math.max(m, s.doneAt), 0);
  const replayEnd = Date.parse(result.startedAt) + lastAnswer;
  const drainMs = await waitForDrain(store, acknowledged, replayEnd, phase.drainTimeoutMs, o.signal).catch(stopMonitor);
  const readings = await monitor.stop();
  const resources = phaseResources(readings, result, acknowledged.length);
  const judged = readings.host
    ? judgeContention(readings.host.samples, Date.parse(result.startedAt), samples, readings.host.topForeign)
    : undefined;
  // A deployed target on this machine: its processes look like any other work, so none may excuse a FAIL.
  const local = !deployment.pids && isLoopback(deployment.baseUrl);
  const contention =
    judged && local
      ? { ...judged, unattributable: "the target is deployed on this machine: its processes cannot be told from other work" }
      : judged;
  const stored = await store.events([...distinctIds(samples)]);
  const constraints = await store.constraints();
  const unique = constraints.find((c) => /^UNIQUE \(idempotency_key\)$/i.test(c.definition));
  const probe = stored.length
    ? { ...(await store.uniqueKeyEnforced(stored[0].idempotencyKey)), tested: true }
    : { enforced: false, tested: false, detail: "not tested: no stored row to probe the constraint with" };
  const confirmation = databaseConfirmation(samples, stored, [
    {
      name: unique?.name ?? "webhook_events idempotency_key unique",
      definition: unique?.definition ?? "UNIQUE (idempotency_key)",
      present: Boolean(unique),
      enforced: Boolean(unique) && probe.enforced,
      tested: Boolean(unique) && probe.tested,
      detail: unique ? probe.detail : "no UNIQUE constraint on idempotency_key",
    },
    // Declared, and listed for the record; only the idempotency key is probed, so none is claimed enforced.
    ...constraints
      .filter((c) => c !== unique)
      .map((c) => ({
        name: c.name,
        definition: c.definition,
        present: true,
        enforced: false,
        tested: false,
        detail: "declared by the schema; not tested",
      })),
  ]);
  const keyPrefix = runTag ? `${runTag}/${phase.name}/` : `${phase.name}/`;
  const gaps = (await store.gaps()).filter((g) => g.orderingKey.startsWith(keyPrefix));
  const measured = {
    name: phase.name,
    requests: phase.requests,
    rate: phase.rate,
    latencyBarMs: phase.latencyP95Ms,
    ran: true,
    replay: result,
    // The shards' merged histograms, read on the safe side of each bucket; a PASS's upper bounds at the run's level.
    latency,
    distinctEvents: distinctIds(samples).size,
    accepted: acknowledged.length,
    duplicates: samples.filter((s) => s.outcome === "duplicate").length,
    errors: errorBreakdown(samples),
    drainMs,
    idempotency: idempotencyReport(samples, stored),
    ordering: orderingReport(samples, stored, gaps),
    database: confirmation,
    ...(contention ? { contention } : {}),
    ...(o.shards ? { runners: o.shards.runners } : {}),
  };
  const decided = evaluatePhase(gate, phase, measured, { baseline: o.baseline });
  return { result: { ...measured, ...decided, resources }, stored, replay: result };
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    if (host === "localhost" || host === "::1" || host.startsWith("127.") || host === "0.0.0.0") return true;
    // This machine's own addresses are as local as its loopback.
    return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === host));
  } catch {
    return false;
  }
}
