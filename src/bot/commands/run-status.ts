// The `/gate-a status` reply: what holds the gate on this repository, what waits, and the runs of this
// PR with their verdicts and links. Pure rendering of run records.

import type { Gate } from "../../gates/model/index.js";
import { formatUtcTime } from "../../gates/war-room/index.js";
import type { RunRecord, Slot } from "../runs/run-state.js";

function describe(r: RunRecord): string {
  const link = r.warRoomUrl ? ` ([war room](${r.warRoomUrl}))` : "";
  return `run \`${r.id}\`: \`${r.label}\` on ${r.headSha.slice(0, 7)} (PR #${r.pullNumber}), requested by @${r.requestedBy}${link}`;
}

function outcome(r: RunRecord): string {
  const stale = r.staleSince ? " · ⚠️ stale" : "";
  switch (r.phase) {
    case "queued":
      return `waiting${stale}`;
    case "running": {
      const latest = r.lastUpdate ? `: ${r.lastUpdate.milestone} (${r.lastUpdate.status}, ${formatUtcTime(r.lastUpdate.time)})` : "";
      return `running${r.abortRequestedBy ? ", abort requested" : ""}${latest}${stale}`;
    }
    case "finished": {
      const evidence = r.evidenceUrl ? ` · [evidence PR](${r.evidenceUrl})` : "";
      return `${r.aborted ? "aborted, " : ""}**${r.verdict ?? "ERROR"}**: ${r.reason ?? ""}${evidence}${stale}`;
    }
    case "cancelled":
      return `cancelled: ${r.cancelledBecause ?? ""}`;
    case "lost":
      return `failed: ${r.reason ?? "its runner stopped"}`;
  }
}

export function renderStatus(gate: Gate, repository: string, slot: Slot, pullNumber: number, pullRuns: RunRecord[]): string {
  const active = slot.active && (slot.active.phase === "running" || slot.active.phase === "queued") ? slot.active : null;
  const lines = [`**${gate.title} status** on ${repository}`, ""];
  lines.push(active ? `- Now: ${describe(active)}; ${outcome(active)}.` : `- Now: nothing is running.`);
  lines.push(slot.waiting ? `- Waiting: ${describe(slot.waiting)}.` : `- Waiting: nothing.`);
  const mine = pullRuns
    .filter((r) => r.gate === gate.name)
    .slice(-5)
    .reverse();
  lines.push(
    "",
    mine.length
      ? `Runs on PR #${pullNumber} (latest first):`
      : `No ${gate.title} run on PR #${pullNumber} yet: \`${gate.command.prefix} replay <phase>\` starts one.`,
  );
  for (const r of mine) lines.push(`- \`${r.label}\` on ${r.headSha.slice(0, 7)} (run \`${r.id}\`, @${r.requestedBy}): ${outcome(r)}`);
  return lines.join("\n");
}
