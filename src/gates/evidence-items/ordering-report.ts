// Evidence item 5: per ordering key, events must be applied in the database in their sequence order.

import type { GateRun } from "../gate-run.js";
import { byteOrder } from "../manifest.js";
import { markdownTable } from "../report-format.js";
import { formatCount } from "../units.js";
import { absentNote, reportItem, sloCell, sloOf } from "./report-item.js";

export const orderingReport = reportItem({
  id: "ordering_report",
  number: 5,
  title: "Ordering validation report",
  path: "05-ordering",
  file: "ordering",
  render: (run) => ({ json: orderingDocument(run), markdown: orderingMarkdown(run) }),
});

function orderingDocument(run: GateRun): unknown {
  return {
    item: "ordering",
    phases: run.phases.map((phase) => {
      const r = phase.ordering;
      if (!r)
        return {
          phase: phase.name,
          ran: phase.ran,
          checked: false,
          note: absentNote(phase, "ordering report"),
          slo: sloOf(phase, "ordering_violations"),
        };
      return {
        phase: phase.name,
        ran: phase.ran,
        checked: true,
        keysChecked: r.keysChecked,
        eventsChecked: r.eventsChecked,
        eventsPerKey: r.eventsPerKey,
        gaps: [...r.gaps].sort((a, b) => byteOrder(a.orderingKey, b.orderingKey) || a.fromSeq - b.fromSeq),
        violationCount: r.violations.length,
        violations: [...r.violations].sort((a, b) => byteOrder(a.orderingKey, b.orderingKey)),
        slo: sloOf(phase, "ordering_violations"),
      };
    }),
  };
}

function orderingMarkdown(run: GateRun): string {
  const out = [
    "# Ordering validation",
    "",
    "Per ordering key, the order events were applied in the database must be their sequence order.",
    "",
  ];
  for (const phase of run.phases) {
    out.push(`## ${phase.name}`, "");
    const r = phase.ordering;
    if (!r) {
      out.push(absentNote(phase, "ordering report"), "");
      continue;
    }
    const slo = sloOf(phase, "ordering_violations");
    out.push(
      markdownTable(
        ["Keys checked", "Events checked", "Events per key (min / median / max)", "Gaps", "Violations", "SLO"],
        [
          [
            formatCount(r.keysChecked),
            formatCount(r.eventsChecked),
            `${r.eventsPerKey.min} / ${r.eventsPerKey.median} / ${r.eventsPerKey.max}`,
            formatCount(r.gaps.length),
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
          ["Ordering key", "Expected order (seq)", "Actual order (seq)"],
          [...r.violations]
            .sort((a, b) => byteOrder(a.orderingKey, b.orderingKey))
            .map((v) => [v.orderingKey, v.expected.join(", "), v.actual.join(", ")]),
        ),
        "",
      );
    } else out.push("No violation.", "");
    if (r.gaps.length > 0) {
      out.push(
        "Sequence gaps (events missing between two stored ones):",
        "",
        markdownTable(
          ["Ordering key", "From seq", "To seq"],
          [...r.gaps]
            .sort((a, b) => byteOrder(a.orderingKey, b.orderingKey) || a.fromSeq - b.fromSeq)
            .map((g) => [g.orderingKey, g.fromSeq, g.toSeq]),
        ),
        "",
      );
    }
  }
  return out.join("\n");
}
