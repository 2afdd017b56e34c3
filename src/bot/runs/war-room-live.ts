// What a runner adds to the war room beyond the PR comment: live phase progress in Redis for the
// web pages, the phase table's rows, and the escalation comment on the first RED update.

import type { Gate, Phase, PhaseResult, WarRoomUpdate } from "../../gates/model/index.js";
import type { ReplayProgress } from "../../gates/measure/index.js";
import { renderWarRoomUpdate } from "../../gates/war-room/index.js";
import type { BotLog } from "../boot/bot-log.js";
import type { GitHub } from "../github/github.js";
import { PhaseProgressTracker, type RunProgress } from "./run-progress.js";
import type { PhaseSummary, RunRecord, RunState } from "./run-state.js";
import { whereOf } from "../github/war-room-comment.js";

/** A phase's row on the war-room page, from its result. */
export function phaseSummaries(results: readonly PhaseResult[]): PhaseSummary[] {
  return results.map((p) => ({
    name: p.name,
    requests: p.requests,
    rate: p.rate,
    barMs: p.latencyBarMs,
    ran: p.ran,
    sent: p.replay?.samples.length ?? 0,
    accepted: p.accepted,
    errors: p.errors.timeouts + p.errors.transport + Object.entries(p.errors.byStatus).reduce((n, [, c]) => n + c, 0),
    p95Ms: p.latency?.p95 ?? null,
    verdict: p.verdict,
    reason: p.reason,
  }));
}

/**
 * The replay's progress callback for a runner: history kept in memory, written to Redis at most once a
 * second (one small HSET; the replay driver shares this event loop and must keep its schedule).
 */
export function progressReporter(
  store: RunProgress,
  runId: string,
  log: BotLog,
  minIntervalMs = 1000,
): (phase: Phase, p: ReplayProgress) => void {
  const trackers = new Map<string, PhaseProgressTracker>();
  let lastWrite = 0;
  return (phase, p) => {
    let tracker = trackers.get(phase.name);
    if (!tracker) trackers.set(phase.name, (tracker = new PhaseProgressTracker(phase)));
    const snapshot = tracker.next(p);
    const now = Date.now();
    if (now - lastWrite < minIntervalMs && p.sent < p.total) return;
    lastWrite = now;
    store.write(runId, snapshot).catch((err: unknown) => log.warn({ err, runId }, "could not record replay progress"));
  };
}

/** "@alice @acme/release-captains": logins get an @, teams have theirs. */
export function mentions(who: readonly string[]): string {
  return who.map((w) => (w.startsWith("@") ? w : `@${w}`)).join(" ");
}

/**
 * Mentions the gate's escalation list in a new comment on the PR (an edit would notify nobody), once per
 * run: the record's escalatedAt is set first, in one atomic update, so a second RED never posts again.
 */
export async function escalate(
  github: GitHub,
  state: RunState,
  record: RunRecord,
  gate: Gate,
  u: WarRoomUpdate,
  log: BotLog,
): Promise<void> {
  const at = new Date().toISOString();
  const marked = await state.update(record.id, (r) => (r.escalatedAt ? null : { escalatedAt: at })).catch(() => null);
  if (!marked || marked.escalatedAt !== at || !u.escalation?.length) return;
  const body =
    `🚨 **${gate.title} is RED** (run \`${record.id}\`, \`${record.label}\` on ${record.headSha.slice(0, 7)}): escalating to ${mentions(u.escalation)}.\n\n` +
    "```\n" +
    renderWarRoomUpdate(u) +
    "\n```\n\n" +
    `The gate file's \`escalation:\` list is mentioned once per run.${record.warRoomUrl ? ` [War room](${record.warRoomUrl})` : ""}`;
  try {
    await github.rest.issues.createComment({ ...whereOf(record), issue_number: record.pullNumber, body });
  } catch (err) {
    log.warn({ err, runId: record.id }, "could not post the escalation");
  }
}
