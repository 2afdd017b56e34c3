// idempotency_violations: events stored more than once + redeliveries answered as new.

import { formatCount } from "../../model/index.js";
import { barText, COUNT_BAR, countResult, stated, unmeasured, type SloDefinition } from "./slo.js";

export const idempotencyViolations: SloDefinition<"idempotency_violations"> = stated("idempotency_violations", {
  ...COUNT_BAR,
  evaluate(s, m, gate) {
    const i = m.idempotency;
    if (!i) return unmeasured(s.name, barText(s), "no idempotency report");
    if (gate.corpus.redeliveryShare > 0 && i.redeliveriesSent === 0) {
      return unmeasured(s.name, barText(s), "no redeliveries were sent, so idempotency was not exercised");
    }
    const count = i.storedMoreThanOnce + i.answeredNew;
    return countResult(
      s,
      count,
      `${formatCount(i.storedMoreThanOnce)} stored more than once, ${formatCount(i.answeredNew)} redeliveries answered as new`,
    );
  },
});
