// Other work on the machine during a phase. A latency FAIL should say something about the service,
// not about whatever else the host ran at the time (a build, a browser, a neighbour's test suite,
// a hypervisor's steal). Once a second the phase monitor reads the machine's CPU (/proc/stat) and the
// CPU of the processes this run accounts for: the driver, the service's server and workers, and the
// local Redis and PostgreSQL it talks to. What is left over, plus steal, is foreign CPU. Seconds with
// more than FOREIGN_CORES_LIMIT of it (and the second after each, while a backlog clears) are
// contended; a FAIL must then stand on the requests due outside them, else the phase is INCONCLUSIVE.
// A PASS is never affected: other work can only make the service look slower.

import { readdirSync, readFileSync } from "node:fs";
import { cpuTicksOfStat, clockTicksPerSecond } from "./process-cpu.js";
import { driverFreeLowerBound } from "./replay-validity.js";

/** Foreign CPU above this many cores in a second makes that second contended. A quiet 2-core host measures under 0.1. */
export const FOREIGN_CORES_LIMIT = 0.25;
/** A contended second also taints the one after it: the service's backlog takes that long to clear. */
export const GUARD_MS = 1_000;
/** How often the monitor reads the machine, ms. */
export const HOST_SAMPLE_MS = 1_000;
/** Foreign processes named in the evidence, the busiest first. */
const NAMED_PROCESSES = 5;

/** Machine-wide CPU ticks from the first line of /proc/stat; pure. */
export function parseProcStat(text: string): { busy: number; steal: number } | null {
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) return null;
  const f = m[1].trim().split(/\s+/).map(Number);
  if (f.length < 8 || f.slice(0, 8).some((x) => !Number.isInteger(x) || x < 0)) return null;
  const [user, nice, system, , , irq, softirq, steal] = f;
  return { busy: user + nice + system + irq + softirq, steal };
}

/** One second of the host, as the phase monitor saw it. */
export interface HostSample {
  /** End of the second, wall-clock ms. */
  atWallMs: number;
  /** CPU outside this run (machine busy less the run's processes, never below 0) plus steal, in cores. */
  foreignCores: number;
}

/** The busiest processes outside the run over the phase (CPU seconds). */
export interface ForeignProcess {
  pid: number;
  command: string;
  cpuSeconds: number;
}

/** What the verdict and the evidence get: when the host was busy with other work, and who did it. */
export interface HostContention {
  limitCores: number;
  /** Contended spans on the replay's clock (ms since t0), guard included. */
  contended: { fromMs: number; toMs: number; peakForeignCores: number }[];
  /** Requests due inside a contended span. */
  requestsInContended: number;
  /** Peak and mean foreign CPU over the phase, cores. */
  peakForeignCores: number;
  meanForeignCores: number;
  /** The P95 lower bound less the driver's delays, from the requests due outside contended spans; null when too few. */
  cleanFreeP95LowerMs: number | null;
  cleanRequests: number;
  topForeign: ForeignProcess[];
}

/** The contended spans and the clean lower bound: pure. `t0WallMs` is the replay's t0. */
export function judgeContention(
  samples: HostSample[],
  t0WallMs: number,
  requests: ArrayLike<{ dueAt: number; latencyMs: number; ownLagMs?: number; sendLagMs: number }>,
  topForeign: ForeignProcess[] = [],
  limitCores = FOREIGN_CORES_LIMIT,
): HostContention {
  const contended: HostContention["contended"] = [];
  let peak = 0;
  let sum = 0;
  for (const s of samples) {
    peak = Math.max(peak, s.foreignCores);
    sum += s.foreignCores;
    if (s.foreignCores <= limitCores) continue;
    const fromMs = Math.max(0, s.atWallMs - HOST_SAMPLE_MS - t0WallMs);
    const toMs = s.atWallMs + GUARD_MS - t0WallMs;
    const last = contended[contended.length - 1];
    if (last && fromMs <= last.toMs) {
      last.toMs = Math.max(last.toMs, toMs);
      last.peakForeignCores = Math.max(last.peakForeignCores, s.foreignCores);
    } else contended.push({ fromMs, toMs, peakForeignCores: s.foreignCores });
  }
  const latencies: number[] = [];
  const lags: number[] = [];
  let inContended = 0;
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i];
    if (contended.some((c) => r.dueAt >= c.fromMs && r.dueAt < c.toMs)) {
      inContended++;
      continue;
    }
    latencies.push(r.latencyMs);
    lags.push(r.ownLagMs ?? r.sendLagMs);
  }
  return {
    limitCores,
    contended: contended.map((c) => ({ fromMs: Math.round(c.fromMs), toMs: Math.round(c.toMs), peakForeignCores: round2(c.peakForeignCores) })),
    requestsInContended: inContended,
    peakForeignCores: round2(peak),
    meanForeignCores: round2(samples.length ? sum / samples.length : 0),
    cleanFreeP95LowerMs: driverFreeLowerBound(latencies, lags).lowerMs,
    cleanRequests: latencies.length,
    topForeign,
  };
}

