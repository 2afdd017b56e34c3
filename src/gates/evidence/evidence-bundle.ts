// The evidence bundle: the items the gate file asks for (one module each, under items/), written from a
// GateRun into one folder that anyone can check with `sha256sum -c --strict SHA256SUMS`; verified file by file; and
// sealed again, as a chain, at each sign-off.

import type { KeyObject } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { initialApprovalLog, parseApprovalLog, withApproval } from "./approval-log.js";
import { attestationStatement } from "./attestation.js";
import { ATTEMPT_LEDGER_FILE, bundleLedgerProblems } from "./attempt-ledger.js";
import { CAPACITY_FILE } from "../measure/index.js";
import { buildErrorBudgetLedger, verdictDocument } from "../verdict/index.js";
import { BundleWriter, type ItemContext, SIGNOFF_FILES, writeSignoffLogs, EVIDENCE_ITEM_IDS, selectEvidenceItems } from "./items/index.js";
import type { Approval, Decision, GateRun } from "../model/index.js";
import { decisionLogOf, parseDecisionLog, withDecision } from "./decision-log.js";
import { EvidenceError } from "./evidence-error.js";
import { BUNDLE_FILES } from "./evidence-layout.js";
import { type ReportInput, replaceSignoff, signoffHtml, signoffMarkdown } from "./report/evidence-report.js";
import { renderReportHtml } from "./report/report-html.js";
import { renderSummaryMarkdown } from "./report/summary-markdown.js";
import {
  type ManifestEntry,
  byteOrder,
  hashFile,
  historyCopyPath,
  listBundleFiles,
  MANIFEST_FILE,
  MANIFEST_HISTORY_FILE,
  parseManifest,
  parseManifestHistory,
  renderManifest,
  renderManifestHistory,
  sha256Hex,
} from "./manifest.js";
import { PREFLIGHT_FILES, preflightFailure, preflightMarkdown } from "./report/preflight-report.js";
import { type Redactor, createRedactor } from "./redaction.js";
import { jsonFile } from "./report/report-format.js";
import { ATTESTATION_DSSE_FILE, signedAttestation } from "./signed-evidence.js";

// `gate run --json` prints the same document the bundle keeps as verdict.json.
export { verdictDocument } from "../verdict/index.js";

/** Text files larger than this are written gzip-compressed (NDJSON samples, service logs). */
export const GZIP_OVER_BYTES = 512 * 1024;

export interface EvidenceBundleOptions {
  /** Compress samples and service logs larger than this many bytes; default GZIP_OVER_BYTES. */
  gzipOverBytes?: number;
  /** The Ed25519 key that signs the attestation (attestation.intoto.dsse.json); unsigned without one. */
  signingKey?: KeyObject;
}

export interface BundleVerification {
  ok: boolean;
  /** Files whose bytes differ from the manifest. */
  changed: string[];
  /** Files the manifest lists that are not there. */
  missing: string[];
  /** Files that are there but not in the manifest. */
  added: string[];
  /** Anything else wrong: a malformed manifest line, a malformed or broken manifest chain. */
  problems: string[];
}

async function assertEmptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new EvidenceError(
      "bundle_dir_not_empty",
      `${dir} already holds ${entries.length} entr${entries.length === 1 ? "y" : "ies"} (${entries.slice(0, 3).join(", ")}...): write each bundle to a new, empty folder (gate run --out DIR)`,
    );
  }
}

/** The manifest text, checked to come through redaction unchanged (a secret in a file name would break the seal). */
function manifestText(entries: ManifestEntry[], redact: Redactor): string {
  const text = renderManifest(entries);
  if (redact(text) !== text) {
    throw new EvidenceError(
      "secret_in_manifest",
      `a file name or digest in ${MANIFEST_FILE} matches a secret of the run; rename the phase or log whose name contains it`,
    );
  }
  return text;
}

