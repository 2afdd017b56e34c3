// Other work on the machine during a phase. A latency FAIL should say something about the service,
// not about whatever else the host ran at the time (a build, a browser, a neighbour's test suite,
// a hypervisor's steal). Once a second the phase monitor reads the CPU of every process on the
// machine. Processes outside the run (not the driver, the service's server and workers, the
// Redis and PostgreSQL processes that serve it (service-processes.ts), nor a kernel thread doing
// their I/O), the kernel's memory managers, and steal are foreign CPU.
// Seconds with more than FOREIGN_CORES_LIMIT of it (and the second after each, while a backlog
// clears) are contended; a FAIL must then stand on the requests due outside them, else the phase is INCONCLUSIVE.
// A PASS is never affected: other work can only make the service look slower.

import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { clockTicksPerSecond, processOfStat, type ProcessTicks } from "./process-cpu.js";
import { driverFreeLowerBound } from "../verdict/index.js";
import { PostgresProcesses, type ServiceProcesses } from "./service-processes.js";
import type { ForeignProcess, HostContention } from "../model/index.js";
export type { ForeignProcess, HostContention } from "../model/index.js";

/** Foreign CPU above this many cores in a second makes that second contended. A quiet 2-core host measures under 0.1. */
export const FOREIGN_CORES_LIMIT = 0.25;
/** A contended second also taints the one after it: the service's backlog takes that long to clear. */
export const GUARD_MS = 1_000;
/** How often the monitor reads the machine, ms. */
export const HOST_SAMPLE_MS = 1_000;
/** Foreign processes named in the evidence, the busiest first. */
const NAMED_PROCESSES = 5;

/** Machine-wide CPU ticks from the first line of /proc/stat (busy, and steal: CPU the hypervisor gave others); pure. */
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
  /** CPU of user-space processes outside this run, plus steal, in cores. */
  foreignCores: number;
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
    contended: contended.map((c) => ({
      fromMs: Math.round(c.fromMs),
      toMs: Math.round(c.toMs),
      peakForeignCores: round2(c.peakForeignCores),
    })),
    requestsInContended: inContended,
    peakForeignCores: round2(peak),
    meanForeignCores: round2(samples.length ? sum / samples.length : 0),
    cleanFreeP95LowerMs: driverFreeLowerBound(latencies, lags).lowerMs,
    cleanRequests: latencies.length,
    topForeign,
  };
}

/**
 * The kernel's memory managers: reclaim (kswapd), compaction (kcompactd), huge pages (khugepaged) and
 * DAMON's monitors (kdamond). They run when the machine's memory is short or fragmented, not for the
 * run's I/O: their CPU is other work, like any process outside the run.
 */
export const MEMORY_KERNEL_THREADS = /^(kswapd|kcompactd|khugepaged|kdamond)/;

/**
 * Reads the host once a second: every user-space process's CPU (one asynchronous pass over /proc, so
 * the driver's event loop is not held) and the machine's steal. The run's own processes are this one,
 * the pids given, the sealed room's, and the Redis and PostgreSQL processes that serve the run: of
 * the servers `services` located, those found to work for the run; without them, any local Redis or
 * PostgreSQL process, by its name.
 */
export class HostWatch {
  private readonly ticksPerSecond = clockTicksPerSecond();
  private readonly ours: Set<number>;
  /** The first reading (the baseline), and the latest; null until the first pass over /proc is done. */
  private start: Map<number, ProcessTicks> | null = null;
  private last: { atWallMs: number; procs: Map<number, ProcessTicks>; steal: number } | null = null;
  private pending: Promise<void> | null;
  readonly samples: HostSample[] = [];

  /** Processes of the sealed room, read at each pass: whatever the service started is its own CPU. */
  private roomPids = new Set<number>();
  /** The run's own servers, once located: null until then, or when they could not be asked. */
  private redisPids: Set<number> | null = null;
  private postgres: PostgresProcesses | null = null;
  private readonly services: Promise<void>;

