// 02-latency/comparison.json, in the bundle of every run of a gate with `baseline:`: what this run is (so a later run
// can take it as its baseline: gate, target, machine class) and what it was compared with, phase by phase.

import { machineClassOf, thisMachineClass, targetIdentity } from "../verdict/index.js";
import type { BaselineRecord, GateRun } from "../model/index.js";

export const COMPARISON_FILE = "02-latency/comparison.json";

export interface ComparisonDocument {
  item: "comparison";
  this: { runId: string; commit: string; gate: string; target: string; machineClass: string };
  /** The baseline run, or null with the reason there was none. */
  baseline: { runId: string; commit: string; machineClass: string; verdict: string; signoff: string; source: string } | null;
  note: string | null;
  phases: { phase: string; verdict: string | null; measured: string | null; detail: string | null }[];
}

export function comparisonDocument(run: GateRun, record: BaselineRecord): ComparisonDocument {
  const machineClass = run.machine ? machineClassOf({ ...run.machine }) : thisMachineClass();
  return {
    item: "comparison",
    this: { runId: run.id, commit: run.commit, gate: run.gate.name, target: targetIdentity(run.gate), machineClass },
    baseline: record.compared
      ? {
          runId: record.run.runId,
          commit: record.run.commit,
          machineClass: record.run.machineClass,
          verdict: record.run.verdict,
          signoff: record.run.signoff,
          source: record.run.source,
        }
      : null,
    note: record.compared ? null : record.note,
    phases: run.phases.map((p) => {
      const s = p.slos.find((x) => x.name === "latency_p95_regression");
      return { phase: p.name, verdict: s?.verdict ?? null, measured: s?.measuredDisplay ?? null, detail: s?.detail ?? null };
    }),
  };
}
