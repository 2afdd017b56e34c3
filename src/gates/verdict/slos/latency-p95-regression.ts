// latency_p95_regression: the candidate's P95 against the baseline run's (`baseline: last_go`), as a ratio, judged
// on its block-bootstrap interval (p95-ratio-interval.ts): PASS when the upper bound is within 1 + bar, FAIL when
// the lower bound is over it, INCONCLUSIVE in between or when there is too little data to tell.

import { type SloResult, formatCount, formatMs } from "../../model/index.js";
import type { BaselineRun } from "../baseline-run.js";
import { p95RatioInterval, type RatioIntervalOptions, type TimedLatency } from "../p95-ratio-interval.js";
import { barText, objectiveOf, result, unmeasured, type SloDefinition } from "./slo.js";

const NAME = "latency_p95_regression";
const EXAMPLE = `"<= +15%"`;

/** "+15%" -> 0.15: how much slower than the baseline the candidate's P95 may be. The + is optional, a - is refused. */
export function parseRegressionBar(display: string): number {
  const m = /^\+?(\d+(?:\.\d+)?|\.\d+)%$/.exec(display.trim());
  if (!m) {
    if (/^-/.test(display.trim())) {
      throw new Error(
        `a regression bar of ${display} would fail a candidate as fast as its baseline; expected a growth of 0% or more, such as ${EXAMPLE}`,
      );
    }
    throw new Error(`"${display}" is not a growth in percent; expected the candidate's P95 over the baseline's, such as ${EXAMPLE}`);
  }
  const share = Number(m[1]) / 100;
  if (share > 10) throw new Error(`a regression bar of ${display} allows a P95 over 11 times the baseline's; expected at most +1000%`);
  return Number(share.toPrecision(12));
}

/** "1.07x" for a ratio, "+7.0%" for its growth. */
function growth(ratio: number): string {
  if (!Number.isFinite(ratio)) return "unbounded";
  const pct = (ratio - 1) * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%`;
}

export interface RegressionInput {
  /** The candidate's requests in this phase. */
  candidate: readonly TimedLatency[];
  /** The baseline's requests in the same phase. */
  baseline: readonly TimedLatency[];
  /** The allowed growth of P95 (0.15 for "+15%"). */
  bar: number;
  /** The bar as the gate file wrote it ("<= +15%"), quoted in results. */
  barText: string;
  /** The baseline run, named in the detail. */
  baselineRun: Pick<BaselineRun, "runId" | "commit">;
  /** Did the candidate's replay hold its offered rate? A PASS needs it; a FAIL survives without it. */
  rateHeld: boolean;
  interval?: RatioIntervalOptions;
}

/** The judgement itself, pure: the calibration bench calls it on pairs of runs as the gate does on a run. */
export function judgeRegression(i: RegressionInput): SloResult {
  const limit = 1 + i.bar;
  const against = `baseline run ${i.baselineRun.runId} (commit ${i.baselineRun.commit.slice(0, 12)})`;
  const ci = p95RatioInterval(i.candidate, i.baseline, { label: NAME, ...i.interval });
  if (!ci.ok) {
    return result(
      NAME,
      "INCONCLUSIVE",
      null,
      `too few requests (${formatCount(ci.n.candidate)} vs ${formatCount(ci.n.baseline)})`,
      i.barText,
      `${NAME} cannot tell: ${ci.why}; compared with ${against}`,
    );
  }
  const display =
    `${growth(ci.ratio)} (P95 ${formatMs(ci.baselineP95)} → ${formatMs(ci.candidateP95)}; 95% CI ${growth(ci.lower)} to ${growth(ci.upper)}, ` +
    `block bootstrap, ${ci.blocks.candidate}+${ci.blocks.baseline} windows of ${formatMs(ci.blockMs)})`;
  const shown = `P95 ratio ${ci.ratio.toFixed(3)} (95% CI ${ci.lower.toFixed(3)}-${ci.upper.toFixed(3)})`;
  if (ci.lower > limit) {
    return result(
      NAME,
      "FAIL",
      ci.ratio,
      display,
      i.barText,
      `${NAME} ${shown}: even the lower bound is over ${limit.toFixed(3)} (${i.barText} of ${against})`,
    );
  }
  if (ci.upper <= limit && i.rateHeld) {
    return result(
      NAME,
      "PASS",
      ci.ratio,
      display,
      i.barText,
      `${NAME} ${shown}: the upper bound is within ${limit.toFixed(3)} (${i.barText} of ${against})`,
    );
  }
  const why =
    ci.upper <= limit
      ? "the upper bound is within the bar, but the replay did not hold its offered rate, so a PASS cannot stand"
      : `the interval straddles ${limit.toFixed(3)}: the runs cannot tell a regression over the bar from noise`;
  return result(NAME, "INCONCLUSIVE", ci.ratio, display, i.barText, `${NAME} ${shown}: ${why} (${i.barText} of ${against})`);
}

export const latencyP95Regression: SloDefinition<"latency_p95_regression"> = {
  name: NAME,
  comparators: ["<="],
  example: EXAMPLE,
  parseBar: (display) => parseRegressionBar(display),
  judge(gate) {
    const s = objectiveOf(gate, NAME);
    if (!s) return undefined;
    const bar = barText(s);
    return {
      bar,
      evaluate(m, context): SloResult | null {
        const baseline = context?.baseline;
        if (!baseline) return null; // not compared: the run says so (NO_BASELINE) in its summary and war room
        const phase = baseline.phases.find((p) => p.name === m.name);
        if (!phase) return unmeasured(NAME, bar, `the baseline run ${baseline.runId} has no ${m.name} phase to compare with`);
        if (!m.replay || m.replay.samples.length === 0) return unmeasured(NAME, bar, "no replay was recorded");
        return judgeRegression({
          candidate: m.replay.samples,
          baseline: phase.samples,
          bar: s.bar,
          barText: bar,
          baselineRun: baseline,
          rateHeld: m.replay.schedule?.rateHeld === true,
        });
      },
    };
  },
};