  constructor(
    runPids: number[],
    private readonly room?: { pids(): Promise<number[]> },
    services?: Promise<ServiceProcesses>,
  ) {
    this.ours = new Set([process.pid, ...runPids]);
    this.services = (services ?? Promise.resolve(null)).then(
      (s) => {
        if (s?.redis.length) this.redisPids = new Set(s.redis);
        if (s?.postgres) this.postgres = new PostgresProcesses(s.postgres);
      },
      () => {},
    );
    this.pending = this.read().finally(() => (this.pending = null));
  }

  /** Take one sample; call once a second. A sample still reading /proc is not queued behind by another. */
  sample(): Promise<void> {
    this.pending ??= this.read().finally(() => (this.pending = null));
    return this.pending;
  }

  /** The busiest processes outside the run since the watch began, at most `limit` of them. */
  topForeign(limit = NAMED_PROCESSES): ForeignProcess[] {
    const spent: ForeignProcess[] = [];
    if (!this.start || !this.last) return spent;
    for (const [pid, p] of this.last.procs) {
      if (this.isOurs(pid, p)) continue;
      const ticks = p.ticks - startOf(this.start, pid, p);
      if (ticks > 0) spent.push({ pid, command: p.command, cpuSeconds: round2(ticks / this.ticksPerSecond) });
    }
    const top = spent.sort((a, b) => b.cpuSeconds - a.cpuSeconds).slice(0, limit);
    for (const p of top) p.command = commandLineOf(p.pid) ?? p.command;
    return top;
  }

  private isOurs(pid: number, p: ProcessTicks): boolean {
    if (p.kernel) return !MEMORY_KERNEL_THREADS.test(p.command);
    if (this.ours.has(pid) || this.roomPids.has(pid)) return true;
    if (p.command.startsWith("redis-server")) return this.redisPids ? this.redisPids.has(pid) : true;
    if (p.command.startsWith("postgres")) return this.postgres ? (this.postgres.ours(pid, p.ppid, p.start) ?? true) : true;
    return false;
  }

  private async read(): Promise<void> {
    await this.services;
    if (this.room) this.roomPids = new Set(await this.room.pids().catch(() => [...this.roomPids]));
    const procs = await processTicks();
    if (procs.size === 0) return; // no /proc: no contention record
    if (this.postgres) {
      const cluster = [...procs].flatMap(([pid, p]) => (p.command.startsWith("postgres") ? [{ pid, ppid: p.ppid, start: p.start }] : []));
      await this.postgres.decide(cluster, () => [...this.ours, ...this.roomPids]).catch(() => {});
    }
    const now = { atWallMs: Date.now(), procs, steal: stealTicks() };
    if (!this.last) {
      this.start = procs;
      this.last = now;
      return;
    }
    const seconds = (now.atWallMs - this.last.atWallMs) / 1000;
    if (seconds > 0.2) {
      let foreign = Math.max(0, now.steal - this.last.steal);
      for (const [pid, p] of procs) if (!this.isOurs(pid, p)) foreign += Math.max(0, p.ticks - startOf(this.last.procs, pid, p));
      this.samples.push({ atWallMs: now.atWallMs, foreignCores: round2(foreign / this.ticksPerSecond / seconds) });
    }
    this.last = now;
  }
}

/** A process's ticks at an earlier reading: 0 when it was not there yet (or its pid was reused). */
function startOf(earlier: Map<number, ProcessTicks>, pid: number, now: ProcessTicks): number {
  const before = earlier.get(pid);
  return before && before.command === now.command ? before.ticks : 0;
}

function stealTicks(): number {
  try {
    return parseProcStat(readFileSync("/proc/stat", "utf8"))?.steal ?? 0;
  } catch {
    return 0;
  }
}

async function processTicks(): Promise<Map<number, ProcessTicks>> {
  const all = new Map<number, ProcessTicks>();
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return all;
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map((e) =>
        readFile(`/proc/${e}/stat`, "utf8").then(
          (text) => {
            const p = processOfStat(text);
            if (p) all.set(Number(e), p);
          },
          () => {}, // gone since the listing
        ),
      ),
  );
  return all;
}

/** A process's command line, shortened for the evidence. */
function commandLineOf(pid: number): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return line ? (line.length > 80 ? `${line.slice(0, 77)}...` : line) : null;
  } catch {
    return null;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
