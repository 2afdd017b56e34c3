// Evidence item 5: per ordering key, events must be applied in the database in their sequence order.

import { type OrderingReport, formatCount } from "../../model/index.js";
import { byteOrder } from "../manifest.js";
import { markdownListing, markdownTable } from "../report/report-format.js";
import { phaseCheckItem } from "./report-item.js";

const sortedGaps = (r: OrderingReport) => [...r.gaps].sort((a, b) => byteOrder(a.orderingKey, b.orderingKey) || a.fromSeq - b.fromSeq);
const sortedViolations = (r: OrderingReport) => [...r.violations].sort((a, b) => byteOrder(a.orderingKey, b.orderingKey));

export const orderingReport = phaseCheckItem({
  id: "ordering_report",
  number: 5,
  title: "Ordering validation report",
  path: "05-ordering",
  file: "ordering",
  heading: "# Ordering validation",
  intro: "Per ordering key, the order events were applied in the database must be their sequence order.",
  slo: "ordering_violations",
  result: (phase) => phase.ordering,
  json: (r) => ({
    keysChecked: r.keysChecked,
    eventsChecked: r.eventsChecked,
    eventsPerKey: r.eventsPerKey,
    gaps: sortedGaps(r),
    violationCount: r.violations.length,
    violations: sortedViolations(r),
  }),
  markdown: (r, slo) => [
    markdownTable(
      ["Keys checked", "Events checked", "Events per key (min / median / max)", "Gaps", "Violations", "SLO"],
      [
        [
          formatCount(r.keysChecked),
          formatCount(r.eventsChecked),
          `${r.eventsPerKey.min} / ${r.eventsPerKey.median} / ${r.eventsPerKey.max}`,
          formatCount(r.gaps.length),
          formatCount(r.violations.length),
          slo,
        ],
      ],
    ),
    "",
    ...markdownListing(
      "Every violation:",
      ["Ordering key", "Expected order (seq)", "Actual order (seq)"],
      sortedViolations(r).map((v) => [v.orderingKey, v.expected.join(", "), v.actual.join(", ")]),
      ["No violation.", ""],
    ),
    ...markdownListing(
      "Sequence gaps (events missing between two stored ones):",
      ["Ordering key", "From seq", "To seq"],
      sortedGaps(r).map((g) => [g.orderingKey, g.fromSeq, g.toSeq]),
    ),
  ],
});
