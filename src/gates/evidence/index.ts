// The evidence room's one door: the signed bundle (its items in items/, its front pages in report/), its manifest,
// signatures, the approval and attempt ledgers, and redaction. Other folders import only what is listed here.

export type { ApprovalAttempts } from "./approval-log.js";
export { attemptLine, checkAttemptLedger, ledgerHead, type LedgerSubject } from "./attempt-ledger.js";
export { auditTrail } from "./audit-trail.js";
export { readBaselineBundle } from "./baseline-bundle.js";
export { generateSigningKeyPair, readSigningKey, readVerifyKey, verifyEnvelope } from "./dsse.js";
export { recordApproval, verifyBundle, writeEvidenceBundle } from "./evidence-bundle.js";
export { EvidenceError } from "./evidence-error.js";
export { BUNDLE_FILES } from "./evidence-layout.js";
export { EVIDENCE_ITEM_IDS } from "./items/index.js";
export { listBundleFiles, MANIFEST_FILE, parseManifest, sha256Hex } from "./manifest.js";
export { readManifestedFiles } from "./manifested-files.js";
export { createRedactor, registerOwnSecrets } from "./redaction.js";
export { preflightFailure } from "./report/preflight-report.js";
export { escapeHtml, formatUtcDateTime } from "./report/report-format.js";
export {
  APPROVAL_PAYLOAD_TYPE,
  type ApprovalEntry,
  ATTESTATION_DSSE_FILE,
  chainHead,
  SIGNED_APPROVALS_FILE,
  signedApprovalLine,
  verifySignedEvidence,
} from "./signed-evidence.js";