export async function writeEvidenceBundle(
  dir: string,
  run: GateRun,
  options: EvidenceBundleOptions = {},
): Promise<{ files: string[]; bytes: number }> {
  await assertEmptyDir(dir);
  const redact = createRedactor(run.secrets);
  const bundle = new BundleWriter(dir, redact);
  const report: ItemContext["report"] = { histograms: [], timelines: [], problems: [], overlays: [], shards: [] };

  // The items the gate file asks for and the ones every bundle needs, in the war room's numbering.
  const { items, unknown } = selectEvidenceItems(run.gate.evidence);
  for (const item of items) await item.write({ run, bundle, gzipOverBytes: options.gzipOverBytes ?? GZIP_OVER_BYTES, report });

  // Around the phases: the pre-flight checks' results and the capacity probe (closed loop, not in the verdict).
  const extraFiles: string[] = [];
  if (run.preflight) {
    extraFiles.push(await bundle.text(PREFLIGHT_FILES.json, jsonFile({ checks: run.preflight, failure: preflightFailure(run.preflight) })));
    extraFiles.push(await bundle.text(PREFLIGHT_FILES.md, preflightMarkdown(run.preflight)));
  }
  if (run.capacity) extraFiles.push(await bundle.text(CAPACITY_FILE, jsonFile(run.capacity)));
  // Every attempt on this commit so far, this run's last: covered by the manifest, its chain by `gate verify`.
  if (run.attempts) extraFiles.push(await bundle.text(ATTEMPT_LEDGER_FILE, `${run.attempts.lines.join("\n")}\n`));

  // The machine-readable verdict and the attestation.
  await bundle.text(BUNDLE_FILES.verdict, jsonFile(verdictDocument(run, ".")));
  await bundle.text(BUNDLE_FILES.attestation, jsonFile(attestationStatement(run)));
  if (options.signingKey) await bundle.text(ATTESTATION_DSSE_FILE, signedAttestation(attestationStatement(run), options.signingKey));

  const { problems } = report;
  for (const id of unknown) {
    problems.push(
      `the gate file ${run.gate.source.file} asks for evidence "${id}", which this bundle has no item for (items: ${EVIDENCE_ITEM_IDS.join(", ")})`,
    );
  }
  if (!/^[0-9a-f]{40}$/i.test(run.commit)) {
    problems.push(
      `the commit under test is "${run.commit}", not a full git commit id: the attestation's subject cannot be checked against the repository`,
    );
  }

  const written = bundle.files();
  const inFolder = (path: string) => written.filter((f) => f === path || f.startsWith(`${path}/`));
  const input: ReportInput = {
    run,
    histograms: report.histograms,
    timelines: report.timelines,
    overlays: report.overlays,
    shards: report.shards,
    ledger: buildErrorBudgetLedger(run),
    approvals: initialApprovalLog(run),
    decisions: decisionLogOf(run.decisions),
    items: items.map((item) => ({ item, files: item.rootFiles ? [...item.rootFiles] : inFolder(item.path) })),
    rootFiles: [BUNDLE_FILES.verdict, BUNDLE_FILES.attestation, BUNDLE_FILES.summary, BUNDLE_FILES.report, ...extraFiles],
    problems,
  };
  await bundle.text(BUNDLE_FILES.summary, renderSummaryMarkdown(input));
  await bundle.text(BUNDLE_FILES.report, renderReportHtml(input));

  // Last, the manifest over every file written (item 10, which every bundle has).
  const entries = [...bundle.digests.entries()].map(([path, sha256]) => ({ path, sha256 }));
  const manifest = manifestText(entries, redact);
  await writeFile(join(dir, MANIFEST_FILE), manifest);
  return { files: [...bundle.files(), MANIFEST_FILE].sort(byteOrder), bytes: bundle.bytes + Buffer.byteLength(manifest) };
}

