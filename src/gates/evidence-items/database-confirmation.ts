// Evidence item 6: rows stored against events accepted, the constraints that keep the data right, and every
// accepted event missing after the drain.

import type { GateRun } from "../gate-run.js";
import { byteOrder } from "../manifest.js";
import { markdownTable } from "../report-format.js";
import { formatCount } from "../units.js";
import { absentNote, reportItem, sloCell, sloOf } from "./report-item.js";

export const databaseConfirmation = reportItem({
  id: "database_confirmation",
  number: 6,
  title: "Database confirmation",
  path: "06-database",
  file: "database",
  render: (run) => ({ json: databaseDocument(run), markdown: databaseMarkdown(run) }),
});

function databaseDocument(run: GateRun): unknown {
  return {
    item: "database",
    phases: run.phases.map((phase) => {
      const r = phase.database;
      if (!r)
        return {
          phase: phase.name,
          ran: phase.ran,
          checked: false,
          note: absentNote(phase, "database confirmation"),
          slo: sloOf(phase, "lost_events"),
        };
      return {
        phase: phase.name,
        ran: phase.ran,
        checked: true,
        rowCount: r.rowCount,
        acceptedCount: r.acceptedCount,
        rowsMatchAccepted: r.rowCount === r.acceptedCount,
        constraints: [...r.constraints].sort((a, b) => byteOrder(a.name, b.name)),
        lostEventCount: r.lostEvents.length,
        lostEvents: [...r.lostEvents].sort(byteOrder),
        slo: sloOf(phase, "lost_events"),
      };
    }),
  };
}

function databaseMarkdown(run: GateRun): string {
  const out = [
    "# Database confirmation",
    "",
    "Rows stored against events accepted, the constraints that keep the data right (present and enforced), and every accepted event missing after the drain.",
    "",
  ];
  for (const phase of run.phases) {
    out.push(`## ${phase.name}`, "");
    const r = phase.database;
    if (!r) {
      out.push(absentNote(phase, "database confirmation"), "");
      continue;
    }
    const slo = sloOf(phase, "lost_events");
    out.push(
      markdownTable(
        ["Rows in webhook_events", "Distinct events accepted", "Match", "Lost events", "SLO"],
        [
          [
            formatCount(r.rowCount),
            formatCount(r.acceptedCount),
            r.rowCount === r.acceptedCount ? "yes" : "NO",
            formatCount(r.lostEvents.length),
            sloCell(slo),
          ],
        ],
      ),
      "",
      "Constraints:",
      "",
      markdownTable(
        ["Constraint", "Definition", "Present", "Enforced", "How it was checked"],
        [...r.constraints]
          .sort((a, b) => byteOrder(a.name, b.name))
          .map((c) => [c.name, c.definition, c.present ? "yes" : "NO", c.enforced ? "yes" : "NO", c.detail]),
        "no constraint was checked",
      ),
      "",
    );
    if (r.lostEvents.length > 0) out.push("Every lost event:", "", ...[...r.lostEvents].sort(byteOrder).map((id) => `- \`${id}\``), "");
    else out.push("No accepted event is missing.", "");
  }
  return out.join("\n");
}
