// The corpus of one phase, the same on every machine that builds it: the coordinator of a sharded
// phase and each runner generate it from the gate's corpus spec, so no event travels through Redis.

import { createHash } from "node:crypto";
import { dirname, isAbsolute, resolve } from "node:path";
import type { Gate, Phase } from "../../model/index.js";
import { generateCorpus, readCorpus, type CorpusEvent } from "./replay-corpus.js";

/** What a phase's corpus is made from: the gate's corpus spec, and its file (a recorded corpus is relative to it). */
export type CorpusSource = Pick<Gate, "corpus"> & { source: Pick<Gate["source"], "file"> };

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
export function phaseCorpus(gate: CorpusSource, phase: Pick<Phase, "name" | "requests">, runTag?: string): CorpusEvent[] {
  const events = phaseEvents(gate, phase);
  return runTag ? events.map((e) => ({ ...e, id: `${e.id}_${runTag}`, orderingKey: `${runTag}/${e.orderingKey}` })) : events;
}

/** A tag of the run for event ids and ordering keys of a deployed target; none for a fresh namespace. */
export function runTagOf(gate: Pick<Gate, "target">, runId: string): string | undefined {
  return gate.target.kind === "deployed" ? `r${createHash("sha256").update(runId).digest("hex").slice(0, 10)}` : undefined;
}

function phaseEvents(gate: CorpusSource, phase: Pick<Phase, "name" | "requests">): CorpusEvent[] {
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
