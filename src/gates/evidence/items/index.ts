// The evidence items a bundle can hold, one module each; a gate file's `evidence:` picks from them. Adding an item is
// one module here and one line in the registry below. The type system checks the registry: an entry that is not a
// whole item (number, title, folder, layout, writer) or is filed under another id fails to compile.

import { databaseConfirmation } from "./database-confirmation.js";
import { errorBudgetLedger } from "./error-budget-ledger.js";
import type { EvidenceItem } from "./evidence-item.js";
import { hotlApprovalLog } from "./hotl-approval-log.js";
import { idempotencyReport } from "./idempotency-report.js";
import { latencyHistogram } from "./latency-histogram.js";
import { orderingReport } from "./ordering-report.js";
import { rbacMatrix } from "./rbac-matrix.js";
import { replayLogs } from "./replay-logs.js";
import { requestIdAuditTrail } from "./request-id-audit-trail.js";
import { sha256Manifest } from "./sha256-manifest.js";

export type { EvidenceItem, ItemContext, ReportInput } from "./evidence-item.js";

const REGISTRY = {
  replay_logs: replayLogs,
  latency_histogram: latencyHistogram,
  error_budget_ledger: errorBudgetLedger,
  idempotency_report: idempotencyReport,
  ordering_report: orderingReport,
  database_confirmation: databaseConfirmation,
  request_id_audit_trail: requestIdAuditTrail,
  rbac_matrix: rbacMatrix,
  hotl_approval_log: hotlApprovalLog,
  sha256_manifest: sha256Manifest,
};

/** What a gate file may name in `evidence:`. */
export type EvidenceItemId = keyof typeof REGISTRY;

/** What the registry must be: every entry a whole item, filed under its own id. */
export type EvidenceRegistry = { readonly [Id in EvidenceItemId]: EvidenceItem & { readonly id: Id } };

export const EVIDENCE_ITEMS = REGISTRY satisfies EvidenceRegistry;

/** Every item, in the war room's numbering: the order of the bundle, summary.md and report.html. */
export const EVIDENCE_ITEM_LIST: readonly EvidenceItem[] = Object.values(EVIDENCE_ITEMS).sort((a, b) => a.number - b.number);

export const EVIDENCE_ITEM_IDS = EVIDENCE_ITEM_LIST.map((item) => item.id as EvidenceItemId);

/**
 * The items a bundle holds for a gate file's `evidence:` list: those it names and the required ones, in number order;
 * and the names no item has (the gate file's parser refuses those, so only a gate built in code can have one).
 */
export function selectEvidenceItems(requested: readonly string[]): { items: EvidenceItem[]; unknown: string[] } {
  return {
    items: EVIDENCE_ITEM_LIST.filter((item) => item.required !== undefined || requested.includes(item.id)),
    unknown: requested.filter((id) => !EVIDENCE_ITEM_IDS.includes(id as EvidenceItemId)),
  };
}
export { BundleWriter } from "./bundle-writer.js";
export { SIGNOFF_FILES, writeSignoffLogs } from "./hotl-approval-log.js";
export { REPLAY_LOG_FILES } from "./replay-logs.js";
