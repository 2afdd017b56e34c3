// The SLO catalogue: every objective a gate file may state, in the order tables show them and
// phases are judged. A new SLO is its name in model/slo-name.ts, one module in this folder and one line here
// (docs/architecture.md, "Add an SLO").

import type { Comparator, SloName } from "../../model/index.js";
import { acceptance } from "./acceptance.js";
import { errorRate } from "./error-rate.js";
import { idempotencyViolations } from "./idempotency-violations.js";
import { latencyP95 } from "./latency-p95.js";
import { latencyP95Regression } from "./latency-p95-regression.js";
import { lostEvents } from "./lost-events.js";
import { orderingViolations } from "./ordering-violations.js";
import type { SloDefinition } from "./slo.js";

/** Each SLO filed under its own name: a name of model/slo-name.ts missing here, or an entry not named there, fails to compile. */
export const SLOS = {
  latency_p95: latencyP95,
  acceptance,
  error_rate: errorRate,
  idempotency_violations: idempotencyViolations,
  ordering_violations: orderingViolations,
  lost_events: lostEvents,
  latency_p95_regression: latencyP95Regression,
} satisfies { [N in SloName]: SloDefinition<N> };

export type { SloName };

/** The objectives in the catalogue's order: the order of verdict tables. */
export const SLO_NAMES = Object.keys(SLOS) as SloName[];

/** `"<= 120ms"`, `">= 99.9%"`, `"== 0"`: the comparator first, then the bar as people write it. */
export function comparison(name: SloName): (raw: unknown) => { comparator: Comparator; bar: number; display: string } {
  const { comparators, example, parseBar } = SLOS[name];
  return (raw) => {
    const m = typeof raw === "string" ? /^\s*(<=|>=|==)\s*(\S.*?)\s*$/.exec(raw) : null;
    if (!m) {
      throw new Error(`${JSON.stringify(raw)} is not a comparison; expected a comparator and a bar, such as ${example}`);
    }
    const comparator = m[1] as Comparator;
    const display = m[2]!;
    if (!comparators.includes(comparator)) {
      throw new Error(`${name} cannot be held to "${comparator}"; expected ${example}`);
    }
    return { comparator, bar: parseBar(display, comparator), display };
  };
}
export { acceptedNeeded } from "./acceptance.js";
export { databaseConfirmation } from "./database-check.js";
export { errorsAllowed } from "./error-rate.js";
export { barText, type JudgementContext, objectiveOf, result } from "./slo.js";