export async function verifyBundle(dir: string): Promise<BundleVerification> {
  const result: BundleVerification = { ok: false, changed: [], missing: [], added: [], problems: [] };
  let manifest: string;
  try {
    manifest = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (err) {
    result.problems.push(
      `no readable ${MANIFEST_FILE} in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): is this an evidence bundle written by gate run?`,
    );
    return result;
  }
  const { entries, problems } = parseManifest(manifest);
  result.problems.push(...problems);
  const present = new Set(await listBundleFiles(dir));
  for (const entry of entries) {
    if (!present.has(entry.path)) result.missing.push(entry.path);
    else if ((await hashFile(dir, entry.path)) !== entry.sha256) result.changed.push(entry.path);
  }
  const listed = new Set(entries.map((e) => e.path));
  for (const path of present) if (!listed.has(path)) result.added.push(path);

  // The chain: each replaced manifest's copy must still hash to the digest recorded when it was replaced.
  if (present.has(MANIFEST_HISTORY_FILE)) {
    const history = parseManifestHistory(await readFile(join(dir, MANIFEST_HISTORY_FILE), "utf8"));
    result.problems.push(...history.problems);
    for (const [i, link] of history.links.entries()) {
      if (!present.has(link.copy)) {
        result.problems.push(`${MANIFEST_HISTORY_FILE} link ${i + 1}: the copy ${link.copy} of the replaced manifest is not in the bundle`);
        continue;
      }
      const actual = await hashFile(dir, link.copy);
      if (actual !== link.sha256)
        result.problems.push(
          `${MANIFEST_HISTORY_FILE} link ${i + 1}: ${link.copy} hashes to ${actual}, but the chain records ${link.sha256}`,
        );
    }
  } else if (!listed.has(MANIFEST_HISTORY_FILE)) {
    // (When the manifest lists it, it is already reported as missing.)
    result.problems.push(`${MANIFEST_HISTORY_FILE} is not in the bundle, so its manifest chain cannot be checked`);
  }
  // The attempt ledger's chain (its signatures are checked with --key, in signed-evidence.ts).
  result.problems.push(...(await bundleLedgerProblems(dir)));
  for (const list of [result.changed, result.missing, result.added]) list.sort(byteOrder);
  result.ok = result.changed.length === 0 && result.missing.length === 0 && result.added.length === 0 && result.problems.length === 0;
  return result;
}

function checkApproval(approval: Approval): void {
  const problems: string[] = [];
  if (!approval.reviewer || /\s/.test(approval.reviewer)) problems.push(`reviewer "${approval.reviewer}" must be a login without spaces`);
  if (Number.isNaN(Date.parse(approval.at)) || /\s/.test(approval.at)) problems.push(`at "${approval.at}" must be an ISO time`);
  if (!approval.commit) problems.push("commit must name the approved commit");
  if (!["approved", "dismissed"].includes(approval.state)) problems.push(`state "${approval.state}" must be approved or dismissed`);
  if (problems.length) throw new EvidenceError("bad_approval", `cannot record the approval: ${problems.join("; ")}`);
}

/**
 * Add (or update, by recording a later state for the same reviewer) the HOTL approval log, and append the decision
 * if given; then seal the bundle again. The bundle must be intact first: re-sealing a tampered bundle would bless
 * the tampering. The replaced manifest is kept as manifest-history/NNNN.SHA256SUMS and its digest appended to
 * manifest-history.txt, which the new manifest covers, so the bundle's history is a chain. Recording the same
 * approval again (a redelivered review) changes nothing. Only the credential patterns are redacted here: the run's
 * own secrets are not kept anywhere, by design.
 */
export async function recordApproval(
  dir: string,
  approval: Approval,
  decision?: Decision,
  /** Files written with the records and sealed in the same manifest (the signed approval log). */
  extraFiles: { path: string; text: string }[] = [],
): Promise<void> {
  checkApproval(approval);
  const before = await verifyBundle(dir);
  if (!before.ok) {
    const what = [
      ...before.changed.map((f) => `changed ${f}`),
      ...before.missing.map((f) => `missing ${f}`),
      ...before.added.map((f) => `added ${f}`),
      ...before.problems,
    ];
    throw new EvidenceError(
      "bundle_not_intact",
      `the bundle in ${dir} does not match its ${MANIFEST_FILE} (${what.slice(0, 5).join("; ")}${what.length > 5 ? "; ..." : ""}): run "gate verify ${dir}" and restore it before recording a sign-off`,
    );
  }
  const read = (path: string): Promise<string> => readFile(join(dir, ...path.split("/")), "utf8");
  const oldApprovals = parseApprovalLog(await read(SIGNOFF_FILES.approvalJson), SIGNOFF_FILES.approvalJson);
  const oldDecisions = parseDecisionLog(await read(SIGNOFF_FILES.decisionJson), SIGNOFF_FILES.decisionJson);
  const newApprovals = withApproval(oldApprovals, approval);
  const newDecisions = decision ? withDecision(oldDecisions, decision) : null;
  if (!newApprovals && !newDecisions && extraFiles.length === 0) return;
  const approvals = newApprovals ?? oldApprovals;
  const decisions = newDecisions ?? oldDecisions;

  const redact = createRedactor([]);
  const oldManifest = await readFile(join(dir, MANIFEST_FILE));
  const history = parseManifestHistory(await read(MANIFEST_HISTORY_FILE));
  const copy = historyCopyPath(history.links.length + 1);
  const reason = `${approval.state} by @${approval.reviewer} (verdict ${approval.verdict}, commit ${approval.commit})${decision ? `; decision: ${decision.title}` : ""}`;
  const links = [...history.links, { sha256: sha256Hex(oldManifest), at: approval.at, copy, reason }];

  // Every file is rewritten through the writer (and so the redactor); the old manifest's copy must stay byte-exact.
  const w = new BundleWriter(dir, redact);
  if (redact(oldManifest.toString("utf8")) !== oldManifest.toString("utf8")) {
    throw new EvidenceError(
      "secret_in_manifest",
      `${MANIFEST_FILE} in ${dir} matches a credential pattern and cannot be kept as is in the chain`,
    );
  }
  await w.text(copy, oldManifest.toString("utf8"));
  await writeSignoffLogs(w, approvals, decisions);
  await w.text(
    BUNDLE_FILES.summary,
    replaceSignoff(await read(BUNDLE_FILES.summary), signoffMarkdown(approvals, decisions), BUNDLE_FILES.summary),
  );
  await w.text(
    BUNDLE_FILES.report,
    replaceSignoff(await read(BUNDLE_FILES.report), signoffHtml(approvals, decisions), BUNDLE_FILES.report),
  );
  await w.text(MANIFEST_HISTORY_FILE, renderManifestHistory(links));
  for (const f of extraFiles) await w.text(f.path, f.text);

  const entries: ManifestEntry[] = [];
  for (const path of await listBundleFiles(dir)) entries.push({ path, sha256: w.digests.get(path) ?? (await hashFile(dir, path)) });
  await writeFile(join(dir, MANIFEST_FILE), manifestText(entries, redact));
}
