// The shape most items share (3 to 8): one JSON document for machines and the same as Markdown for the reviewers
// of the evidence PR, in the item's folder. Per-phase checks also state the SLO result they back, so each report
// names the verdict it supports.

import type { GateRun, PhaseResult, SloResult } from "../gate-run.js";
import { didNotRun, jsonFile } from "../report-format.js";
import type { EvidenceItem } from "./evidence-item.js";

export interface ReportItemSpec<Id extends string> extends Pick<EvidenceItem, "number" | "title" | "path"> {
  id: Id;
  /** The file name both files share: `<path>/<file>.json` and `<path>/<file>.md`. */
  file: string;
  render(run: GateRun): { json: unknown; markdown: string };
}

export function reportItem<const Id extends string>(spec: ReportItemSpec<Id>): EvidenceItem & { readonly id: Id } {
  const { id, number, title, path, file, render } = spec;
  return {
    id,
    number,
    title,
    path,
    layout: `\`${path}/${file}.{json,md}\``,
    async write({ run, bundle }) {
      const { json, markdown } = render(run);
      await bundle.text(`${path}/${file}.json`, jsonFile(json));
      await bundle.text(`${path}/${file}.md`, markdown);
    },
  };
}

/** The SLO result a report backs, so each report states the verdict it supports. */
export function sloOf(phase: PhaseResult, name: string): Pick<SloResult, "measuredDisplay" | "bar" | "verdict"> | null {
  const slo = phase.slos.find((s) => s.name === name);
  return slo ? { measuredDisplay: slo.measuredDisplay, bar: slo.bar, verdict: slo.verdict } : null;
}

/** The SLO cell of a report's table. */
export function sloCell(slo: ReturnType<typeof sloOf>): string {
  return slo ? `${slo.verdict} (${slo.measuredDisplay} vs ${slo.bar})` : "no SLO result";
}

/** Why a phase has no report: it did not run, or it ran and the check could not be made (which never counts as clean). */
export function absentNote(phase: PhaseResult, what: string): string {
  return phase.ran ? `NOT CHECKED: the run has no ${what} for this phase, so nothing here vouches for it` : didNotRun(phase.reason);
}
