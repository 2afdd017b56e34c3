// latency_p95: the 95th percentile of request latency, judged on its confidence interval. Every
// phase states its own bar, so it is judged even in a gate file whose objectives leave it out.

import { judgeP95 } from "../replay/replay-validity.js";
import { formatCount, formatMs, parseDuration } from "../units.js";
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
        const display = `${formatMs(l.p95)} (95% CI ${formatMs(lower)}-${shownUpper}, n=${formatCount(l.n)})`;
        // The asymmetric rule (replay-validity.ts): a PASS needs the rate held, a FAIL survives a late driver.
        const judged = judgeP95(l, barMs, m.replay.schedule, whose, m.contention);
        return result("latency_p95", judged.verdict, l.p95, display, bar, judged.detail);
      },
    };
  },
};
