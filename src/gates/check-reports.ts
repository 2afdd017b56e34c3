// Evidence items 4 to 8 written out from the run: idempotency, ordering, database confirmation, the request_id
// audit trail and the RBAC matrix, each as JSON for machines and Markdown for the reviewers of the evidence PR.

import type { GateRun, Lineage, PhaseResult, SloResult } from "./gate-run.js";
import { byteOrder } from "./manifest.js";
import { didNotRun, markdownTable } from "./report-format.js";
import { formatCount, formatMs } from "./units.js";

/** The SLO result a report backs, so each report states the verdict it supports. */
function sloOf(phase: PhaseResult, name: string): Pick<SloResult, "measuredDisplay" | "bar" | "verdict"> | null {
  const slo = phase.slos.find((s) => s.name === name);
  return slo ? { measuredDisplay: slo.measuredDisplay, bar: slo.bar, verdict: slo.verdict } : null;
}

/** Why a phase has no report: it did not run, or it ran and the check could not be made (which never counts as clean). */
function absentNote(phase: PhaseResult, what: string): string {
  return phase.ran ? `NOT CHECKED: the run has no ${what} for this phase, so nothing here vouches for it` : didNotRun(phase.reason);
}

// ---- 4. Idempotency -------------------------------------------------------------------------------------------

