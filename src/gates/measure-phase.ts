// One phase of a run, measured: its corpus, the open-loop replay, the wait for the drain, what was
// stored and the database's constraints, the host's contention, and the phase's verdict. Also the
// result of a phase that never ran.

import { createHash } from "node:crypto";
import { dirname, isAbsolute, resolve } from "node:path";
import type { Gate, Phase } from "./gate.js";
import type { PhaseResult, ReplayResult } from "./gate-run.js";
import type { Deployment } from "./deployment.js";
import type { EventStore, StoredEvent } from "./event-store.js";
import {
  acknowledgedIds,
  databaseConfirmation,
  distinctIds,
  errorBreakdown,
  idempotencyReport,
  orderingReport,
} from "./event-validation.js";
import { generateCorpus, readCorpus, type CorpusEvent } from "./corpus.js";
import { replay, type ReplayProgress } from "./replay/index.js";
import { summarizeLatency } from "./statistics.js";
import { evaluatePhase, phaseCanStillPass } from "./verdict.js";
import { networkInterfaces } from "node:os";
import { judgeContention } from "./host-contention.js";
import { phaseResources, startPhaseMonitor } from "./phase-monitor.js";

/**
 * Share of a generated phase corpus's events that come in out-of-order pairs (the higher seq sent
 * first, both at once), so ordering is tested against arrivals out of order, not only in order.
 */
export const OUT_OF_ORDER_SHARE = 0.01;

/**
 * The corpus of one phase: ids and ordering keys are scoped to the phase so phases never collide, and,
 * given a run tag, to the run, so a run against a service that is already running (and keeps its
 * rows) is never matched with an earlier run's rows.
 */
export function phaseCorpus(gate: Gate, phase: Phase, runTag?: string): CorpusEvent[] {
  const events = phaseEvents(gate, phase);
  return runTag ? events.map((e) => ({ ...e, id: `${e.id}_${runTag}`, orderingKey: `${runTag}/${e.orderingKey}` })) : events;
}

/** A tag of the run for event ids and ordering keys of a deployed target; none for a fresh namespace. */
export function runTagOf(gate: Gate, runId: string): string | undefined {
  return gate.target.kind === "deployed" ? `r${createHash("sha256").update(runId).digest("hex").slice(0, 10)}` : undefined;
}

function phaseEvents(gate: Gate, phase: Phase): CorpusEvent[] {
  if (gate.corpus.file) {
    const file = isAbsolute(gate.corpus.file) ? gate.corpus.file : resolve(dirname(gate.source.file), gate.corpus.file);
    const events = readCorpus(file).slice(0, phase.requests);
    return events.map((e) => ({ ...e, id: `${e.id}_${phase.name}`, orderingKey: `${phase.name}/${e.orderingKey}` }));
  }
  return generateCorpus({
    seed: `${gate.corpus.seed}/${phase.name}`,
    requests: phase.requests,
    orderingKeys: gate.corpus.orderingKeys,
    redeliveryShare: gate.corpus.redeliveryShare,
    outOfOrderShare: OUT_OF_ORDER_SHARE,
  }).map((e) => ({ ...e, orderingKey: `${phase.name}/${e.orderingKey}` }));
}

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
    verdict: "ERROR",
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
  o: { signal?: AbortSignal; onProgress?: (p: ReplayProgress) => void },
  runTag: string | undefined,
): Promise<{ result: PhaseResult; stored: StoredEvent[]; replay: ReplayResult }> {
  const events = phaseCorpus(gate, phase, runTag);
  const redeliveries = events.filter((e) => e.redelivery).length;
  const corpusCounts = { distinctEvents: events.length - redeliveries, redeliveries };
  const monitor = startPhaseMonitor(deployment);
  const stopMonitor = (err: unknown): Promise<never> =>
    monitor.stop().then(
      () => Promise.reject(err),
      () => Promise.reject(err),
    );
  const result = await replay({
    url: deployment.webhookUrl,
    rate: phase.rate,
    events,
    credentials: deployment.credentials,
    onProgress: o.onProgress,
    shouldStop: (p) => phaseCanStillPass(gate, phase, { sent: p.sent, errors: p.errors }, corpusCounts),
    signal: o.signal,
  }).catch(stopMonitor);
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
    latency: summarizeLatency(samples.map((s) => s.latencyMs)),
    distinctEvents: distinctIds(samples).size,
    accepted: acknowledged.length,
    duplicates: samples.filter((s) => s.outcome === "duplicate").length,
    errors: errorBreakdown(samples),
    drainMs,
    idempotency: idempotencyReport(samples, stored),
    ordering: orderingReport(samples, stored, gaps),
    database: confirmation,
    ...(contention ? { contention } : {}),
  };
  const decided = evaluatePhase(gate, phase, measured);
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
