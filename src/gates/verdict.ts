// Decides PASS, FAIL, ERROR or INCONCLUSIVE from what a phase measured, against what the gate
// demands, and the run's verdict from its phases (PARTIAL for a run of only some of them).
// Fails closed: anything that was not measured, or that the replay cannot prove, is never a PASS.

import type { Gate, Phase, Slo } from "./gate.js";
import type { PhaseResult, RbacCase, SloResult, Verdict } from "./gate-run.js";
import { judgeP95 } from "./replay-validity.js";
import { formatCount, formatMs, formatPercent } from "./units.js";

/** What the runner measured in a phase; the verdict fields are what this module adds. */
export type PhaseMeasurement = Omit<PhaseResult, "verdict" | "reason" | "slos">;

export interface PhaseEvaluation {
  verdict: Verdict;
  /** Names every SLO that failed or could not be measured, with by how much; or why it passed. */
  reason: string;
  slos: SloResult[];
}

export interface ErrorBudget {
  /** Requests the phase sends. */
  requests: number;
  /** Errors (non-2xx, transport, timeouts) the phase may have and still pass error_rate. */
  allowedErrors: number;
  /** Distinct events the phase sends (requests less redeliveries). */
  distinctEvents: number;
  /** Distinct events that must be accepted for acceptance to pass. */
  minAccepted: number;
  /** Distinct events that may go unaccepted (rejected or failed) and still pass acceptance. */
  allowedUnaccepted: number;
}

// Bars are compared as counts, not ratios: 0.999 * 30000 is 29970.000000000004 in floating point.
const EPSILON = 1e-9;

/**
 * A share shown with enough decimals to sit on the right side of its bar: 29,370 of 29,400 is
 * 99.898%, and "99.90% < 99.9%" would read as a contradiction.
 */
function shareAgainst(ratio: number, bar: number, passed: boolean): string {
  for (let d = 2; d < 6; d++) {
    const shown = Number((ratio * 100).toFixed(d));
    const agrees = passed || (ratio < bar ? shown < bar * 100 : shown > bar * 100);
    if (agrees) return formatPercent(ratio, d);
  }
  return formatPercent(ratio, 6);
}

function slo(gate: Gate, name: Slo["name"]): Slo | undefined {
  return gate.slos.find((s) => s.name === name);
}

