// What an evidence item is: one numbered part of the bundle the war room asked for, as one module that says
// where its files go and writes them from the run. The registry (index.ts) lists them all.

import type { ApprovalLog } from "../approval-log.js";
import type { DecisionLog } from "../decision-log.js";
import type { ErrorBudgetLedger } from "../../verdict/index.js";
import type { GateRun } from "../../model/index.js";
import type { LatencyHistogram } from "../report/latency-buckets.js";
import type { TimelineFiles } from "../report/resources-report.js";
import type { BundleWriter } from "./bundle-writer.js";

/** What an item's writer is given: the run, the writer every file goes through, and what the front pages show. */
export interface ItemContext {
  run: GateRun;
  bundle: BundleWriter;
  /** Text files larger than this many bytes are written gzip-compressed (samples, service logs). */
  gzipOverBytes: number;
  /** What summary.md and report.html show of the items beyond their links; items add to it as they write. */
  report: {
    histograms: ReportInput["histograms"];
    timelines: TimelineFiles[];
    problems: string[];
    overlays: NonNullable<ReportInput["overlays"]>;
    shards: NonNullable<ReportInput["shards"]>;
  };
}

export interface EvidenceItem {
  /** What a gate file names in `evidence:`. */
  readonly id: string;
  /** Its place in the bundle, the summary and the report (the war room's numbering). */
  readonly number: number;
  readonly title: string;
  /** Its folder relative to the bundle's root; for an item kept at the root, its main file. */
  readonly path: string;
  /** An item kept at the root rather than in a folder: the files the front pages link for it. */
  readonly rootFiles?: readonly string[];
  /** Why every bundle has it, whether the gate file lists it or not; absent for an item the gate file chooses. */
  readonly required?: string;
  /** Its files, for the Layout paragraph of summary.md. */
  readonly layout: string;
  write(ctx: ItemContext): Promise<void>;
}

export interface ReportInput {
  run: GateRun;
  histograms: { histogram: LatencyHistogram; svg: string; files: { json: string; csv: string; svg: string } }[];
  /** Each phase's latency over time; shown before the histograms. */
  timelines?: TimelineFiles[];
  /** Each phase's histogram over the baseline run's, when the gate compares with one. */
  overlays?: { phase: string; svg: string; file: string }[];
  /** Each runner-driven phase's shards' histograms over the merged one. */
  shards?: { phase: string; svg: string; file: string }[];
  ledger: ErrorBudgetLedger;
  approvals: ApprovalLog;
  decisions: DecisionLog;
  /** The items in the bundle, in number order, with their files for the links. */
  items: { item: EvidenceItem; files: string[] }[];
  /** The other files at the bundle's root, for the links. */
  rootFiles: string[];
  /** Things a reviewer must know that are not a verdict: an evidence item the gate asks for that does not exist, a log that could not be read. */
  problems: string[];
}
