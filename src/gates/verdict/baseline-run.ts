// The run a candidate is compared with (`baseline: last_go`): an earlier GO of the same gate and target on the
// same machine class, as its evidence bundle recorded it. Types and pure helpers; reading a bundle is
// baseline-bundle.ts, and where the bundle comes from is the caller's (gate run --baseline DIR, the bot's store).

import { cpus, platform } from "node:os";
import type { Gate, BaselineRecord } from "../model/index.js";
export type { BaselinePhase, BaselineRun, BaselineRecord } from "../model/index.js";

/** The words a GO with nothing to compare with says, everywhere it is shown. */
export const NO_BASELINE = "no baseline: this GO is not compared";

/** "2 × Intel(R) Xeon(R) CPU @ 2.20GHz, linux": the CPU model, how many, and the OS. Memory and load are not a class. */
export function machineClassOf(m: { cpuModel: string; cores: number; platform: string }): string {
  return `${m.cores} × ${m.cpuModel.trim().replace(/\s+/g, " ")}, ${m.platform}`;
}

/** The machine class of the machine this process runs on. */
export function thisMachineClass(): string {
  const list = cpus();
  return machineClassOf({ cpuModel: list[0]?.model ?? "unknown CPU", cores: list.length, platform: platform() });
}

/** What is gated, independent of the code under test: the application and where its service runs. */
export function targetIdentity(gate: Gate): string {
  const t = gate.target;
  return t.kind === "bundled" ? `${gate.application} on the bundled ingest service` : `${gate.application} at ${t.url}`;
}

/** "run gate-a-20261205-…, commit 1a2b3c4, 2 × Xeon…, linux": how the war room and the summary name the baseline. */
export function baselineLine(record: BaselineRecord | undefined): string | null {
  if (!record) return null;
  if (!record.compared) return record.note;
  const r = record.run;
  return `compared with run ${r.runId} (commit ${r.commit.slice(0, 12)}, ${r.verdict}, sign-off ${r.signoff}) on ${r.machineClass}`;
}
