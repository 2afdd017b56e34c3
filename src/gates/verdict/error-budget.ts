// The error budget: how many failed requests and unaccepted events the gate's SLOs allow (e.g. 0.10%
// of 30,000 = 30), computed once for the verdict's early stop and for the ledger, which shows per
// phase and overall how many were spent and on what (status code, timeout, transport), and what is left.

import type { Gate, Phase, GateRun, PhaseResult } from "../model/index.js";
import { acceptedNeeded, errorsAllowed, barText, objectiveOf } from "./slos/index.js";

export interface ErrorBudget {
  /** Requests the phase sends. */
  requests: number;
  /** Errors (non-2xx, transport, timeouts) the phase may have: the allowedErrorShare of its requests. */
  allowedErrors: number;
  /** Distinct events the phase sends (requests less redeliveries). */
  distinctEvents: number;
  /** Distinct events that must be accepted for acceptance to pass (0 without an acceptance SLO). */
  minAccepted: number;
  /** Distinct events that may go unaccepted (rejected or failed) and still pass acceptance. */
  allowedUnaccepted: number;
}

/** The allowed failure share: the error_rate bar, or else what the acceptance bar leaves; none means none allowed. */
export function allowedErrorShare(gate: Gate): { share: number | null; source: string } {
  const errorRate = objectiveOf(gate, "error_rate");
  if (errorRate) return { share: errorRate.bar, source: `error_rate ${barText(errorRate)}` };
  const acceptance = objectiveOf(gate, "acceptance");
  if (acceptance) return { share: 1 - acceptance.bar, source: `acceptance ${barText(acceptance)}` };
  return { share: null, source: "the gate sets no error_rate or acceptance SLO, so no error is allowed" };
}

function budgetOf(share: number | null, requests: number): number {
  return share === null ? 0 : errorsAllowed(share, requests);
}

/** How many errors and unaccepted events a phase can afford. Pass `distinctEvents` once it is known. */
export function errorBudget(gate: Gate, phase: Phase, distinctEvents?: number): ErrorBudget {
  const acceptance = objectiveOf(gate, "acceptance");
  const distinct = distinctEvents ?? phase.requests - Math.round(phase.requests * gate.corpus.redeliveryShare);
  const minAccepted = acceptance ? acceptedNeeded(acceptance, distinct) : 0;
  const allowedErrors = budgetOf(allowedErrorShare(gate).share, phase.requests);
  return { requests: phase.requests, allowedErrors, distinctEvents: distinct, minAccepted, allowedUnaccepted: distinct - minAccepted };
}

export interface ErrorBudgetCause {
  /** "HTTP 503", "timeout", "transport". */
  cause: string;
  count: number;
}

export interface ErrorBudgetLine {
  /** The phase name, or "overall". */
  scope: string;
  ran: boolean;
  /** Requests the phase was to send. */
  planned: number;
  /** Requests actually sent (the budget's base). */
  sent: number;
  allowed: number;
  spent: number;
  byCause: ErrorBudgetCause[];
  /** allowed - spent; negative when overspent. */
  left: number;
  status: "within budget" | "overspent" | "did not run";
}

export interface ErrorBudgetLedger {
  /** The share of requests allowed to fail, 0..1, or null when the gate sets no error SLO (then nothing is allowed). */
  allowedShare: number | null;
  /** Which SLO gave the share and how it was written: "error_rate <= 0.10%". */
  source: string;
  phases: ErrorBudgetLine[];
  overall: ErrorBudgetLine;
}

function causesOf(phase: PhaseResult): ErrorBudgetCause[] {
  const byStatus = Object.entries(phase.errors.byStatus)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => Number(a) - Number(b) || (a < b ? -1 : 1))
    .map(([status, count]) => ({ cause: `HTTP ${status}`, count }));
  const out = [...byStatus];
  if (phase.errors.timeouts > 0) out.push({ cause: "timeout", count: phase.errors.timeouts });
  if (phase.errors.transport > 0) out.push({ cause: "transport", count: phase.errors.transport });
  return out;
}

function line(scope: string, ran: boolean, planned: number, sent: number, allowed: number, byCause: ErrorBudgetCause[]): ErrorBudgetLine {
  const spent = byCause.reduce((sum, c) => sum + c.count, 0);
  return {
    scope,
    ran,
    planned,
    sent,
    allowed,
    spent,
    byCause,
    left: allowed - spent,
    status: !ran ? "did not run" : spent <= allowed ? "within budget" : "overspent",
  };
}

export function buildErrorBudgetLedger(run: GateRun): ErrorBudgetLedger {
  const { share, source } = allowedErrorShare(run.gate);
  const phases = run.phases.map((phase) => {
    const sent = phase.replay?.samples.length ?? (phase.ran ? phase.requests : 0);
    return line(phase.name, phase.ran, phase.requests, sent, budgetOf(share, sent), phase.ran ? causesOf(phase) : []);
  });
  const merged = new Map<string, number>();
  for (const p of phases) for (const c of p.byCause) merged.set(c.cause, (merged.get(c.cause) ?? 0) + c.count);
  const order = (cause: string): string =>
    cause.startsWith("HTTP ") ? `0${cause.slice(5).padStart(3, "0")}` : cause === "timeout" ? "1" : "2";
  const overallCauses = [...merged.entries()]
    .map(([cause, count]) => ({ cause, count }))
    .sort((a, b) => (order(a.cause) < order(b.cause) ? -1 : order(a.cause) > order(b.cause) ? 1 : 0));
  const sent = phases.reduce((sum, p) => sum + p.sent, 0);
  const overall = line(
    "overall",
    phases.some((p) => p.ran),
    phases.reduce((sum, p) => sum + p.planned, 0),
    sent,
    budgetOf(share, sent),
    overallCauses,
  );
  return { allowedShare: share, source, phases, overall };
}
