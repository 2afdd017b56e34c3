// What each request costs in CPU, per run, and the driver's before/after: the lean replay driver
// against the baseline (the driver as it was: signing, header building and JSON parsing per request),
// on the same system at the same rate, in the same bench run. Pure: data in, text out.

import { fmtMs, type BenchRun } from "./bench-report.js";

const us = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : `${x.toFixed(0)} µs`);

/** One line per run that measured CPU: driver, server and workers per request, with the run's P95 and validity. */
export function renderCpuTable(runs: BenchRun[]): string {
  const header = ["system", "db", "rate/s", "driver", "P95", "send lag p99", "driver CPU/req", "server CPU/req", "workers CPU/event", "load", "note"];
  const rows = runs
    .filter((r) => r.cpu_us && r.purpose !== "step")
    .map((r) => [
      r.system,
      `${r.db_rtt_ms} ms`,
      String(r.rate),
      r.driver ?? "lean",
      fmtMs(r.p95_ms),
      fmtMs(r.send_lag_p99_ms),
      us(r.cpu_us!.driver),
      us(r.cpu_us!.server),
      us(r.cpu_us!.workers),
      r.load_avg_1m.toFixed(1),
      [r.purpose === "driver" ? "driver comparison" : "", r.valid ? "" : "INVALID (driver)"].filter(Boolean).join("; "),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = new Set([2, 4, 5, 6, 7, 8, 9]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export interface DriverComparison {
  system: BenchRun["system"];
  rate: number;
  lean_us: number;
  baseline_us: number;
  /** baseline ÷ lean: how many times more CPU per request the old driver needed. */
  ratio: number;
  lean_send_lag_p99_ms: number;
  baseline_send_lag_p99_ms: number;
}

/** The driver comparison pairs (purpose "driver", one lean and one baseline per system and rate). */
export function driverComparisons(runs: BenchRun[]): DriverComparison[] {
  const out: DriverComparison[] = [];
  for (const lean of runs.filter((r) => r.purpose === "driver" && (r.driver ?? "lean") === "lean")) {
    const base = runs.find((r) => r.purpose === "driver" && r.driver === "baseline" && r.system === lean.system && r.db_rtt_ms === lean.db_rtt_ms && r.rate === lean.rate);
    const l = lean.cpu_us?.driver;
    const b = base?.cpu_us?.driver;
    if (!base || l == null || b == null || l <= 0) continue;
    out.push({ system: lean.system, rate: lean.rate, lean_us: Math.round(l), baseline_us: Math.round(b), ratio: Math.round((b / l) * 100) / 100, lean_send_lag_p99_ms: lean.send_lag_p99_ms, baseline_send_lag_p99_ms: base.send_lag_p99_ms });
  }
  return out;
}

export function renderDriverComparisons(c: DriverComparison[]): string {
  if (c.length === 0) return "  (no comparison pair was run)";
  return c
    .map((x) => `  ${x.system} @${x.rate}/s: lean ${x.lean_us} µs/request, baseline ${x.baseline_us} µs/request: baseline ÷ lean = ${x.ratio.toFixed(2)}x (send lag p99 ${fmtMs(x.lean_send_lag_p99_ms)} vs ${fmtMs(x.baseline_send_lag_p99_ms)})`)
    .join("\n");
}
