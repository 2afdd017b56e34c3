// database_confirmation: the database's own check, judged in every phase that ran. No gate file
// states it, so it is not in the catalogue of objectives (index.ts); evaluatePhase adds it last.

import type { PhaseMeasurement, SloResult } from "../../model/index.js";
import { result, unmeasured } from "./slo.js";

/** The constraint that makes idempotency hold in the database itself. */
const UNIQUE_KEY = /^UNIQUE \(idempotency_key\)$/i;

/**
 * The UNIQUE idempotency key must be present and shown to be enforced by a refused duplicate
 * insert. Declared is not enough; untested is not enforced.
 */
export function databaseConfirmation(m: PhaseMeasurement): SloResult {
  const bar = "UNIQUE (idempotency_key) present and enforced";
  const d = m.database;
  if (!d) return unmeasured("database_confirmation", bar, "no database confirmation");
  const unique = d.constraints.find((c) => UNIQUE_KEY.test(c.definition) && c.present);
  if (!unique) {
    return result(
      "database_confirmation",
      "FAIL",
      0,
      "no UNIQUE (idempotency_key)",
      bar,
      "database_confirmation: no UNIQUE constraint on idempotency_key, so nothing in the database stops an event being stored twice",
    );
  }
  if (!unique.enforced || unique.tested !== true) {
    const why =
      unique.tested !== true ? "it was not tested with a duplicate insert" : `a duplicate insert was not refused (${unique.detail})`;
    return result(
      "database_confirmation",
      "FAIL",
      0,
      `${unique.name} not shown enforced`,
      bar,
      `database_confirmation: ${unique.name} is declared but not shown to be enforced: ${why}`,
    );
  }
  return result(
    "database_confirmation",
    "PASS",
    1,
    `${unique.name} enforced`,
    bar,
    `database_confirmation: ${unique.name} refused a duplicate insert`,
  );
}
