// Where everything lives in an evidence bundle. These names are stable: the bot, the docs, reviewers' scripts and
// `sha256sum -c` all rely on them, and summary.md documents them for people.

/** One of the ten items the war room asked for. */
export interface EvidenceItem {
  number: number;
  /** Identifier a gate file names in `evidence:` (gates/gate-a.yaml lists all ten). */
  id: string;
  title: string;
  /** The item's folder (or, for the manifest, its file) relative to the bundle's root. */
  path: string;
}

export const EVIDENCE_ITEM_LAYOUT: readonly EvidenceItem[] = [
  { number: 1, id: "replay_logs", title: "Replay execution logs", path: "01-replay-logs" },
  { number: 2, id: "latency_histogram", title: "Latency histograms (P50/P95/P99)", path: "02-latency" },
  { number: 3, id: "error_budget_ledger", title: "Error budget ledger", path: "03-error-budget" },
  { number: 4, id: "idempotency_report", title: "Idempotency validation report", path: "04-idempotency" },
  { number: 5, id: "ordering_report", title: "Ordering validation report", path: "05-ordering" },
  { number: 6, id: "database_confirmation", title: "Database confirmation", path: "06-database" },
  { number: 7, id: "request_id_audit_trail", title: "request_id audit trail", path: "07-audit-trail" },
  { number: 8, id: "rbac_matrix", title: "RBAC test matrix", path: "08-rbac" },
  { number: 9, id: "hotl_approval_log", title: "HOTL approval log", path: "09-approvals" },
  { number: 10, id: "sha256_manifest", title: "SHA-256 manifest", path: "SHA256SUMS" },
];

export const BUNDLE_FILES = {
  summary: "summary.md",
  report: "report.html",
  verdict: "verdict.json",
  attestation: "attestation.intoto.json",
  replayIndex: "01-replay-logs/index.json",
  ledgerJson: "03-error-budget/ledger.json",
  ledgerMd: "03-error-budget/ledger.md",
  idempotencyJson: "04-idempotency/idempotency.json",
  idempotencyMd: "04-idempotency/idempotency.md",
  orderingJson: "05-ordering/ordering.json",
  orderingMd: "05-ordering/ordering.md",
  databaseJson: "06-database/database.json",
  databaseMd: "06-database/database.md",
  auditJson: "07-audit-trail/lineages.json",
  auditMd: "07-audit-trail/lineages.md",
  rbacJson: "08-rbac/matrix.json",
  rbacMd: "08-rbac/matrix.md",
  approvalJson: "09-approvals/approval-log.json",
  approvalMd: "09-approvals/approval-log.md",
  decisionJson: "09-approvals/decision-log.json",
  decisionMd: "09-approvals/decision-log.md",
} as const;

/** A name made safe for a file name: phase and log names come from gate files and runs, not from us. */
export function fileStem(name: string): string {
  const stem = name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return stem || "unnamed";
}

export function phaseFiles(phaseName: string, compressedSamples: boolean): { samples: string; histogramJson: string; histogramCsv: string; histogramSvg: string } {
  const stem = fileStem(phaseName);
  return {
    samples: `01-replay-logs/${stem}.samples.ndjson${compressedSamples ? ".gz" : ""}`,
    histogramJson: `02-latency/${stem}.histogram.json`,
    histogramCsv: `02-latency/${stem}.histogram.csv`,
    histogramSvg: `02-latency/${stem}.histogram.svg`,
  };
}

/** A phase's latency over time (latency-timeline.ts), beside its histogram. */
export function timelineFiles(phaseName: string): { json: string; csv: string; svg: string } {
  const stem = fileStem(phaseName);
  return { json: `02-latency/${stem}.timeline.json`, csv: `02-latency/${stem}.timeline.csv`, svg: `02-latency/${stem}.timeline.svg` };
}

/** CPU per request of each phase, and the machine the run measured on, with the replay logs. */
export const RESOURCE_FILES = { cpu: "01-replay-logs/cpu.json", machine: "01-replay-logs/machine.json" } as const;

export function serviceLogFile(logName: string, compressed: boolean): string {
  return `01-replay-logs/service/${fileStem(logName)}.log${compressed ? ".gz" : ""}`;
}

/** The items a gate file's `evidence:` list names that this bundle has no item for (gate-definition.ts validates
 *  the same ids, so this only finds something if the two lists drift apart). */
export function unknownEvidenceIds(requested: readonly string[]): string[] {
  return requested.filter((id) => !EVIDENCE_ITEM_LAYOUT.some((item) => item.id === id));
}
