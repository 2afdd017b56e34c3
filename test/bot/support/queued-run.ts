// A run record as the bot writes it when a `/gate-a replay 1k` is queued: the starting point of tests that
// need runs in the bot's state without running one.

import type { RunRecord } from "../../../src/bot/runs/run-state.js";

export function queuedRun(id: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    full: true,
    gate: "gate-a",
    owner: "acme",
    repo: "service",
    installationId: 1,
    pullNumber: 7,
    headSha: "a".repeat(40),
    selector: "1k",
    scope: "smoke",
    label: "replay 1k",
    requestedBy: "octocat",
    requestedAt: new Date().toISOString(),
    phase: "queued",
    ...extra,
  };
}
