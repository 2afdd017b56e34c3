// The tail of a gate engine stub that decides at once: the verdict's war-room update, the attempt recorded
// in its commit's ledger, and the signed bundle, as runToBundle hands them to the bot. For tests that give
// the bot's runner a run built from the fixture instead of a replay.

import type { Gate } from "../../../src/gates/model/gate.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import type { runToBundle } from "../../../src/gates/run/run-to-bundle.js";
import { milestoneUpdate } from "../../../src/gates/war-room/war-room-formats.js";

export async function decidedRun(
  gate: Gate,
  run: GateRun,
  o: Parameters<typeof runToBundle>[1],
): Promise<{ run: GateRun; stopped: boolean }> {
  const u = milestoneUpdate(gate, { kind: "verdict", run }, new Date(), { origin: o.origin, attempt: o.attempt });
  run.updates = [...run.updates, u];
  await o.observer?.update?.(u, run);
  const attempts = await o.recordAttempt?.(run);
  if (attempts) run.attempts = attempts;
  await writeEvidenceBundle(o.out, run, { signingKey: o.signingKey });
  return { run, stopped: false };
}
