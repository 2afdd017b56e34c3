// What an SLO is to the gate: how a gate file writes its bar, and how it judges a phase. One module
// per SLO in this folder, registered in index.ts; the result helpers they share live here.

import {
  type Comparator,
  type Gate,
  type Phase,
  type Slo,
  type PhaseMeasurement,
  type SloResult,
  type Verdict,
  formatCount,
  formatPercent,
  parseCount,
  parsePercent,
} from "../../model/index.js";
import type { BaselineRun } from "../baseline-run.js";

/** How a gate file writes an objective's bar: the comparator, then the bar as people write it. */
export interface BarSyntax {
  /** The comparators the objective may be held to. */
  comparators: readonly Comparator[];
  /** A comparison as people write it, quoted in error messages: `"<= 120ms"`. */
  example: string;
  /** The bar as written after the comparator, in canonical units; throws saying what was expected. */
  parseBar(display: string, comparator: Comparator): number;
}

/** What a run brings to its judgement besides the phase's own measurement. */
export interface JudgementContext {
  /** The run the candidate is compared with (`baseline:`); absent when there is none. */
  baseline?: BaselineRun;
}

/** How an objective judges one phase of a gate. */
export interface Judgement {
  /** The bar as results show it: "<= 20ms", ">= 99.9%". */
  bar: string;
  /** The result for a phase that ran; null when this run has nothing to judge it against (no baseline). */
  evaluate(m: PhaseMeasurement, context?: JudgementContext): SloResult | null;
}

export interface SloDefinition<N extends string = string> extends BarSyntax {
  /** The name gate files, tables and JSON use. */
  name: N;
  /** How it judges a phase of the gate; undefined when the gate leaves it out. */
  judge(gate: Gate, phase: Phase): Judgement | undefined;
}

/** An objective judged only when the gate file states it, against its bar as written. */
export function stated<N extends string>(
  name: N,
  spec: BarSyntax & { evaluate(s: Slo, m: PhaseMeasurement, gate: Gate, phase: Phase): SloResult },
): SloDefinition<N> {
  const { evaluate, ...syntax } = spec;
  return {
    name,
    ...syntax,
    judge(gate, phase) {
      const s = objectiveOf(gate, name);
      return s && { bar: barText(s), evaluate: (m) => evaluate(s, m, gate, phase) };
    },
  };
}

/** The gate file's objective of that name, if it states one. */
export function objectiveOf(gate: Gate, name: string): Slo | undefined {
  return gate.slos.find((s) => s.name === name);
}

/** Violation counts: none ("== 0") or an allowance ("<= 5"). */
export const COUNT_BAR: BarSyntax = {
  comparators: ["==", "<="],
  example: `"== 0" or "<= 5"`,
  parseBar(display, comparator) {
    const bar = parseCount(display);
    if (comparator === "==" && bar !== 0)
      throw new Error(`"== ${display}" would fail with fewer violations; expected "== 0", or "<= ${display}" for an allowance`);
    return bar;
  },
};

/** A share of requests or events ("99.9%", "0.10%"), held to one comparator. */
export function shareBar(comparator: Comparator, example: string): BarSyntax {
  return { comparators: [comparator], example, parseBar: (display) => parsePercent(display) };
}

// Bars are compared as counts, not ratios: 0.999 * 30000 is 29970.000000000004 in floating point.
export const EPSILON = 1e-9;

/**
 * A share shown with enough decimals to sit on the right side of its bar: 29,370 of 29,400 is
 * 99.898%, and "99.90% < 99.9%" would read as a contradiction.
 */
export function shareAgainst(ratio: number, bar: number, passed: boolean): string {
  for (let d = 2; d < 6; d++) {
    const shown = Number((ratio * 100).toFixed(d));
    const agrees = passed || (ratio < bar ? shown < bar * 100 : shown > bar * 100);
    if (agrees) return formatPercent(ratio, d);
  }
  return formatPercent(ratio, 6);
}

export function result(
  name: string,
  verdict: Verdict,
  measured: number | null,
  measuredDisplay: string,
  bar: string,
  detail: string,
): SloResult {
  return { name, measured, measuredDisplay, bar, verdict, detail };
}

export function unmeasured(name: string, bar: string, why: string): SloResult {
  return result(name, "ERROR", null, "not measured", bar, `${name} not measured: ${why}`);
}

/** "<= 0.10%": the comparison as the gate file wrote it. */
export function barText(s: Slo): string {
  return `${s.comparator} ${s.display}`;
}

/** A violation count against its bar; `detail` says what was counted when it fails. */
export function countResult(s: Slo, count: number, detail: string): SloResult {
  const bar = barText(s);
  const display = formatCount(count);
  if (count <= s.bar) return result(s.name, "PASS", count, display, bar, `${s.name} ${display} ${s.comparator} ${s.display}`);
  return result(s.name, "FAIL", count, display, bar, `${s.name} ${display} > ${formatCount(s.bar)} (${detail})`);
}
