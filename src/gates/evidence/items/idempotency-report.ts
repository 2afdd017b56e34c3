// Evidence item 4: redeliveries re-send an earlier webhook-id; each must be answered as a duplicate and stored once.

import { type IdempotencyReport, formatCount } from "../../model/index.js";
import { byteOrder } from "../manifest.js";
import { markdownListing, markdownTable } from "../report/report-format.js";
import { phaseCheckItem } from "./report-item.js";

const sortedViolations = (r: IdempotencyReport) =>
  [...r.violations].sort((a, b) => byteOrder(a.kind, b.kind) || byteOrder(a.eventId, b.eventId));

/** The report's counts, in the order of its JSON document and table, with their column headers. */
const COUNT_HEADERS = {
  redeliveriesSent: "Redeliveries sent",
  answeredDuplicate: "Answered as duplicate",
  answeredNew: "Answered as new",
  storedMoreThanOnce: "Events stored more than once",
} as const;
const COUNTED = Object.keys(COUNT_HEADERS) as (keyof typeof COUNT_HEADERS)[];

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
    ...Object.fromEntries(COUNTED.map((key) => [key, r[key]])),
    violationCount: r.violations.length,
    violations: sortedViolations(r),
  }),
  markdown: (r, slo) => [
    markdownTable(
      [...COUNTED.map((key) => COUNT_HEADERS[key]), "Violations", "SLO"],
      [[...COUNTED.map((key) => r[key]), r.violations.length].map((n) => formatCount(n)).concat(slo)],
    ),
    "",
    ...markdownListing(
      "Every violation:",
      ["Event id", "Kind", "Detail"],
      sortedViolations(r).map((v) => [v.eventId, v.kind, v.detail]),
      ["No violation.", ""],
    ),
  ],
});
