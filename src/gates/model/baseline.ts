// A run to compare with (`baseline: last_go`), as data: its requests' due times and latencies per phase,
// or why there is none. The comparison itself is verdict/p95-ratio-interval.ts.

/** One request as the comparison needs it: when it was due (ms since the phase's t0) and its latency. */
export interface TimedLatency {
  dueAt: number;
  latencyMs: number;
}

/** One phase of the baseline: every request's due time and latency, as its replay log holds them. */
export interface BaselinePhase {
  name: string;
  samples: TimedLatency[];
}

/** The baseline run as the gates side takes it, wherever it was found. */
export interface BaselineRun {
  runId: string;
  commit: string;
  gate: string;
  /** targetIdentity() of the gate it ran. */
  target: string;
  /** machineClassOf() of the machine it measured on. */
  machineClass: string;
  /** Its verdict (a baseline is a PASS) and where its sign-off stood, as its bundle says. */
  verdict: string;
  signoff: string;
  /** Where it was read from, for people: the bundle's folder. */
  source: string;
  phases: BaselinePhase[];
}

/** What a run of a gate with `baseline:` records of its comparison: the run it was compared with, or why none. */
export type BaselineRecord = { compared: true; run: BaselineRun } | { compared: false; note: string };
