// CPU time of the processes a phase exercises: the driver (this process, process.cpuUsage()) and the
// deployed service's processes (utime + stime from /proc/<pid>/stat, in clock ticks). Divided by the
// requests of the phase, it says what one request costs each of them, on this machine.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks of utime/stime in /proc/<pid>/stat (how `getconf CLK_TCK` answers; 100 on Linux). */
let clockTicks: number | null = null;
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2000 }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * utime + stime, in clock ticks, from the text of /proc/<pid>/stat; null when it is not such a line.
 * The command name (field 2) is in parentheses and may hold spaces or parentheses itself, so fields
 * are counted from the last ")": state is field 3, utime 14, stime 15.
 */
export function cpuTicksOfStat(stat: string): number | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || utime < 0 || stime < 0) return null;
  return utime + stime;
}

/** CPU time a process has used so far, µs; null when it cannot be read (gone, not Linux). */
export function processCpuUs(pid: number): number | null {
  try {
    const ticks = cpuTicksOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    return ticks === null ? null : (ticks * 1_000_000) / clockTicksPerSecond();
  } catch {
    return null;
  }
}

/** CPU µs used by each process between two readings (null where either reading failed). */
export function cpuSpent(before: (number | null)[], after: (number | null)[]): number | null {
  let total = 0;
  for (let i = 0; i < before.length; i++) {
    const a = before[i];
    const b = after[i];
    if (a === null || b === null || b < a) return null;
    total += b - a;
  }
  return before.length === 0 ? null : total;
}

/** A process as one pass over /proc saw it. */
export interface ProcessTicks {
  command: string;
  ticks: number;
  /** Kernel threads (children of kthreadd) work for whoever caused them (writeback, softirq): foreign only when they manage memory. */
  kernel: boolean;
  ppid: number;
  /** When the process started, clock ticks after boot: a pid reused by a new process is told apart. */
  start: number;
}

/** One field set of /proc/<pid>/stat: command, utime + stime, kernel thread or not; pure. */
export function processOfStat(stat: string): ProcessTicks | null {
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  const ticks = cpuTicksOfStat(stat);
  if (open < 0 || close < open || ticks === null) return null;
  const fields = stat.slice(close + 2).split(" ", 20);
  const ppid = Number(fields[1]);
  return { command: stat.slice(open + 1, close), ticks, kernel: ppid === 2 || ppid === 0, ppid, start: Number(fields[19]) };
}
