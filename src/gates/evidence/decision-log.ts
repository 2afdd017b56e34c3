// The war room's decision log as the bundle keeps it: every decision about the gate, with its authority and
// rationale, in the order made. The sign-off appends to it ("Gate A GO", "NO-GO acknowledged").

import { EvidenceError } from "./evidence-error.js";
import type { Decision } from "../model/index.js";
import { renderDecisionLog } from "../war-room/index.js";

export interface DecisionLog {
  item: "decisions";
  decisions: Decision[];
}

function canonical(d: Decision): Decision {
  return { time: d.time, title: d.title, authority: d.authority, decision: d.decision, rationale: d.rationale };
}

export function decisionLogOf(decisions: readonly Decision[]): DecisionLog {
  return { item: "decisions", decisions: decisions.map(canonical) };
}

/** The log with one more decision; null when that exact decision is already recorded. */
export function withDecision(log: DecisionLog, decision: Decision): DecisionLog | null {
  const d = canonical(decision);
  if (log.decisions.some((x) => JSON.stringify(x) === JSON.stringify(d))) return null;
  return { item: "decisions", decisions: [...log.decisions, d] };
}

export function parseDecisionLog(text: string, file: string): DecisionLog {
  const value = JSON.parse(text) as Partial<DecisionLog>;
  if (value?.item !== "decisions" || !Array.isArray(value.decisions)) {
    throw new EvidenceError(
      "bad_decision_log",
      `${file} is not a decision log written by gate (expected "item": "decisions" and "decisions")`,
    );
  }
  return decisionLogOf(value.decisions);
}

/** decision-log.md: the war room's own layout (Decision #n with time, authority, decision, rationale). */
export function decisionLogMarkdown(log: DecisionLog): string {
  return `${renderDecisionLog(log.decisions)}\n`;
}
