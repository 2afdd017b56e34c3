// latency_p95: the 95th percentile of request latency, judged on two confidence intervals (exact,
// and windowed for correlated samples), upper bounds at the run's level. Every
// phase states its own bar, so it is judged even in a gate file whose objectives leave it out.

import { judgeP95 } from "../replay-validity.js";
import { confidenceLabel, DEFAULT_ONE_SIDED_ALPHA } from "../statistics.js";
import { formatCount, formatMs, parseDuration } from "../../model/index.js";
import { objectiveOf, result, unmeasured, type SloDefinition } from "./slo.js";

const EXAMPLE = `"<= 120ms"`;

export const latencyP95: SloDefinition<"latency_p95"> = {
  name: "latency_p95",
  comparators: ["<="],
  example: EXAMPLE,
  parseBar(display) {
    const bar = parseDuration(display);
    if (bar <= 0) throw new Error(`a P95 bar of ${display} can never be met; expected a duration above 0, such as ${EXAMPLE}`);
    return bar;
  },
  judge(gate, phase) {
    const gateBar = objectiveOf(gate, "latency_p95");
    // The phase's own bar and the gate-wide one both apply; the tighter decides.
    const barMs = gateBar ? Math.min(phase.latencyP95Ms, gateBar.bar) : phase.latencyP95Ms;
    const whose = gateBar && gateBar.bar < phase.latencyP95Ms ? "gate-wide bar" : "phase bar";
    const bar = `<= ${formatMs(barMs)}`;
    return {
      bar,
      evaluate(m) {
        if (!m.replay) return unmeasured("latency_p95", bar, "no replay was recorded");
        const l = m.latency;
        if (!l || !(l.n > 0)) return unmeasured("latency_p95", bar, "no latency samples");
        const [lower, upper] = l.p95Ci;
        if (![l.p95, lower].every(Number.isFinite) || Number.isNaN(upper) || upper < l.p95 || lower > l.p95) {
          return unmeasured("latency_p95", bar, `the P95 confidence interval [${lower}, ${upper}] is not usable`);
        }
        const shownUpper = Number.isFinite(upper) ? formatMs(upper) : "unbounded";
        const windowed = l.p95CiBatch
          ? `windowed ${formatMs(l.p95CiBatch[0])}-${formatMs(l.p95CiBatch[1])}${l.effectiveSampleSize === null ? "" : `, ESS ${formatCount(Math.round(l.effectiveSampleSize))}`}`
          : "no windowed CI";
        // A run judged at a stricter level says so, with the upper bounds it was judged on.
        const pass = l.passBounds;
        const level =
          pass.oneSidedAlpha === DEFAULT_ONE_SIDED_ALPHA
            ? ""
            : `; upper at ${confidenceLabel(pass.oneSidedAlpha)}: ${Number.isFinite(pass.exact) ? formatMs(pass.exact) : "unbounded"}` +
              `${pass.batch === null ? "" : `, windowed ${formatMs(pass.batch)}`}`;
        const display = `${formatMs(l.p95)} (95% CI ${formatMs(lower)}-${shownUpper}; ${windowed}${level}; n=${formatCount(l.n)})`;
        // The asymmetric rule (replay-validity.ts): a PASS needs the rate held, a FAIL survives a late driver.
        const judged = judgeP95(l, barMs, m.replay.schedule, whose, m.contention);
        return result("latency_p95", judged.verdict, l.p95, display, bar, judged.detail);
      },
    };
  },
};
