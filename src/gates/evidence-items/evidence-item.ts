// What an evidence item is: one numbered part of the bundle the war room asked for, as one module that says
// where its files go and writes them from the run. The registry (index.ts) lists them all.

import type { ReportInput } from "../evidence-report.js";
import type { GateRun } from "../gate-run.js";
import type { TimelineFiles } from "../resources-report.js";
import type { BundleWriter } from "./bundle-writer.js";

/** What an item's writer is given: the run, the writer every file goes through, and what the front pages show. */
export interface ItemContext {
  run: GateRun;
  bundle: BundleWriter;
  /** Text files larger than this many bytes are written gzip-compressed (samples, service logs). */
  gzipOverBytes: number;
  /** What summary.md and report.html show of the items beyond their links; items add to it as they write. */
  report: { histograms: ReportInput["histograms"]; timelines: TimelineFiles[]; problems: string[] };
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
