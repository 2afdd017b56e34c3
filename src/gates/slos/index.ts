// The SLO catalogue: every objective a gate file may state, in the order tables show them and
// phases are judged. A new SLO is one module in this folder and one line here.

import type { Comparator } from "../gate.js";
import { acceptance } from "./acceptance.js";
import { errorRate } from "./error-rate.js";
import { idempotencyViolations } from "./idempotency-violations.js";
import { latencyP95 } from "./latency-p95.js";
import { lostEvents } from "./lost-events.js";
import { orderingViolations } from "./ordering-violations.js";
import type { SloDefinition } from "./slo.js";

const catalogue = {
  latency_p95: latencyP95,
  acceptance,
  error_rate: errorRate,
  idempotency_violations: idempotencyViolations,
  ordering_violations: orderingViolations,
  lost_events: lostEvents,
};

/** latency_p95, acceptance, error_rate, idempotency_violations, ordering_violations, lost_events. */
export type SloName = keyof typeof catalogue;

/** Each SLO filed under its own name, so a misfiled entry fails to compile. */
export const SLOS = catalogue satisfies { [N in SloName]: SloDefinition<N> };

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
