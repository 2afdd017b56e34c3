// Evidence item 7: sample requests followed by their request_id from HTTP accept through enqueue and batch commit
// to their database row.

import { type GateRun, type Lineage, formatMs } from "../../model/index.js";
import { markdownTable } from "../report/report-format.js";
import { reportItem } from "./report-item.js";

export const requestIdAuditTrail = reportItem({
  id: "request_id_audit_trail",
  number: 7,
  title: "request_id audit trail",
  path: "07-audit-trail",
  file: "lineages",
  render: (run) => ({ json: auditTrailDocument(run), markdown: auditTrailMarkdown(run) }),
});

/** Milliseconds from one hop to the next, null when a time does not parse. */
function hopGaps(lineage: Lineage): (number | null)[] {
  return lineage.hops.map((hop, i) => {
    if (i === 0) return null;
    const a = Date.parse(lineage.hops[i - 1]!.at);
    const b = Date.parse(hop.at);
    return Number.isNaN(a) || Number.isNaN(b) ? null : b - a;
  });
}

function auditTrailDocument(run: GateRun): unknown {
  return {
    item: "audit_trail",
    lineageCount: run.lineages.length,
    lineages: run.lineages.map((l) => ({
      requestId: l.requestId,
      eventId: l.eventId,
      // Complete when every hop was found with a time; the runner writes a missing hop as "MISSING: ..." with no time.
      complete: ["accepted", "enqueued", "committed", "stored"].every((hop) =>
        l.hops.some((h) => h.hop === hop && !Number.isNaN(Date.parse(h.at))),
      ),
      hops: l.hops.map((h, i) => ({ hop: h.hop, at: h.at, sincePreviousMs: hopGaps(l)[i], detail: h.detail })),
    })),
  };
}

function auditTrailMarkdown(run: GateRun): string {
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
    out.push(
      `## request_id \`${l.requestId}\` (event \`${l.eventId}\`)${complete ? "" : ": INCOMPLETE, a hop is missing"}`,
      "",
      markdownTable(
        ["Hop", "At", "Since previous", "Detail"],
        l.hops.map((h, i) => [h.hop, h.at, gaps[i] === null ? "" : formatMs(gaps[i]!), h.detail]),
      ),
      "",
    );
  }
  return out.join("\n");
}
