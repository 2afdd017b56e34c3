// The war room's formats: status updates (TIME/MILESTONE/STATUS/...), the timeline table, the
// decision log and the verdict tables. Pure text in, text out: the CLI prints it, the bot posts it.

import {
  type Gate,
  type Phase,
  type Decision,
  type GateRun,
  type PhaseResult,
  type PhaseVerdict,
  type RunOrigin,
  type Status,
  type TimelineEntry,
  type Verdict,
  type WarRoomUpdate,
  attemptRuleOf,
  formatCount,
  formatCountShort,
  formatDuration,
  formatMs,
  formatRate,
} from "../model/index.js";
import { goWithheld, retryAllowance, type AttemptOutcome, VERDICT_MEANING, baselineLine } from "../verdict/index.js";

export type VerdictSummary = Pick<GateRun, "verdict" | "reason" | "phases"> & Partial<Pick<GateRun, "baseline">>;

/**
 * A point in a run worth telling the war room about. `phases` are the selected ones (default: all
 * of the gate's); `results` the phase results so far; `phase` a phase or its name.
 */
export type Milestone =
  | { kind: "deploy"; phases?: Phase[]; error?: string; blockers?: string }
  | { kind: "phase_start"; phase: Phase | string; results?: PhaseResult[]; phases?: Phase[]; blockers?: string }
  | { kind: "phase_end"; phase: Phase | string; result: PhaseResult; results?: PhaseResult[]; phases?: Phase[]; blockers?: string }
  | { kind: "verdict"; run: VerdictSummary; blockers?: string }
  /** A check around the phases (a pre-flight check, the capacity probe), with the status it earns. */
  | { kind: "check"; title: string; status: Status; progress: string; next: string; blockers?: string }
  /** A status update at the gate's cadence (`updates: { every: 30min }`), between milestones. */
  | { kind: "status"; activity: string; progress: string; phases?: Phase[]; blockers?: string };

const VERDICT_ICON: Record<Verdict, string> = Object.fromEntries(Object.entries(VERDICT_MEANING).map(([v, m]) => [v, m.icon])) as Record<
  Verdict,
  string
>;
/** A phase's icon: a run verdict's, or skip for a phase that never ran. */
const PHASE_ICON: Record<PhaseVerdict, string> = { ...VERDICT_ICON, NOT_RUN: "⏭️" };
const TIMELINE_ICON: Record<TimelineEntry["status"], string> = {
  done: "✅",
  running: "🔄",
  pending: "⏰",
  failed: "❌",
  skipped: "⏭️",
};

/** "2025-11-12T20:30:00Z" -> "20:30 UTC"; text that is not a time is shown as written. */
export function formatUtcTime(time: string | Date): string {
  const d = typeof time === "string" ? new Date(time) : time;
  if (Number.isNaN(d.getTime())) return String(time);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")} UTC`;
}

/** The update format keeps one field per line, so a multi-line value is folded into one. */
function oneLine(text: string, empty: string): string {
  const t = text.replace(/\s*\n\s*/g, "; ").trim();
  return t === "" ? empty : t;
}

/** Exactly the war room's update format, one field per line. */
export function renderWarRoomUpdate(u: WarRoomUpdate): string {
  return [
    `TIME: ${formatUtcTime(u.time)}`,
    `MILESTONE: ${oneLine(u.milestone, "N/A")}`,
    `STATUS: ${u.status}`,
    `PROGRESS: ${oneLine(u.progress, "N/A")}`,
    `BLOCKERS: ${oneLine(u.blockers, "None")}`,
    `NEXT: ${oneLine(u.next, "N/A")}`,
    `ETA: ${oneLine(u.eta, "N/A")}`,
    ...(u.timeToDeadline ? [`TIME TO DEADLINE: ${oneLine(u.timeToDeadline, "N/A")}`] : []),
    `OWNER: ${oneLine(u.owner, "N/A")}`,
    ...(u.escalation?.length ? [`ESCALATION: ${u.escalation.map((w) => (w.startsWith("@") ? w : `@${w}`)).join(", ")}`] : []),
  ].join("\n");
}

