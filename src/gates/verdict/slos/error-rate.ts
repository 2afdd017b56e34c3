// error_rate: (non-2xx answers + transport errors + timeouts) / requests sent, at most the bar.

import { formatCount } from "../../model/index.js";
import { barText, EPSILON, result, shareAgainst, shareBar, stated, unmeasured, type SloDefinition } from "./slo.js";

/** floor(share x requests): the failed requests a share allows, with a hair of slack so 0.001 x 30000 is 30. */
export function errorsAllowed(share: number, requests: number): number {
  return Math.floor(share * requests + EPSILON);
}

export const errorRate: SloDefinition<"error_rate"> = stated("error_rate", {
  ...shareBar("<=", `"<= 0.10%"`),
  evaluate(s, m) {
    const bar = barText(s);
    if (!m.replay) return unmeasured(s.name, bar, "no replay was recorded");
    const sent = m.replay.samples.length;
    if (sent === 0) return unmeasured(s.name, bar, "no requests were sent");
    // Only non-2xx statuses are errors, whatever the breakdown holds.
    const byStatus = Object.entries(m.errors.byStatus).filter(([status]) => !/^2\d\d$/.test(status));
    const errors = byStatus.reduce((sum, [, n]) => sum + n, 0) + m.errors.timeouts + m.errors.transport;
    const ratio = errors / sent;
    const allowed = errorsAllowed(s.bar, sent);
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
    const detail = `error_rate ${shown} > ${s.display} (${formatCount(errors)} errors in ${formatCount(sent)} requests: ${causes}; at most ${formatCount(allowed)} allowed)`;
    return result(s.name, "FAIL", ratio, display, bar, detail);
  },
});
