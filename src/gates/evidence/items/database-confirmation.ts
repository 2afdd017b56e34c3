// Evidence item 6: rows stored against events accepted, the constraints that keep the data right, and every
// accepted event missing after the drain.

import { type DatabaseConfirmation, formatCount } from "../../model/index.js";
import { byteOrder } from "../manifest.js";
import { markdownTable } from "../report/report-format.js";
import { phaseCheckItem } from "./report-item.js";

const sortedConstraints = (r: DatabaseConfirmation) => [...r.constraints].sort((a, b) => byteOrder(a.name, b.name));
const yesNo = (ok: boolean) => (ok ? "yes" : "NO");

export const databaseConfirmation = phaseCheckItem({
  id: "database_confirmation",
  number: 6,
  title: "Database confirmation",
  path: "06-database",
  file: "database",
  heading: "# Database confirmation",
  intro:
    "Rows stored against events accepted, the constraints that keep the data right (present and enforced), and every accepted event missing after the drain.",
  slo: "lost_events",
  result: (phase) => phase.database,
  json: (r) => ({
    rowCount: r.rowCount,
    acceptedCount: r.acceptedCount,
    rowsMatchAccepted: r.rowCount === r.acceptedCount,
    constraints: sortedConstraints(r),
    lostEventCount: r.lostEvents.length,
    lostEvents: [...r.lostEvents].sort(byteOrder),
  }),
  markdown: (r, slo) => [
    markdownTable(
      ["Rows in webhook_events", "Distinct events accepted", "Match", "Lost events", "SLO"],
      [
        [
          formatCount(r.rowCount),
          formatCount(r.acceptedCount),
          yesNo(r.rowCount === r.acceptedCount),
          formatCount(r.lostEvents.length),
          slo,
        ],
      ],
    ),
    "",
    "Constraints:",
    "",
    markdownTable(
      ["Constraint", "Definition", "Present", "Enforced", "How it was checked"],
      sortedConstraints(r).map((c) => [c.name, c.definition, yesNo(c.present), yesNo(c.enforced), c.detail]),
      "no constraint was checked",
    ),
    "",
    ...(r.lostEvents.length > 0
      ? ["Every lost event:", "", ...[...r.lostEvents].sort(byteOrder).map((id) => `- \`${id}\``), ""]
      : ["No accepted event is missing.", ""]),
  ],
});
