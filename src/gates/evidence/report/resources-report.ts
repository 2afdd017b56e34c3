// What a run cost and where it ran, for the bundle's front pages and files: CPU per request of the
// driver, the server and the workers per phase, the machine record, and each phase's latency over
// time (shown before anything else, since a stall is seen there first). Pure: data in, text out.

import { type GateRun, type PhaseResult, type MachineRecord, type MachineSnapshot, formatCount } from "../../model/index.js";
import type { LatencyTimeline } from "./latency-timeline.js";
import { escapeHtml, markdownCell, markdownTable } from "./report-format.js";

export interface TimelineFiles {
  timeline: LatencyTimeline;
  svg: string;
  files: { json: string; csv: string; svg: string };
}

/** Where the CPU and machine records are kept: with the replay logs (evidence item 1). */
export const RESOURCE_FILES = { cpu: "01-replay-logs/cpu.json", machine: "01-replay-logs/machine.json" } as const;

const HOW_CPU =
  "Process CPU time (user + system) over the phase, divided by its requests: the driver from process.cpuUsage() over the replay; the server and the workers from utime + stime in /proc/<pid>/stat (clock ticks, getconf CLK_TCK) over the replay and the drain; the workers per event accepted.";

/** The machine in one line, for the summary and the war room; pure. */
export function machineLine(m: MachineRecord): string {
  const pressure = (s: MachineSnapshot | null) => (s?.cpuPressure?.some ? `${s.cpuPressure.some.avg10}%` : "n/a");
  const load = (s: MachineSnapshot | null) => (s ? s.loadAverage[0].toFixed(2) : "n/a");
  const j = m.eventLoopBaseline;
  const jitter = j
    ? `idle event-loop delay over ${j.durationMs / 1000} s p99 ${j.p99} ms, p99.9 ${j.p999} ms, max ${j.max} ms`
    : "idle event-loop delay not measured";
  return `${m.cpuModel}, ${m.cores} cores, Node ${m.node.replace(/^v/, "")}; load ${load(m.before)} before, ${load(m.after)} after; CPU pressure (some, avg10) ${pressure(m.before)} before, ${pressure(m.after)} after; ${jitter}`;
}

export function cpuDocument(run: GateRun): unknown {
  return {
    method: HOW_CPU,
    phases: run.phases.map((p) => ({
      phase: p.name,
      ran: p.ran,
      ...(p.resources ? p.resources.cpu : { note: p.ran ? "not measured" : "did not run" }),
    })),
  };
}

export function machineDocument(run: GateRun): unknown {
  const machine = run.machine
    ? { ...run.machine, summary: machineLine(run.machine) }
    : { note: "the machine was not recorded (the run stopped before its first phase)" };
  const otherWork = run.phases.filter((p) => p.ran).map((p) => ({ phase: p.name, summary: hostLine(p), ...(p.contention ?? {}) }));
  return { ...machine, otherWork, otherWorkMethod: HOW_HOST };
}

const HOW_HOST =
  "Once a second during each phase: the machine's busy CPU (/proc/stat) less the CPU of this run's processes (the driver, the service's server and workers, the Redis and PostgreSQL processes that serve them), plus steal, in cores. " +
  "A second over the limit, and the second after it, is contended; a latency FAIL must also hold on the requests due outside contended seconds, else the phase is INCONCLUSIVE.";

/** "peak 0.06 cores of other work, none over 0.25" for one phase. */
export function hostLine(p: PhaseResult): string {
  const c = p.contention;
  if (!c) return p.ran ? "not measured" : "did not run";
  const spans = c.contended.length
    ? `contended ${c.contended.map((x) => `${(x.fromMs / 1000).toFixed(0)}-${(x.toMs / 1000).toFixed(0)} s`).join(", ")} (${c.requestsInContended} requests due then)`
    : `none over ${c.limitCores} cores`;
  const who = c.topForeign.length
    ? `; busiest: ${c.topForeign
        .slice(0, 3)
        .map((x) => `${x.command} (${x.cpuSeconds.toFixed(1)} CPU-s)`)
        .join(", ")}`
    : "";
  return `other work peaked at ${c.peakForeignCores.toFixed(2)} cores (mean ${c.meanForeignCores.toFixed(2)}), ${spans}${who}`;
}

