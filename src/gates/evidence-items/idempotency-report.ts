// Evidence item 4: redeliveries re-send an earlier webhook-id; each must be answered as a duplicate and stored once.

import type { IdempotencyReport } from "../gate-run.js";
import { byteOrder } from "../manifest.js";
import { markdownTable } from "../report-format.js";
import { formatCount } from "../units.js";
import { phaseCheckItem } from "./report-item.js";

const sortedViolations = (r: IdempotencyReport) =>
  [...r.violations].sort((a, b) => byteOrder(a.kind, b.kind) || byteOrder(a.eventId, b.eventId));

export const idempotencyReport = phaseCheckItem({
  id: "idempotency_report",
  number: 4,
  title: "Idempotency validation report",
  path: "04-idempotency",
  file: "idempotency",
  heading: "# Idempotency validation",
  intro: "Redeliveries re-send an earlier `webhook-id`; each must be answered as a duplicate and stored once.",
  slo: "idempotency_violations",
  result: (phase) => phase.idempotency,
  json: (r) => ({
    redeliveriesSent: r.redeliveriesSent,
    answeredDuplicate: r.answeredDuplicate,
    answeredNew: r.answeredNew,
    storedMoreThanOnce: r.storedMoreThanOnce,
    violationCount: r.violations.length,
    violations: sortedViolations(r),
  }),
  markdown: (r, slo) => [
    markdownTable(
      ["Redeliveries sent", "Answered as duplicate", "Answered as new", "Events stored more than once", "Violations", "SLO"],
      [
        [r.redeliveriesSent, r.answeredDuplicate, r.answeredNew, r.storedMoreThanOnce, r.violations.length]
          .map((n) => formatCount(n))
          .concat(slo),
      ],
    ),
    "",
    ...(r.violations.length > 0
      ? [
          "Every violation:",
          "",
          markdownTable(
            ["Event id", "Kind", "Detail"],
            sortedViolations(r).map((v) => [v.eventId, v.kind, v.detail]),
          ),
          "",
        ]
      : ["No violation.", ""]),
  ],
});
