// The machine a run measured on, kept with its evidence: a P95 means little without the CPU it ran
// on, how loaded that CPU was before and after, and how steady an idle event loop was on it just
// before the first phase (the floor under every latency the driver can see).

import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

/** One line of /proc/pressure/cpu: the share of time some (or all) tasks waited for a CPU, %. */
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, µs. */
  total: number;
}

export interface MachineSnapshot {
  at: string;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: [number, number, number];
  /** /proc/pressure/cpu; null where the kernel does not offer it. */
  cpuPressure: { some: PressureLine | null; full: PressureLine | null } | null;
}

export interface EventLoopJitter {
  durationMs: number;
  /** Event-loop delay of an idle Node process, ms (monitorEventLoopDelay, 1 ms resolution). */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface MachineRecord {
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
  before: MachineSnapshot;
  after: MachineSnapshot | null;
  eventLoopBaseline: EventLoopJitter | null;
}

/** The two lines of /proc/pressure/cpu ("some avg10=1.23 avg60=... avg300=... total=..."); pure. */
export function parseCpuPressure(text: string): { some: PressureLine | null; full: PressureLine | null } {
  const line = (kind: "some" | "full"): PressureLine | null => {
    const m = new RegExp(`^${kind}\\s+avg10=([\\d.]+)\\s+avg60=([\\d.]+)\\s+avg300=([\\d.]+)\\s+total=(\\d+)`, "m").exec(text);
    return m ? { avg10: Number(m[1]), avg60: Number(m[2]), avg300: Number(m[3]), total: Number(m[4]) } : null;
  };
  return { some: line("some"), full: line("full") };
}

export function machineSnapshot(now = new Date()): MachineSnapshot {
  let cpuPressure: MachineSnapshot["cpuPressure"] = null;
  try {
    cpuPressure = parseCpuPressure(readFileSync("/proc/pressure/cpu", "utf8"));
  } catch {
    // no PSI on this kernel
  }
  const [a, b, c] = loadavg();
  return { at: now.toISOString(), loadAverage: [round2(a), round2(b), round2(c)], cpuPressure };
}

/**
 * Sit idle for `durationMs` and record this process's event-loop delay: the machine's jitter floor.
 * An abort ends the watch early; durationMs then says how long it really was.
 */
export async function measureEventLoopJitter(durationMs = 2000, signal?: AbortSignal): Promise<EventLoopJitter> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const started = performance.now();
  h.enable();
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, durationMs);
    signal?.addEventListener("abort", done, { once: true });
  });
  h.disable();
  const ms = (ns: number) => round2(ns / 1e6);
  const watched = signal?.aborted ? Math.round(performance.now() - started) : durationMs;
  return {
    durationMs: watched,
    p50: ms(h.percentile(50)),
    p99: ms(h.percentile(99)),
    p999: ms(h.percentile(99.9)),
    max: ms(h.max),
    mean: ms(h.mean),
  };
}

export function machineRecord(before: MachineSnapshot, eventLoopBaseline: EventLoopJitter | null): MachineRecord {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model?.trim() || "unknown",
    cores: cpu.length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    before,
    after: null,
    eventLoopBaseline,
  };
}

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

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
