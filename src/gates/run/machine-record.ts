// The machine a run measured on, kept with its evidence: a P95 means little without the CPU it ran
// on, how loaded that CPU was before and after, and how steady an idle event loop was on it just
// before the first phase (the floor under every latency the driver can see).

import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { PressureLine, MachineSnapshot, EventLoopJitter, MachineRecord } from "../model/index.js";
export type { PressureLine, MachineSnapshot, EventLoopJitter, MachineRecord } from "../model/index.js";

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

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