/** Reads the host once a second; the run's own processes are given by pid (`self` is this process). */
export class HostWatch {
  private readonly ticksPerSecond = clockTicksPerSecond();
  private readonly pids: number[];
  private readonly startTicks: Map<number, { command: string; ticks: number }>;
  private last: { atWallMs: number; busy: number; steal: number; ours: number } | null;
  readonly samples: HostSample[] = [];

  constructor(runPids: number[]) {
    this.startTicks = allProcessTicks();
    const stores = [...this.startTicks].filter(([, p]) => /^(redis-server|postgres)/.test(p.command)).map(([pid]) => pid);
    this.pids = [...new Set([process.pid, ...runPids, ...stores])];
    this.last = this.read();
  }

  /** Take one sample; call once a second. */
  sample(): void {
    const now = this.read();
    if (!now || !this.last) {
      this.last = now;
      return;
    }
    const seconds = (now.atWallMs - this.last.atWallMs) / 1000;
    if (seconds > 0.2) {
      const foreignTicks = Math.max(0, now.busy - this.last.busy - (now.ours - this.last.ours)) + (now.steal - this.last.steal);
      this.samples.push({ atWallMs: now.atWallMs, foreignCores: round2(foreignTicks / this.ticksPerSecond / seconds) });
    }
    this.last = now;
  }

  /** The busiest processes outside the run since the watch began (one pass over /proc). */
  topForeign(): ForeignProcess[] {
    const ours = new Set(this.pids);
    const end = allProcessTicks();
    const spent: ForeignProcess[] = [];
    for (const [pid, p] of end) {
      if (ours.has(pid)) continue;
      const before = this.startTicks.get(pid);
      const ticks = p.ticks - (before && before.command === p.command ? before.ticks : 0);
      if (ticks > 0) spent.push({ pid, command: p.command, cpuSeconds: round2(ticks / this.ticksPerSecond) });
    }
    const top = spent.sort((a, b) => b.cpuSeconds - a.cpuSeconds).slice(0, NAMED_PROCESSES);
    for (const p of top) p.command = commandLineOf(p.pid) ?? p.command;
    return top;
  }

  private read(): { atWallMs: number; busy: number; steal: number; ours: number } | null {
    let machine: { busy: number; steal: number } | null;
    try {
      machine = parseProcStat(readFileSync("/proc/stat", "utf8"));
    } catch {
      return null; // not Linux: no contention record
    }
    if (!machine) return null;
    let ours = 0;
    for (const pid of this.pids) ours += ticksOf(pid) ?? 0;
    return { atWallMs: Date.now(), ...machine, ours };
  }
}

function ticksOf(pid: number): number | null {
  try {
    return cpuTicksOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

function commandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

/** A process's command line, shortened for the evidence (arguments may be long; they are not secret-bearing here: ps shows them too). */
function commandLineOf(pid: number): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return line ? (line.length > 80 ? `${line.slice(0, 77)}...` : line) : null;
  } catch {
    return null;
  }
}

function allProcessTicks(): Map<number, { command: string; ticks: number }> {
  const all = new Map<number, { command: string; ticks: number }>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return all;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const ticks = ticksOf(pid);
    const command = ticks === null ? null : commandOf(pid);
    if (ticks !== null && command !== null) all.set(pid, { command, ticks });
  }
  return all;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
