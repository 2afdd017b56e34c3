// Evidence item 9: the HOTL approval log ("pending" until the sign-off records an approval) and the decision log.
// Written with the bundle and again at each sign-off (recordApproval), so the GO depends on it.

import { approvalLogMarkdown, initialApprovalLog, type ApprovalLog } from "../approval-log.js";
import { decisionLogMarkdown, decisionLogOf, type DecisionLog } from "../decision-log.js";
import { jsonFile } from "../report/report-format.js";
import type { BundleWriter } from "./bundle-writer.js";
import type { EvidenceItem } from "./evidence-item.js";

const FOLDER = "09-approvals";

export const SIGNOFF_FILES = {
  approvalJson: `${FOLDER}/approval-log.json`,
  approvalMd: `${FOLDER}/approval-log.md`,
  decisionJson: `${FOLDER}/decision-log.json`,
  decisionMd: `${FOLDER}/decision-log.md`,
} as const;

export async function writeSignoffLogs(bundle: BundleWriter, approvals: ApprovalLog, decisions: DecisionLog): Promise<void> {
  await bundle.text(SIGNOFF_FILES.approvalJson, jsonFile(approvals));
  await bundle.text(SIGNOFF_FILES.approvalMd, approvalLogMarkdown(approvals));
  await bundle.text(SIGNOFF_FILES.decisionJson, jsonFile(decisions));
  await bundle.text(SIGNOFF_FILES.decisionMd, decisionLogMarkdown(decisions));
}

export const hotlApprovalLog = {
  id: "hotl_approval_log",
  number: 9,
  title: "HOTL approval log",
  path: FOLDER,
  required: "a sign-off records its approval in it, and no GO stands without the sign-off",
  layout: "`09-approvals/{approval-log,decision-log}.{json,md}`",
  async write({ run, bundle }) {
    await writeSignoffLogs(bundle, initialApprovalLog(run), decisionLogOf(run.decisions));
  },
} as const satisfies EvidenceItem;
