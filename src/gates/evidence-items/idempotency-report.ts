// Evidence item 4: redeliveries re-send an earlier webhook-id; each must be answered as a duplicate and stored once.

import type { GateRun } from "../gate-run.js";
import { byteOrder } from "../manifest.js";
import { markdownTable } from "../report-format.js";
import { formatCount } from "../units.js";
import { absentNote, reportItem, sloCell, sloOf } from "./report-item.js";

export const idempotencyReport = reportItem({
  id: "idempotency_report",
  number: 4,
  title: "Idempotency validation report",
  path: "04-idempotency",
  file: "idempotency",
  render: (run) => ({ json: idempotencyDocument(run), markdown: idempotencyMarkdown(run) }),
});

function idempotencyDocument(run: GateRun): unknown {
  return {
    item: "idempotency",
    phases: run.phases.map((phase) => {
      const r = phase.idempotency;
      if (!r)
        return {
          phase: phase.name,
          ran: phase.ran,
          checked: false,
          note: absentNote(phase, "idempotency report"),
          slo: sloOf(phase, "idempotency_violations"),
        };
      return {
        phase: phase.name,
        ran: phase.ran,
        checked: true,
        redeliveriesSent: r.redeliveriesSent,
        answeredDuplicate: r.answeredDuplicate,
        answeredNew: r.answeredNew,
        storedMoreThanOnce: r.storedMoreThanOnce,
        violationCount: r.violations.length,
        violations: [...r.violations].sort((a, b) => byteOrder(a.kind, b.kind) || byteOrder(a.eventId, b.eventId)),
        slo: sloOf(phase, "idempotency_violations"),
      };
    }),
  };
}

function idempotencyMarkdown(run: GateRun): string {
  const out = [
    "# Idempotency validation",
    "",
    "Redeliveries re-send an earlier `webhook-id`; each must be answered as a duplicate and stored once.",
    "",
  ];
  for (const phase of run.phases) {
    out.push(`## ${phase.name}`, "");
    const r = phase.idempotency;
    if (!r) {
      out.push(absentNote(phase, "idempotency report"), "");
      continue;
    }
    const slo = sloOf(phase, "idempotency_violations");
    out.push(
      markdownTable(
        ["Redeliveries sent", "Answered as duplicate", "Answered as new", "Events stored more than once", "Violations", "SLO"],
        [
          [
            formatCount(r.redeliveriesSent),
            formatCount(r.answeredDuplicate),
            formatCount(r.answeredNew),
            formatCount(r.storedMoreThanOnce),
            formatCount(r.violations.length),
            sloCell(slo),
          ],
        ],
      ),
      "",
    );
    if (r.violations.length > 0) {
      out.push(
        "Every violation:",
        "",
        markdownTable(
          ["Event id", "Kind", "Detail"],
          [...r.violations]
            .sort((a, b) => byteOrder(a.kind, b.kind) || byteOrder(a.eventId, b.eventId))
            .map((v) => [v.eventId, v.kind, v.detail]),
        ),
        "",
      );
    } else out.push("No violation.", "");
  }
  return out.join("\n");
}
