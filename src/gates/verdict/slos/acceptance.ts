// acceptance: distinct events the service accepted / distinct events sent, at least the bar.

import { type Slo, formatCount } from "../../model/index.js";
import { barText, EPSILON, result, shareAgainst, shareBar, stated, unmeasured, type SloDefinition } from "./slo.js";

/** How many of `distinctEvents` must be accepted to meet the bar: its share of the error budget. */
export function acceptedNeeded(s: Slo, distinctEvents: number): number {
  return Math.ceil(s.bar * distinctEvents - EPSILON);
}

export const acceptance: SloDefinition<"acceptance"> = stated("acceptance", {
  ...shareBar(">=", `">= 99.9%"`),
  evaluate(s, m) {
    const bar = barText(s);
    if (!(m.distinctEvents > 0)) return unmeasured(s.name, bar, "no distinct events were sent");
    if (m.accepted < 0 || m.accepted > m.distinctEvents) {
      return unmeasured(
        s.name,
        bar,
        `${formatCount(m.accepted)} accepted of ${formatCount(m.distinctEvents)} distinct events sent is impossible; the counts are wrong`,
      );
    }
    const ratio = m.accepted / m.distinctEvents;
    const needed = acceptedNeeded(s, m.distinctEvents);
    const passed = m.accepted >= needed;
    const shown = shareAgainst(ratio, s.bar, passed);
    const display = `${shown} (${formatCount(m.accepted)} of ${formatCount(m.distinctEvents)})`;
    const detail = passed
      ? `acceptance ${shown} >= ${s.display}`
      : `acceptance ${shown} < ${s.display} (${formatCount(m.accepted)} of ${formatCount(m.distinctEvents)} distinct events accepted; ` +
        `${formatCount(needed)} needed, ${formatCount(needed - m.accepted)} short)`;
    return result(s.name, passed ? "PASS" : "FAIL", ratio, display, bar, detail);
  },
});
