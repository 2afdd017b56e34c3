// The war room's cadence for runs that wait: a run queued behind another gets a status update at its
// gate's `updates: { every: … }` cadence (how long it has waited, behind whom, TIME TO DEADLINE), edited
// into its war-room comment, and the escalation list if the deadline turns it RED. Runs that are running
// get theirs from the gate engine; this covers the queue, from the bot's own process.

import { onTheClock, milestoneUpdate } from "../../gates/war-room/index.js";
import { formatDuration } from "../../gates/model/index.js";
import type { BotLog } from "../boot/bot-log.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { GitHub } from "../github/github.js";
import type { RunState } from "./run-state.js";
import { refreshWarRoom } from "../github/war-room-comment.js";
import { escalate } from "./war-room-live.js";

export interface QueueCadenceDeps {
  state: RunState;
  gates: GateCatalog;
  github(installationId: number): Promise<GitHub>;
  log: BotLog;
}

/** One pass over the queued runs: those whose last update is older than their gate's cadence get a new one. */
export async function queueCadenceTick(deps: QueueCadenceDeps, now = new Date()): Promise<string[]> {
  const updated: string[] = [];
  for (const run of await deps.state.recentRuns(500)) {
    if (run.phase !== "queued") continue;
    const gate = deps.gates.byName(run.gate);
    if (!gate?.updates || !run.warRoomCommentId) continue;
    const last = Date.parse(run.lastUpdate?.time ?? run.requestedAt);
    if (now.getTime() - last < gate.updates.everyMs) continue;
    const behind = run.waitingBehind
      ? `behind @${run.waitingBehind.requestedBy}'s \`${run.waitingBehind.label}\` (run ${run.waitingBehind.id})`
      : "for a runner";
    const u = onTheClock(
      gate,
      milestoneUpdate(
        gate,
        {
          kind: "status",
          activity: `queued ${behind}`,
          progress: `waiting ${formatDuration(now.getTime() - Date.parse(run.requestedAt))} ${behind}`,
        },
        now,
      ),
      new Date(run.requestedAt),
      Boolean(run.escalatedAt),
    );
    const record = await deps.state.update(run.id, (r) => (r.phase === "queued" ? { lastUpdate: u } : null));
    if (!record || record.lastUpdate !== u) continue;
    const github = await deps.github(record.installationId);
    if (u.escalation) await escalate(github, deps.state, record, gate, u, deps.log);
    await refreshWarRoom(github, gate, record, deps.log);
    updated.push(record.id);
  }
  return updated;
}

/** Runs the tick every `tickMs` (default 30 s) until stopped; a failed tick is logged, not fatal. */
export function startQueueCadence(deps: QueueCadenceDeps, tickMs = 30_000): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => queueCadenceTick(deps))
      .catch((err: unknown) => deps.log.warn({ err }, "the queue's status cadence failed"));
  }, tickMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