/** A markdown table cell: pipes would end the cell early, newlines the row. */
function cell(text: string): string {
  return text
    .replace(/\|/g, "\\|")
    .replace(/\s*\n\s*/g, " ")
    .trim();
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((h) => "-".repeat(h.length + 2)).join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

/** The timeline as the war room keeps it: time, milestone, owner, status, blocker. */
export function renderTimeline(entries: TimelineEntry[]): string {
  return table(
    ["Time (UTC)", "Milestone", "Owner", "Status", "Blocker"],
    entries.map((e) => [
      formatUtcTime(e.time).replace(/ UTC$/, ""),
      e.milestone,
      e.owner,
      `${TIMELINE_ICON[e.status]} ${e.status}`,
      e.blocker.trim() || "N/A",
    ]),
  );
}

/** The decision log, numbered in the order given, in the war room's layout. */
export function renderDecisionLog(decisions: Decision[]): string {
  if (decisions.length === 0) return "## Decision Log\n\nNo decisions recorded.";
  const blocks = decisions.map((d, i) =>
    [
      `### Decision #${i + 1}: ${oneLine(d.title, "Untitled")}`,
      `**Time**: ${formatUtcTime(d.time)}  `,
      `**Authority**: ${oneLine(d.authority, "N/A")}  `,
      `**Decision**: ${oneLine(d.decision, "N/A")}  `,
      `**Rationale**: ${oneLine(d.rationale, "N/A")}`,
    ].join("\n"),
  );
  return ["## Decision Log", ...blocks].join("\n\n");
}

function markdownBar(bar: string): string {
  return bar.replace(/^<=/, "≤").replace(/^>=/, "≥").replace(/^==/, "=");
}

function phaseLabel(p: PhaseResult): string {
  return `${formatCount(p.requests)} requests at ${formatRate(p.rate)}`;
}

/** Markdown: a summary row per phase and overall, then each phase's objectives. */
export function renderVerdictTable(run: VerdictSummary): string {
  const head = `**Gate verdict: ${VERDICT_ICON[run.verdict]} ${run.verdict}**: ${cell(run.reason)}`;
  const summary = table(
    ["Phase", "Requests", "Rate", "Verdict", "Reason"],
    [
      ...run.phases.map((p) => [
        p.name,
        formatCount(p.requests),
        formatRate(p.rate),
        p.ran ? `${PHASE_ICON[p.verdict]} ${p.verdict}` : `${PHASE_ICON.NOT_RUN} not run`,
        p.reason,
      ]),
      [
        "**Overall**",
        formatCount(run.phases.reduce((n, p) => n + (p.ran ? p.requests : 0), 0)),
        "",
        `${VERDICT_ICON[run.verdict]} **${run.verdict}**`,
        run.reason,
      ],
    ],
  );
  const details = run.phases
    .filter((p) => p.ran)
    .map((p) =>
      [
        `**${p.name}** (${phaseLabel(p)}): ${PHASE_ICON[p.verdict]} ${p.verdict}`,
        "",
        table(
          ["SLO", "Measured", "Bar", "Verdict"],
          p.slos.map((s) => [s.name, s.measuredDisplay, markdownBar(s.bar), `${VERDICT_ICON[s.verdict]} ${s.verdict}`]),
        ),
      ].join("\n"),
    );
  return [head, summary, ...details].join("\n\n");
}

/** Terminal form: aligned plain-text columns, one row per objective, then each phase and overall. */
export function renderPlainVerdictTable(run: VerdictSummary): string {
  const rows: string[][] = [["PHASE", "SLO", "MEASURED", "BAR", "VERDICT", ""]];
  for (const p of run.phases) {
    // Runners are named for a phase driven through them (`--runners N`), not for this process's own flow of one shard.
    const runners = p.runners;
    const label = `${p.name} (${formatCountShort(p.requests)}@${formatRate(p.rate)}${runners ? `, ${runners} runner${runners === 1 ? "" : "s"}` : ""})`;
    if (!p.ran) {
      rows.push([label, "-", "not run", "", "-", p.reason]);
      continue;
    }
    p.slos.forEach((s, i) =>
      rows.push([i === 0 ? label : "", s.name, s.measuredDisplay, s.bar, s.verdict, s.verdict === "PASS" ? "" : (s.detail ?? "")]),
    );
    rows.push(["", "= phase", "", "", p.verdict, p.reason]);
  }
  rows.push(["OVERALL", "", "", "", run.verdict, run.reason]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows
    .map((r) =>
      r
        .map((v, c) => (c === r.length - 1 ? v : v + " ".repeat(widths[c]! - [...v].length)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

// ---- milestone updates ------------------------------------------------------------------------

function phaseHeadline(p: Phase): string {
  return `${p.name}: ${formatCountShort(p.requests)} replay at ${formatRate(p.rate)} (P95 <= ${formatMs(p.latencyP95Ms)})`;
}

/** Replay time of the given phases: the offered schedule, requests / rate (drains not included). */
function replayMs(phases: Phase[]): number {
  return phases.reduce((ms, p) => ms + (p.requests / p.rate) * 1000, 0);
}

function etaAfter(now: Date, phases: Phase[]): string {
  const ms = replayMs(phases);
  return `${formatUtcTime(new Date(now.getTime() + ms))} (~${formatDuration(ms)} of replay, plus drains)`;
}

function targetText(gate: Gate): string {
  const t = gate.target;
  return t.kind === "bundled"
    ? `bundled ingest service (${t.mode} mode, ${t.workers} worker${t.workers === 1 ? "" : "s"}, batch ${t.batchSize})`
    : `deployed service at ${t.url}`;
}

function signoffText(gate: Gate): string {
  const s = gate.signoff;
  if (s.approvals === 0) return "no sign-off required: promote per the release plan";
  const who = s.approvers.length ? s.approvers.join(", ") : `anyone with ${s.permission} permission`;
  return `sign-off: ${s.approvals} approval${s.approvals === 1 ? "" : "s"} from ${who} on the evidence PR`;
}

function passedSoFar(done: PhaseResult[] | undefined): string {
  if (!done || done.length === 0) return "target deployed and ready";
  return done.map((r) => `${r.name} ${r.verdict}`).join(", ");
}

/** A run's attempt on its commit: its number (1-based) and the outcomes of the attempts before it, in order. */
export interface RetryContext {
  number: number;
  earlier: AttemptOutcome[];
}

/** Where a run came from and which attempt it is: what NEXT may name. */
export interface RunContext {
  origin?: RunOrigin;
  attempt?: RetryContext;
}

/**
 * The command that runs the gate again where this run came from: the PR command, the workflow's dispatch,
 * `gate run`, or a new deployment. `every`: the one that runs every phase (after a PARTIAL).
 */
export function rerunCommand(gate: Gate, origin: RunOrigin | undefined, every = false): string {
  if (origin?.kind === "actions") {
    const file = origin.workflow.split("/").pop() ?? origin.workflow;
    return `\`gh workflow run ${file}${every ? " -f phase=all" : ""}\` (a workflow_dispatch of ${origin.workflow})`;
  }
  if (origin?.kind === "pr") return every ? `\`${gate.command.prefix} replay all\`` : `\`${origin.command}\``;
  if (origin?.kind === "deployment") return `a new deployment to ${origin.environment}`;
  const command = origin?.command ?? `gate run ${gate.source.file}`;
  return `\`${every ? command.replace(/\s+--phase(?:=|\s+)\S+/, "") : command}\``;
}

/** After a run that was not a GO: what the gate's retry rule still allows on this commit, and how. */
function retryText(gate: Gate, ctx: RunContext, verdict: Verdict, full: boolean): string {
  if (!ctx.attempt) return "";
  const rule = attemptRuleOf(gate);
  const outcomes = [...ctx.attempt.earlier, { verdict, full }];
  return `; on this commit: ${retryAllowance(rule, ctx.attempt.number, outcomes)}`;
}

/** Builds the update for a milestone: STATUS GREEN on track, YELLOW running, RED failed or blocked. */
export function milestoneUpdate(gate: Gate, milestone: Milestone, now: Date | string, ctx: RunContext = {}): WarRoomUpdate {
  const at = typeof now === "string" ? new Date(now) : now;
  const time = at.toISOString();
  const owner = gate.statusOwner;
  const selected = ("phases" in milestone && milestone.phases) || gate.phases;
  const indexOf = (phase: Phase | string) => {
    const name = typeof phase === "string" ? phase : phase.name;
    return selected.findIndex((p) => p.name === name);
  };
  const nameOf = (phase: Phase | string) => (typeof phase === "string" ? phase : phase.name);
  const blockers = milestone.blockers ?? "";
  const rerun = rerunCommand(gate, ctx.origin);

  switch (milestone.kind) {
    case "deploy": {
      if (milestone.error) {
        return {
          time,
          milestone: `Deploy ${targetText(gate)}`,
          status: "RED",
          progress: "deploy failed; no phase ran",
          blockers: [milestone.error, blockers].filter(Boolean).join("; "),
          next: `fix the deployment and re-run (${rerun})`,
          eta: "blocked",
          owner,
        };
      }
      const first = selected[0];
      return {
        time,
        milestone: `Deploy ${targetText(gate)}`,
        status: "GREEN",
        progress: "target deployed and ready",
        blockers,
        next: first ? `start ${phaseHeadline(first)}` : "no phases selected",
        eta: etaAfter(at, selected),
        owner,
      };
    }
    case "phase_start": {
      const i = indexOf(milestone.phase);
      const phase = selected[i];
      const remaining = i >= 0 ? selected.slice(i) : [];
      const after = selected[i + 1];
      return {
        time,
        milestone: phase
          ? `Phase ${i + 1}/${selected.length} started: ${phaseHeadline(phase)}`
          : `Phase ${nameOf(milestone.phase)} started`,
        status: "YELLOW",
        progress: passedSoFar(milestone.results),
        blockers,
        next: `replay, drain, check; then ${after ? phaseHeadline(after) : "the verdict"}`,
        eta: remaining.length ? etaAfter(at, remaining) : "N/A",
        owner,
      };
    }
    case "phase_end": {
      const r = milestone.result;
      const name = nameOf(milestone.phase);
      const i = indexOf(milestone.phase);
      const after = selected.slice(i + 1);
      const passed = r.verdict === "PASS";
      // An INCONCLUSIVE phase does not stop the run: a later FAIL still decides, a later PASS cannot.
      const goesOn = passed || (r.verdict === "INCONCLUSIVE" && after.length > 0);
      const status: Status = passed ? "GREEN" : r.verdict === "INCONCLUSIVE" ? "YELLOW" : "RED";
      return {
        time,
        milestone: `Phase ${i + 1}/${selected.length} ${r.verdict}: ${name}`,
        status,
        progress: passed ? `${name} PASS: ${r.reason}` : `${name} ${r.verdict} (see blockers)`,
        blockers: passed ? blockers : [r.reason, blockers].filter(Boolean).join("; "),
        next: goesOn
          ? after[0]
            ? `start ${phaseHeadline(after[0])}${passed ? "" : ` (a FAIL there still decides the run; a PASS cannot make ${name} pass)`}`
            : "verdict and evidence bundle"
          : `stop: later phases do not run; fix and re-run (${rerun})`,
        eta: goesOn ? (after.length ? etaAfter(at, after) : formatUtcTime(at)) : "blocked",
        owner,
      };
    }
    case "check":
      return {
        time,
        milestone: milestone.title,
        status: milestone.status,
        progress: milestone.progress,
        blockers: [milestone.status === "RED" ? milestone.progress : "", blockers].filter(Boolean).join("; "),
        next: milestone.next,
        eta: milestone.status === "RED" ? "blocked" : "N/A",
        owner,
      };
    case "status":
      return {
        time,
        milestone: `Status update: ${milestone.activity}`,
        status: "YELLOW",
        progress: milestone.progress,
        blockers,
        next: "the next milestone",
        eta: "N/A",
        owner,
      };
    case "verdict": {
      const v = milestone.run.verdict;
      const full = milestone.run.phases.length >= gate.phases.length && milestone.run.phases.every((p) => p.ran);
      const retry = retryText(gate, ctx, v, full);
      // A PASS the retry rule does not let become a GO (consecutive_passes still short): say so, and what comes next.
      const withheld = v === "PASS" && ctx.attempt ? goWithheld(attemptRuleOf(gate), [...ctx.attempt.earlier, { verdict: v, full }]) : null;
      // The run compared with (or "no baseline: this GO is not compared"), for a gate with `baseline:`.
      const compared = baselineLine(milestone.run.baseline);
      return {
        time,
        milestone: `${gate.title}: PASS/FAIL decision: ${v}`,
        status: v === "PASS" ? "GREEN" : v === "PARTIAL" || v === "INCONCLUSIVE" ? "YELLOW" : "RED",
        progress:
          (milestone.run.phases.length
            ? milestone.run.phases.map((p) => `${p.name} ${p.ran ? p.verdict : "not run"}`).join(", ")
            : milestone.run.reason) + (compared ? `; ${compared}` : ""),
        blockers: v === "PASS" ? blockers : [milestone.run.reason, blockers].filter(Boolean).join("; "),
        next:
          v === "PASS"
            ? withheld
              ? `no GO yet: ${withheld}; run again (${rerun})${retry}`
              : signoffText(gate)
            : v === "PARTIAL"
              ? `run every phase for a GO (${rerunCommand(gate, ctx.origin, true)})${retry}`
              : v === "INCONCLUSIVE"
                ? `re-run on a quieter machine, or on a machine of the driver's own (${rerun})${retry}`
                : `fix what failed and re-run (${rerun})${retry}`,
        eta: v === "PASS" && !withheld ? (gate.signoff.approvals ? "awaiting sign-off" : "now") : "blocked",
        owner: `${gate.dri} (DRI)`,
      };
    }
  }
}