export function idempotencyDocument(run: GateRun): unknown {
  return {
    item: "idempotency",
    phases: run.phases.map((phase) => {
      const r = phase.idempotency;
      if (!r) return { phase: phase.name, ran: phase.ran, checked: false, note: absentNote(phase, "idempotency report"), slo: sloOf(phase, "idempotency_violations") };
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

export function idempotencyMarkdown(run: GateRun): string {
  const out = ["# Idempotency validation", "", "Redeliveries re-send an earlier `webhook-id`; each must be answered as a duplicate and stored once.", ""];
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
        [[formatCount(r.redeliveriesSent), formatCount(r.answeredDuplicate), formatCount(r.answeredNew), formatCount(r.storedMoreThanOnce), formatCount(r.violations.length), slo ? `${slo.verdict} (${slo.measuredDisplay} vs ${slo.bar})` : "no SLO result"]],
      ),
      "",
    );
    if (r.violations.length > 0) {
      out.push("Every violation:", "", markdownTable(["Event id", "Kind", "Detail"], [...r.violations].sort((a, b) => byteOrder(a.kind, b.kind) || byteOrder(a.eventId, b.eventId)).map((v) => [v.eventId, v.kind, v.detail])), "");
    } else out.push("No violation.", "");
  }
  return out.join("\n");
}

// ---- 5. Ordering ----------------------------------------------------------------------------------------------

export function orderingDocument(run: GateRun): unknown {
  return {
    item: "ordering",
    phases: run.phases.map((phase) => {
      const r = phase.ordering;
      if (!r) return { phase: phase.name, ran: phase.ran, checked: false, note: absentNote(phase, "ordering report"), slo: sloOf(phase, "ordering_violations") };
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

export function orderingMarkdown(run: GateRun): string {
  const out = ["# Ordering validation", "", "Per ordering key, the order events were applied in the database must be their sequence order.", ""];
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
        [[formatCount(r.keysChecked), formatCount(r.eventsChecked), `${r.eventsPerKey.min} / ${r.eventsPerKey.median} / ${r.eventsPerKey.max}`, formatCount(r.gaps.length), formatCount(r.violations.length), slo ? `${slo.verdict} (${slo.measuredDisplay} vs ${slo.bar})` : "no SLO result"]],
      ),
      "",
    );
    if (r.violations.length > 0) {
      out.push("Every violation:", "", markdownTable(["Ordering key", "Expected order (seq)", "Actual order (seq)"], [...r.violations].sort((a, b) => byteOrder(a.orderingKey, b.orderingKey)).map((v) => [v.orderingKey, v.expected.join(", "), v.actual.join(", ")])), "");
    } else out.push("No violation.", "");
    if (r.gaps.length > 0) {
      out.push("Sequence gaps (events missing between two stored ones):", "", markdownTable(["Ordering key", "From seq", "To seq"], [...r.gaps].sort((a, b) => byteOrder(a.orderingKey, b.orderingKey) || a.fromSeq - b.fromSeq).map((g) => [g.orderingKey, g.fromSeq, g.toSeq])), "");
    }
  }
  return out.join("\n");
}

// ---- 6. Database confirmation ---------------------------------------------------------------------------------

export function databaseDocument(run: GateRun): unknown {
  return {
    item: "database",
    phases: run.phases.map((phase) => {
      const r = phase.database;
      if (!r) return { phase: phase.name, ran: phase.ran, checked: false, note: absentNote(phase, "database confirmation"), slo: sloOf(phase, "lost_events") };
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

export function databaseMarkdown(run: GateRun): string {
  const out = ["# Database confirmation", "", "Rows stored against events accepted, the constraints that keep the data right (present and enforced), and every accepted event missing after the drain.", ""];
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
        [[formatCount(r.rowCount), formatCount(r.acceptedCount), r.rowCount === r.acceptedCount ? "yes" : "NO", formatCount(r.lostEvents.length), slo ? `${slo.verdict} (${slo.measuredDisplay} vs ${slo.bar})` : "no SLO result"]],
      ),
      "",
      "Constraints:",
      "",
      markdownTable(["Constraint", "Definition", "Present", "Enforced", "How it was checked"], [...r.constraints].sort((a, b) => byteOrder(a.name, b.name)).map((c) => [c.name, c.definition, c.present ? "yes" : "NO", c.enforced ? "yes" : "NO", c.detail]), "no constraint was checked"),
      "",
    );
    if (r.lostEvents.length > 0) out.push("Every lost event:", "", ...[...r.lostEvents].sort(byteOrder).map((id) => `- \`${id}\``), "");
    else out.push("No accepted event is missing.", "");
  }
  return out.join("\n");
}

// ---- 7. request_id audit trail --------------------------------------------------------------------------------

/** Milliseconds from one hop to the next, null when a time does not parse. */
function hopGaps(lineage: Lineage): (number | null)[] {
  return lineage.hops.map((hop, i) => {
    if (i === 0) return null;
    const a = Date.parse(lineage.hops[i - 1]!.at);
    const b = Date.parse(hop.at);
    return Number.isNaN(a) || Number.isNaN(b) ? null : b - a;
  });
}

export function auditTrailDocument(run: GateRun): unknown {
  return {
    item: "audit_trail",
    lineageCount: run.lineages.length,
    lineages: run.lineages.map((l) => ({
      requestId: l.requestId,
      eventId: l.eventId,
      // Complete when every hop was found with a time; the runner writes a missing hop as "MISSING: ..." with no time.
      complete: ["accepted", "enqueued", "committed", "stored"].every((hop) => l.hops.some((h) => h.hop === hop && !Number.isNaN(Date.parse(h.at)))),
      hops: l.hops.map((h, i) => ({ hop: h.hop, at: h.at, sincePreviousMs: hopGaps(l)[i], detail: h.detail })),
    })),
  };
}

export function auditTrailMarkdown(run: GateRun): string {
  const out = [
    "# request_id audit trail",
    "",
    `${run.lineages.length} sample requests, chosen reproducibly by the runner, each followed by its request_id from HTTP accept through enqueue and batch commit to its database row, from the service's own logs and the database.`,
    "",
  ];
  if (run.lineages.length === 0) out.push("NO LINEAGE: the run recorded none, so there is no audit trail to show.", "");
  for (const l of run.lineages) {
    const gaps = hopGaps(l);
    const complete = l.hops.length > 0 && l.hops.every((h) => !Number.isNaN(Date.parse(h.at)));
    out.push(`## request_id \`${l.requestId}\` (event \`${l.eventId}\`)${complete ? "" : ": INCOMPLETE, a hop is missing"}`, "", markdownTable(["Hop", "At", "Since previous", "Detail"], l.hops.map((h, i) => [h.hop, h.at, gaps[i] === null ? "" : formatMs(gaps[i]!), h.detail])), "");
  }
  return out.join("\n");
}

// ---- 8. RBAC matrix -------------------------------------------------------------------------------------------

export function rbacDocument(run: GateRun): unknown {
  return {
    item: "rbac",
    cases: run.rbac.length,
    passed: run.rbac.filter((c) => c.verdict === "PASS").length,
    failed: run.rbac.filter((c) => c.verdict !== "PASS").length,
    matrix: run.rbac.map((c) => ({ name: c.name, description: c.description, expectedStatus: c.expectedStatus, actualStatus: c.actualStatus, verdict: c.verdict })),
  };
}

export function rbacMarkdown(run: GateRun): string {
  const failed = run.rbac.filter((c) => c.verdict !== "PASS").length;
  return [
    "# RBAC test matrix",
    "",
    run.rbac.length === 0
      ? "NO CASE: the run probed no credential case, so there is no matrix to show."
      : `The service probed with ${run.rbac.length} credential cases: ${run.rbac.length - failed} PASS, ${failed} FAIL.`,
    "",
    markdownTable(["Case", "Description", "Expected status", "Actual status", "Verdict"], run.rbac.map((c) => [c.name, c.description, c.expectedStatus, c.actualStatus, c.verdict])),
    "",
  ].join("\n");
}
