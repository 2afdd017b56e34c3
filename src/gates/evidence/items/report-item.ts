// The shape most items share (3 to 8): one JSON document for machines and the same as Markdown for the reviewers
// of the evidence PR, in the item's folder. Per-phase checks also state the SLO result they back, so each report
// names the verdict it supports.

import type { SloName, GateRun, PhaseResult, SloResult } from "../../model/index.js";
import { didNotRun, jsonFile } from "../report/report-format.js";
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

/**
 * A check made per phase (items 4 to 6): its result, or why a phase has none, and the SLO result it backs. The JSON
 * document's `item` is the file name; a phase without a result names what it lacks by the id ("idempotency report").
 */
export interface PhaseCheckSpec<Id extends string, R> extends Omit<ReportItemSpec<Id>, "render"> {
  /** The Markdown's first line and the paragraph under it. */
  heading: string;
  intro: string;
  slo: SloName;
  result(phase: PhaseResult): R | null;
  /** The result's fields in the JSON document. */
  json(result: R): Record<string, unknown>;
  /** The result's Markdown under its phase's heading; `slo` is the SLO cell for its table. */
  markdown(result: R, slo: string): string[];
}

export function phaseCheckItem<const Id extends string, R>(spec: PhaseCheckSpec<Id, R>): EvidenceItem & { readonly id: Id } {
  const { heading, intro, result, json, markdown, ...rest } = spec;
  const what = spec.id.replaceAll("_", " ");
  return reportItem({
    ...rest,
    render(run) {
      const document = {
        item: spec.file,
        phases: run.phases.map((phase) => {
          const r = result(phase);
          const slo = sloOf(phase, spec.slo);
          const base = { phase: phase.name, ran: phase.ran, checked: r !== null };
          return r ? { ...base, ...json(r), slo } : { ...base, note: absentNote(phase, what), slo };
        }),
      };
      const out = [heading, "", intro, ""];
      for (const phase of run.phases) {
        const r = result(phase);
        out.push(`## ${phase.name}`, "", ...(r ? markdown(r, sloCell(sloOf(phase, spec.slo))) : [absentNote(phase, what), ""]));
      }
      return { json: document, markdown: out.join("\n") };
    },
  });
}

/** The SLO result a report backs, so each report states the verdict it supports. */
function sloOf(phase: PhaseResult, name: SloName): Pick<SloResult, "measuredDisplay" | "bar" | "verdict"> | null {
  const slo = phase.slos.find((s) => s.name === name);
  return slo ? { measuredDisplay: slo.measuredDisplay, bar: slo.bar, verdict: slo.verdict } : null;
}

function sloCell(slo: ReturnType<typeof sloOf>): string {
  return slo ? `${slo.verdict} (${slo.measuredDisplay} vs ${slo.bar})` : "no SLO result";
}

/** Why a phase has no report: it did not run, or it ran and the check could not be made (which never counts as clean). */
function absentNote(phase: PhaseResult, what: string): string {
  return phase.ran ? `NOT CHECKED: the run has no ${what} for this phase, so nothing here vouches for it` : didNotRun(phase.reason);
}
