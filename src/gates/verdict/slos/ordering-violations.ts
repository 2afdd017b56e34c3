// ordering_violations: ordering keys whose events were applied out of sequence order.

import { formatCount } from "../../model/index.js";
import { barText, COUNT_BAR, countResult, stated, unmeasured, type SloDefinition } from "./slo.js";

export const orderingViolations: SloDefinition<"ordering_violations"> = stated("ordering_violations", {
  ...COUNT_BAR,
  evaluate(s, m) {
    const o = m.ordering;
    if (!o) return unmeasured(s.name, barText(s), "no ordering report");
    if (!(o.eventsChecked > 0)) return unmeasured(s.name, barText(s), "no ordered events were checked");
    const first = o.violations[0];
    const example = first ? `; first: key ${first.orderingKey} applied [${first.actual.slice(0, 5).join(", ")}...]` : "";
    return countResult(
      s,
      o.violations.length,
      `${formatCount(o.violations.length)} of ${formatCount(o.keysChecked)} keys applied out of sequence order${example}`,
    );
  },
});
