// Decides PASS, FAIL, ERROR or INCONCLUSIVE from what a phase measured, against what the gate
// demands, and the run's verdict from its phases (PARTIAL for a run of only some of them).
// Fails closed: anything that was not measured, or that the replay cannot prove, is never a PASS.

import {
  type Gate,
  type Phase,
  type PhaseMeasurement,
  type PhaseResult,
  type PhaseVerdict,
  type RbacCase,
  type SloResult,
  type Verdict,
  formatCount,
} from "../model/index.js";
import { databaseConfirmation, objectiveOf, result, type JudgementContext, SLO_NAMES, SLOS } from "./slos/index.js";
import { errorBudget } from "./error-budget.js";

export interface PhaseEvaluation {
  verdict: PhaseVerdict;
  /** Names every SLO that failed or could not be measured, with by how much; or why it passed. */
  reason: string;
  slos: SloResult[];
}

/** What the phase's corpus holds: the early stop's arithmetic needs both. */
export interface CorpusCounts {
  /** Distinct events (requests less redeliveries). */
  distinctEvents: number;
  /** Requests that re-send an earlier event. */
  redeliveries: number;
}

/**
 * Null while the phase can still pass; once its budget is spent, why it cannot (for an early abort).
 * `errors` counts failed requests. Each failed request may leave one event unaccepted, but not
 * every one does: a failed redelivery of an accepted event leaves none, and a redelivery still to
 * come may yet be accepted for an event whose first send failed. Each redelivery can excuse at
 * most one failed request, so at least errors - redeliveries distinct events are lost for good.
 */
export function phaseCanStillPass(
  gate: Gate,
  phase: Phase,
  progress: { sent: number; errors: number },
  corpus?: CorpusCounts,
): string | null {
  const budget = errorBudget(gate, phase, corpus?.distinctEvents);
  const redeliveries = corpus?.redeliveries ?? phase.requests - budget.distinctEvents;
  const errorRate = objectiveOf(gate, "error_rate");
  if (errorRate && progress.errors > budget.allowedErrors) {
    return (
      `error budget spent: ${formatCount(progress.errors)} errors after ${formatCount(progress.sent)} of ` +
      `${formatCount(phase.requests)} requests; error_rate ${errorRate.comparator} ${errorRate.display} allows at most ` +
      `${formatCount(budget.allowedErrors)}`
    );
  }
  const acceptance = objectiveOf(gate, "acceptance");
  const unaccepted = progress.errors - redeliveries;
  if (acceptance && unaccepted > budget.allowedUnaccepted) {
    return (
      `acceptance can no longer reach ${acceptance.display}: ${formatCount(progress.errors)} failed requests after ${formatCount(progress.sent)} of ` +
      `${formatCount(phase.requests)} leave at least ${formatCount(unaccepted)} events unaccepted (the ${formatCount(redeliveries)} redeliveries ` +
      `can excuse no more); at most ${formatCount(budget.allowedUnaccepted)} of ${formatCount(budget.distinctEvents)} may be`
    );
  }
  return null;
}

/**
 * The most errors a phase can take and still PASS (phaseCanStillPass's first refusal, less one), or null when no
 * objective limits them. A shard of a phase driven by runners stops once its own errors pass it: the phase's
 * errors are at least the shard's, so the phase can no longer pass whatever the other shards see.
 */
export function phaseErrorLimit(gate: Gate, phase: Phase, corpus?: CorpusCounts): number | null {
  const refused = (errors: number) => phaseCanStillPass(gate, phase, { sent: phase.requests, errors }, corpus) !== null;
  if (!refused(phase.requests)) return null;
  // Refusal grows with the errors: the first refused count, by halving.
  let low = 0;
  let high = phase.requests;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (refused(mid)) high = mid;
    else low = mid + 1;
  }
  return low - 1;
}

/** Checks one phase against its bars and the gate-wide objectives. */
export function evaluatePhase(gate: Gate, phase: Phase, m: PhaseMeasurement, context: JudgementContext = {}): PhaseEvaluation {
  // Every objective of the catalogue the gate judges, in the catalogue's order.
  const judged = SLO_NAMES.flatMap((name) => {
    const judgement = SLOS[name].judge(gate, phase);
    return judgement ? [{ name, ...judgement }] : [];
  });
  if (!m.ran) {
    const why = m.replay?.aborted ? `phase did not run (${m.replay.aborted})` : "phase did not run";
    const slos = judged.map((j) => result(j.name, "ERROR", null, "not run", j.bar, why));
    return { verdict: "NOT_RUN", reason: why, slos };
  }
  // An objective with nothing to judge against in this run (a comparison without a baseline) is left out.
  const slos: SloResult[] = [...judged.flatMap((j) => j.evaluate(m, context) ?? []), databaseConfirmation(m)];

  // A phase that stopped short measured only part of what it promised.
  const incomplete: string[] = [];
  if (m.replay?.aborted) incomplete.push(`phase aborted: ${m.replay.aborted}`);
  else if (m.replay && m.replay.samples.length < phase.requests) {
    incomplete.push(`only ${formatCount(m.replay.samples.length)} of ${formatCount(phase.requests)} requests were sent`);
  }

  const failed = slos.filter((s) => s.verdict === "FAIL").map((s) => s.detail!);
  const errored = slos.filter((s) => s.verdict === "ERROR").map((s) => s.detail!);
  const inconclusive = slos.filter((s) => s.verdict === "INCONCLUSIVE").map((s) => s.detail!);
  if (failed.length) return { verdict: "FAIL", reason: [...failed, ...errored, ...inconclusive, ...incomplete].join("; "), slos };
  if (errored.length || incomplete.length)
    return { verdict: "ERROR", reason: [...errored, ...inconclusive, ...incomplete].join("; "), slos };
  if (inconclusive.length) return { verdict: "INCONCLUSIVE", reason: inconclusive.join("; "), slos };
  return { verdict: "PASS", reason: `all ${slos.length} objectives met`, slos };
}

