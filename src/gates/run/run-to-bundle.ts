// Executes a run and writes its evidence bundle: the one way a gate is run, whoever asks (`gate run`,
// `gate ci`, the bot's runner, a deployment's `requires: run`). Stopping is the caller's: it passes an
// AbortSignal; no signal handler is installed here.

import type { KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Gate, GateRun, RunAttempts } from "../model/index.js";
import { writeEvidenceBundle } from "../evidence/index.js";
import { executeRun, type RunOptions } from "./execute-run.js";

export interface RunToBundleOptions extends Omit<RunOptions, "logDir"> {
  /** The bundle's folder: new, or empty. */
  out: string;
  /** Signs the bundle's attestation (the bot's EVIDENCE_SIGNING_KEY); unsigned without it. */
  signingKey?: KeyObject;
  /**
   * Records the finished run in its commit's ledger of attempts (the bot's) before the bundle is written,
   * and returns the ledger, which the bundle then carries (attempt-ledger.jsonl, the front page, the
   * approval log). Undefined: the bundle has no ledger.
   */
  recordAttempt?(run: GateRun): Promise<RunAttempts | undefined>;
}

/**
 * The finished run, once its bundle is written. `stopped` says whether the signal had stopped the run by
 * the time it ended (a stop that comes while the bundle is written does not count).
 */
export async function runToBundle(gate: Gate, o: RunToBundleOptions): Promise<{ run: GateRun; stopped: boolean }> {
  // The service's raw logs go to a scratch folder; the bundle keeps a redacted copy.
  const logDir = await mkdtemp(join(tmpdir(), "release-gate-logs-"));
  try {
    const run = await executeRun(gate, { ...o, logDir });
    const stopped = o.signal?.aborted ?? false;
    const attempts = await o.recordAttempt?.(run);
    if (attempts) run.attempts = attempts;
    await writeEvidenceBundle(o.out, run, { signingKey: o.signingKey });
    return { run, stopped };
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}