/** How many errors and unaccepted events a phase can afford. Pass `distinctEvents` once it is known. */
export function errorBudget(gate: Gate, phase: Phase, distinctEvents?: number): ErrorBudget {
  const errorRate = slo(gate, "error_rate");
  const acceptance = slo(gate, "acceptance");
  const distinct = distinctEvents ?? phase.requests - Math.round(phase.requests * gate.corpus.redeliveryShare);
  const allowedErrors = errorRate ? Math.floor(errorRate.bar * phase.requests + EPSILON) : phase.requests;
  const minAccepted = acceptance ? Math.ceil(acceptance.bar * distinct - EPSILON) : 0;
  return { requests: phase.requests, allowedErrors, distinctEvents: distinct, minAccepted, allowedUnaccepted: distinct - minAccepted };
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
  const errorRate = slo(gate, "error_rate");
  if (errorRate && progress.errors > budget.allowedErrors) {
    return (
      `error budget spent: ${formatCount(progress.errors)} errors after ${formatCount(progress.sent)} of ` +
      `${formatCount(phase.requests)} requests; error_rate ${errorRate.comparator} ${errorRate.display} allows at most ` +
      `${formatCount(budget.allowedErrors)}`
    );
  }
  const acceptance = slo(gate, "acceptance");
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

function result(name: string, verdict: Verdict, measured: number | null, measuredDisplay: string, bar: string, detail: string): SloResult {
  return { name, measured, measuredDisplay, bar, verdict, detail };
}

function unmeasured(name: string, bar: string, why: string): SloResult {
  return result(name, "ERROR", null, "not measured", bar, `${name} not measured: ${why}`);
}

function barText(s: Slo): string {
  return `${s.comparator} ${s.display}`;
}

function latencyResult(gate: Gate, phase: Phase, m: PhaseMeasurement): SloResult {
  const gateBar = slo(gate, "latency_p95");
  // The phase's own bar and the gate-wide one both apply; the tighter decides.
  const barMs = gateBar ? Math.min(phase.latencyP95Ms, gateBar.bar) : phase.latencyP95Ms;
  const whose = gateBar && gateBar.bar < phase.latencyP95Ms ? "gate-wide bar" : "phase bar";
  const bar = `<= ${formatMs(barMs)}`;
  if (!m.replay) return unmeasured("latency_p95", bar, "no replay was recorded");
  const l = m.latency;
  if (!l || !(l.n > 0)) return unmeasured("latency_p95", bar, "no latency samples");
  const [lower, upper] = l.p95Ci;
  if (![l.p95, lower].every(Number.isFinite) || Number.isNaN(upper) || upper < l.p95 || lower > l.p95) {
    return unmeasured("latency_p95", bar, `the P95 confidence interval [${lower}, ${upper}] is not usable`);
  }
  const shownUpper = Number.isFinite(upper) ? formatMs(upper) : "unbounded";
  const display = `${formatMs(l.p95)} (95% CI ${formatMs(lower)}-${shownUpper}, n=${formatCount(l.n)})`;
  // The asymmetric rule (replay-validity.ts): a PASS needs the rate held, a FAIL survives a late driver.
  const judged = judgeP95(l, barMs, m.replay.schedule, whose, m.contention);
  return result("latency_p95", judged.verdict, l.p95, display, bar, judged.detail);
}

function acceptanceResult(s: Slo, m: PhaseMeasurement): SloResult {
  const bar = barText(s);
  if (!(m.distinctEvents > 0)) return unmeasured(s.name, bar, "no distinct events were sent");
  if (m.accepted < 0 || m.accepted > m.distinctEvents) {
    return unmeasured(s.name, bar, `${formatCount(m.accepted)} accepted of ${formatCount(m.distinctEvents)} distinct events sent is impossible; the counts are wrong`);
  }
  const ratio = m.accepted / m.distinctEvents;
  const needed = Math.ceil(s.bar * m.distinctEvents - EPSILON);
  const passed = m.accepted >= needed;
  const shown = shareAgainst(ratio, s.bar, passed);
  const display = `${shown} (${formatCount(m.accepted)} of ${formatCount(m.distinctEvents)})`;
  if (passed) {
    return result(s.name, "PASS", ratio, display, bar, `acceptance ${shown} >= ${s.display}`);
  }
  return result(
    s.name,
    "FAIL",
    ratio,
    display,
    bar,
    `acceptance ${shown} < ${s.display} (${formatCount(m.accepted)} of ${formatCount(m.distinctEvents)} distinct events accepted; ` +
      `${formatCount(needed)} needed, ${formatCount(needed - m.accepted)} short)`,
  );
}

function errorRateResult(s: Slo, m: PhaseMeasurement): SloResult {
  const bar = barText(s);
  if (!m.replay) return unmeasured(s.name, bar, "no replay was recorded");
  const sent = m.replay.samples.length;
  if (sent === 0) return unmeasured(s.name, bar, "no requests were sent");
  // Only non-2xx statuses are errors, whatever the breakdown holds.
  const byStatus = Object.entries(m.errors.byStatus).filter(([status]) => !/^2\d\d$/.test(status));
  const errors = byStatus.reduce((sum, [, n]) => sum + n, 0) + m.errors.timeouts + m.errors.transport;
  const ratio = errors / sent;
  const allowed = Math.floor(s.bar * sent + EPSILON);
  const passed = errors <= allowed;
  const shown = shareAgainst(ratio, s.bar, passed);
  const display = `${shown} (${formatCount(errors)} of ${formatCount(sent)})`;
  if (passed) {
    return result(s.name, "PASS", ratio, display, bar, `error_rate ${shown} <= ${s.display}`);
  }
  const causes = [
    ...byStatus.filter(([, n]) => n > 0).map(([status, n]) => `HTTP ${status} x${formatCount(n)}`),
    ...(m.errors.timeouts ? [`timeout x${formatCount(m.errors.timeouts)}`] : []),
    ...(m.errors.transport ? [`transport x${formatCount(m.errors.transport)}`] : []),
  ].join(", ");
  return result(
    s.name,
    "FAIL",
    ratio,
    display,
    bar,
    `error_rate ${shown} > ${s.display} (${formatCount(errors)} errors in ${formatCount(sent)} requests: ${causes}; at most ${formatCount(allowed)} allowed)`,
  );
}

function countResult(s: Slo, count: number, detail: string): SloResult {
  const bar = barText(s);
  const display = formatCount(count);
  if (count <= s.bar) return result(s.name, "PASS", count, display, bar, `${s.name} ${display} ${s.comparator} ${s.display}`);
  return result(s.name, "FAIL", count, display, bar, `${s.name} ${display} > ${formatCount(s.bar)} (${detail})`);
}

function idempotencyResult(gate: Gate, s: Slo, m: PhaseMeasurement): SloResult {
  const i = m.idempotency;
  if (!i) return unmeasured(s.name, barText(s), "no idempotency report");
  if (gate.corpus.redeliveryShare > 0 && i.redeliveriesSent === 0) {
    return unmeasured(s.name, barText(s), "no redeliveries were sent, so idempotency was not exercised");
  }
  const count = i.storedMoreThanOnce + i.answeredNew;
  return countResult(s, count, `${formatCount(i.storedMoreThanOnce)} stored more than once, ${formatCount(i.answeredNew)} redeliveries answered as new`);
}

function orderingResult(s: Slo, m: PhaseMeasurement): SloResult {
  const o = m.ordering;
  if (!o) return unmeasured(s.name, barText(s), "no ordering report");
  if (!(o.eventsChecked > 0)) return unmeasured(s.name, barText(s), "no ordered events were checked");
  const first = o.violations[0];
  const example = first ? `; first: key ${first.orderingKey} applied [${first.actual.slice(0, 5).join(", ")}...]` : "";
  return countResult(s, o.violations.length, `${formatCount(o.violations.length)} of ${formatCount(o.keysChecked)} keys applied out of sequence order${example}`);
}

function lostEventsResult(s: Slo, phase: Phase, m: PhaseMeasurement): SloResult {
  const d = m.database;
  if (!d) return unmeasured(s.name, barText(s), "no database confirmation");
  const lost = d.lostEvents.length;
  const drained = m.drainMs !== null;
  const timeout = `the queue did not drain within ${formatMs(phase.drainTimeoutMs)}`;
  if (!drained && lost <= s.bar) return unmeasured(s.name, barText(s), `${timeout}, so events still queued cannot be confirmed stored`);
  const r = countResult(s, lost, `${formatCount(lost)} accepted events not in the database${drained ? "" : `; ${timeout}`}${lost ? `; first: ${d.lostEvents[0]}` : ""}`);
  return r;
}

/** The constraint that makes idempotency hold in the database itself. */
const UNIQUE_KEY = /^UNIQUE \(idempotency_key\)$/i;

/**
 * Database confirmation's own check: the UNIQUE idempotency key must be present and shown to be
 * enforced by a refused duplicate insert. Declared is not enough; untested is not enforced.
 */
function databaseConstraintResult(m: PhaseMeasurement): SloResult {
  const bar = "UNIQUE (idempotency_key) present and enforced";
  const d = m.database;
  if (!d) return unmeasured("database_confirmation", bar, "no database confirmation");
  const unique = d.constraints.find((c) => UNIQUE_KEY.test(c.definition) && c.present);
  if (!unique) {
    return result("database_confirmation", "FAIL", 0, "no UNIQUE (idempotency_key)", bar, "database_confirmation: no UNIQUE constraint on idempotency_key, so nothing in the database stops an event being stored twice");
  }
  if (!unique.enforced || unique.tested !== true) {
    const why = unique.tested !== true ? "it was not tested with a duplicate insert" : `a duplicate insert was not refused (${unique.detail})`;
    return result("database_confirmation", "FAIL", 0, `${unique.name} not shown enforced`, bar, `database_confirmation: ${unique.name} is declared but not shown to be enforced: ${why}`);
  }
  return result("database_confirmation", "PASS", 1, `${unique.name} enforced`, bar, `database_confirmation: ${unique.name} refused a duplicate insert`);
}

/** Checks one phase against its bars and the gate-wide objectives. */
export function evaluatePhase(gate: Gate, phase: Phase, m: PhaseMeasurement): PhaseEvaluation {
  if (!m.ran) {
    const why = m.replay?.aborted ? `phase did not run (${m.replay.aborted})` : "phase did not run";
    const latencyBar = `<= ${formatMs(Math.min(phase.latencyP95Ms, slo(gate, "latency_p95")?.bar ?? Infinity))}`;
    const slos = [
      result("latency_p95", "ERROR", null, "not run", latencyBar, why),
      ...gate.slos.filter((s) => s.name !== "latency_p95").map((s) => result(s.name, "ERROR", null, "not run", barText(s), why)),
    ];
    return { verdict: "ERROR", reason: why, slos };
  }
  const slos: SloResult[] = [latencyResult(gate, phase, m)];
  for (const s of gate.slos) {
    if (s.name === "acceptance") slos.push(acceptanceResult(s, m));
    else if (s.name === "error_rate") slos.push(errorRateResult(s, m));
    else if (s.name === "idempotency_violations") slos.push(idempotencyResult(gate, s, m));
    else if (s.name === "ordering_violations") slos.push(orderingResult(s, m));
    else if (s.name === "lost_events") slos.push(lostEventsResult(s, phase, m));
  }
  slos.push(databaseConstraintResult(m));

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
  if (errored.length || incomplete.length) return { verdict: "ERROR", reason: [...errored, ...inconclusive, ...incomplete].join("; "), slos };
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
    ? [`rbac: ${rbacWrong.length} of ${context.rbac!.length} credential cases failed (${rbacWrong.map((c) => `${c.name} expected ${c.expectedStatus} got ${c.actualStatus}`).join("; ")})`]
    : [];
  const rbacErrors = rbacUnanswered.length
    ? [`rbac: ${rbacUnanswered.length} of ${context.rbac!.length} credential cases got no answer (${rbacUnanswered.map((c) => c.name).join(", ")}): the service could not be reached`]
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
    else if (!p.ran) notRun.push(p.name);
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
  if (rbac.length || failed.length) return { verdict: "FAIL", reason: [...rbac, ...failed, ...errored, ...inconclusive, ...skipped].join("; ") };
  // Phases that did not run because an earlier one could not tell leave the run as undecided as that one.
  if (!errored.length && notRun.length && inconclusive.length) return { verdict: "INCONCLUSIVE", reason: [...inconclusive, ...skipped].join("; ") };
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