const us = (x: number | null): string => (x === null ? "n/a" : `${Math.round(x)} µs`);

/** "driver 120 µs/request, server 180 µs/request, workers 90 µs/event" for one phase. */
export function cpuLine(p: PhaseResult): string {
  const c = p.resources?.cpu;
  if (!c) return p.ran ? "not measured" : "did not run";
  return `driver ${us(c.driverUsPerRequest)}/request, server ${us(c.serverUsPerRequest)}/request, workers ${us(c.workersUsPerEvent)}/event (${formatCount(c.requests)} requests, ${formatCount(c.events)} events)`;
}

/** `inBundle`: the bundle's files; a record the gate file did not ask for (no replay logs) is not linked. */
export function resourcesMarkdown(run: GateRun, timelines: TimelineFiles[], inBundle: ReadonlySet<string>): string[] {
  const link = (path: string, before: string, after: string) => (inBundle.has(path) ? `${before}[${path}](${path})${after}` : "");
  const out: string[] = [
    "## Latency over time",
    "",
    "Per second: P50, P95 and max latency of the requests due in it, the send lag they met, the 202s answered in it and the service's queue depth. Stalls show here first.",
    "",
  ];
  for (const t of timelines) {
    out.push(
      `![${markdownCell(t.timeline.phase)} latency over time](${t.files.svg})`,
      "",
      `${t.timeline.phase}: [svg](${t.files.svg}) · [json](${t.files.json}) · [csv](${t.files.csv})`,
      "",
    );
  }
  out.push(
    "## CPU per request",
    "",
    markdownTable(
      ["Phase", "CPU per request"],
      run.phases.map((p) => [p.name, cpuLine(p)]),
      "no phase",
    ),
    "",
    `${HOW_CPU}${link(RESOURCE_FILES.cpu, " Data: ", ".")}`,
    "",
    `**Machine**: ${run.machine ? machineLine(run.machine) : "not recorded"}${link(RESOURCE_FILES.machine, " (", ")")}.`,
    "",
    markdownTable(
      ["Phase", "Other work on the machine"],
      run.phases.filter((p) => p.ran).map((p) => [p.name, hostLine(p)]),
      "no phase ran",
    ),
    "",
    HOW_HOST,
    "",
  );
  return out;
}

export function resourcesHtml(run: GateRun, timelines: TimelineFiles[], inBundle: ReadonlySet<string>): string[] {
  const e = escapeHtml;
  const link = (path: string, text: string) => (inBundle.has(path) ? ` <a href="${path}">${text}</a>` : "");
  const out: string[] = [
    `<h2>Latency over time</h2>`,
    `<p>Per second: P50, P95 and max latency of the requests due in it, the send lag they met, the 202s answered in it and the service's queue depth.</p>`,
  ];
  for (const t of timelines) {
    out.push(
      `<section class="timeline-panel" data-phase="${e(t.timeline.phase)}">`,
      t.svg.trim(),
      `<p>Data: <a href="${e(t.files.json)}">${e(t.files.json)}</a> · <a href="${e(t.files.csv)}">${e(t.files.csv)}</a> · <a href="${e(t.files.svg)}">${e(t.files.svg)}</a></p>`,
      `</section>`,
    );
  }
  out.push(
    `<p class="cpu">CPU per request: ${run.phases.map((p) => `<strong>${e(p.name)}</strong> ${e(cpuLine(p))}`).join("; ") || "no phase"}.${link(RESOURCE_FILES.cpu, "cpu.json")}</p>`,
    `<p class="machine">Machine: ${e(run.machine ? machineLine(run.machine) : "not recorded")}.${link(RESOURCE_FILES.machine, "machine.json")}</p>`,
    `<p class="other-work">Other work on the machine: ${
      run.phases
        .filter((p) => p.ran)
        .map((p) => `<strong>${e(p.name)}</strong> ${e(hostLine(p))}`)
        .join("; ") || "no phase ran"
    }.</p>`,
  );
  return out;
}
