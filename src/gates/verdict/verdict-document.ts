// The machine-readable verdict: the one JSON document `gate run --json` prints and the bundle keeps as verdict.json.

import type { GateRun, PhaseVerdict, Verdict } from "../model/index.js";

export interface VerdictDocument {
  verdict: Verdict;
  gate: string;
  commit: string;
  started_at: string;
  finished_at: string;
  /** The bundle's folder as the caller names it; "." in the bundle's own copy. Null when no bundle was written. */
  bundle: string | null;
  run_id: string;
  reason: string;
  phases: {
    name: string;
    requests: number;
    rate: number;
    /** False for a phase that never ran (its verdict NOT_RUN, its reason why): never a PASS. */
    ran: boolean;
    verdict: PhaseVerdict;
    reason: string;
    slos: { name: string; measured: number | null; measured_display: string; bar: string; verdict: Verdict }[];
  }[];
}

export function verdictDocument(run: GateRun, bundleDir: string | null): VerdictDocument {
  return {
    verdict: run.verdict,
    gate: run.gate.name,
    commit: run.commit,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    bundle: bundleDir,
    run_id: run.id,
    reason: run.reason,
    phases: run.phases.map((p) => ({
      name: p.name,
      requests: p.requests,
      rate: p.rate,
      ran: p.ran,
      verdict: p.ran ? p.verdict : "NOT_RUN",
      reason: p.reason,
      slos: p.slos.map((s) => ({
        name: s.name,
        measured: s.measured,
        measured_display: s.measuredDisplay,
        bar: s.bar,
        verdict: s.verdict,
      })),
    })),
  };
}