/** What besides its phases decides a run. */
export interface RunContext {
  /** The RBAC probe's cases: any FAIL fails the gate named rbac. */
  rbac?: RbacCase[];
  /** How many phases the gate has: a run of fewer is partial. */
  gatePhases?: number;
  /** What a partial run whose phases all passed decides (the gate file's partial_runs). */
  partialRuns?: "PARTIAL" | "PASS";
}

/**
 * The run's verdict from its phases: PASS only if there were phases and every one ran and passed
 * on objectives that all passed, and the run covered every phase of the gate (else PARTIAL, unless
 * the gate allows partial runs as PASS). A failed RBAC probe or any failed phase makes it FAIL;
 * otherwise ERROR (something could not be measured or run) comes before INCONCLUSIVE.
 */
export function evaluateRun(phases: PhaseResult[], context: RunContext = {}): { verdict: Verdict; reason: string } {
  // A case the service answered wrongly is a FAIL; a case that got no answer at all (status 0: the
  // service was unreachable) measured nothing, so it is an ERROR, not a verdict on the service.
  const rbacWrong = (context.rbac ?? []).filter((c) => c.verdict !== "PASS" && c.actualStatus !== 0);
  const rbacUnanswered = (context.rbac ?? []).filter((c) => c.verdict !== "PASS" && c.actualStatus === 0);
  const rbac = rbacWrong.length
    ? [
        `rbac: ${rbacWrong.length} of ${context.rbac!.length} credential cases failed (${rbacWrong.map((c) => `${c.name} expected ${c.expectedStatus} got ${c.actualStatus}`).join("; ")})`,
      ]
    : [];
  const rbacErrors = rbacUnanswered.length
    ? [
        `rbac: ${rbacUnanswered.length} of ${context.rbac!.length} credential cases got no answer (${rbacUnanswered.map((c) => c.name).join(", ")}): the service could not be reached`,
      ]
    : [];
  if (phases.length === 0) {
    if (rbac.length) return { verdict: "FAIL", reason: rbac.join("; ") };
    if (rbacErrors.length) return { verdict: "ERROR", reason: rbacErrors.join("; ") };
    return { verdict: "ERROR", reason: "no phases were selected, so nothing was measured" };
  }
  const failed: string[] = [];
  const errored: string[] = [...rbacErrors];
  const inconclusive: string[] = [];
  const notRun: string[] = [];
  for (const p of phases) {
    if (p.verdict === "FAIL") failed.push(`${p.name}: ${p.reason}`);
    else if (!p.ran || p.verdict === "NOT_RUN") notRun.push(p.name);
    else if (p.verdict === "ERROR") errored.push(`${p.name}: ${p.reason}`);
    else if (p.verdict === "INCONCLUSIVE") inconclusive.push(`${p.name}: ${p.reason}`);
    else if (p.verdict !== "PASS") errored.push(`${p.name}: a phase cannot be ${p.verdict}`);
    else if (p.slos.length === 0) errored.push(`${p.name}: no objectives were evaluated`);
    else if (p.slos.some((s) => s.verdict !== "PASS")) {
      const bad = p.slos.filter((s) => s.verdict !== "PASS").map((s) => s.name);
      errored.push(`${p.name}: marked PASS but ${bad.join(", ")} did not pass`);
    }
  }
  const skipped = notRun.length ? [`${notRun.join(", ")} did not run`] : [];
  if (rbac.length || failed.length)
    return { verdict: "FAIL", reason: [...rbac, ...failed, ...errored, ...inconclusive, ...skipped].join("; ") };
  // Phases that did not run because an earlier one could not tell leave the run as undecided as that one.
  if (!errored.length && notRun.length && inconclusive.length)
    return { verdict: "INCONCLUSIVE", reason: [...inconclusive, ...skipped].join("; ") };
  if (errored.length || notRun.length) return { verdict: "ERROR", reason: [...errored, ...inconclusive, ...skipped].join("; ") };
  if (inconclusive.length) return { verdict: "INCONCLUSIVE", reason: inconclusive.join("; ") };
  const names = phases.map((p) => p.name).join(", ");
  const passed = `all ${phases.length} phase${phases.length === 1 ? "" : "s"} passed: ${names}`;
  if (context.gatePhases !== undefined && phases.length < context.gatePhases) {
    const of = `a partial run (${phases.length} of the gate's ${context.gatePhases} phases)`;
    if (context.partialRuns === "PASS") return { verdict: "PASS", reason: `${passed}; ${of}, which the gate's partial_runs: PASS accepts` };
    return { verdict: "PARTIAL", reason: `${passed}; but this is ${of}, so it is no GO (the gate's partial_runs is PARTIAL)` };
  }
  return { verdict: "PASS", reason: passed };
}
