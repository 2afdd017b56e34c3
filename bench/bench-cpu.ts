// What each request costs in CPU, per run, and the driver's before/after: the lean replay driver
// against the baseline (the driver as it was: signing, header building and JSON parsing per request),
// on the same system at the same rate, in the same bench run. Pure: data in, text out.

import { fmtMs, type BenchRun } from "./bench-report.js";

const us = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : `${x.toFixed(0)} µs`);

/** Cores of this machine class: the ceiling is what they could do if requests cost only `sum` each. */
export const CORES = 2;

/** Requests per second every process together could serve on CORES cores at `sumUs` CPU per request. */
export function coLocatedCeiling(sumUs: number | null | undefined): number | null {
  return sumUs === null || sumUs === undefined || !(sumUs > 0) ? null : (CORES * 1e6) / sumUs;
}

const ceiling = (sumUs: number | null | undefined): string => {
  const c = coLocatedCeiling(sumUs);
  return c === null ? "-" : `${Math.round(c).toLocaleString("en-US")}/s`;
};

/** One line per run that measured CPU: every process per request and their sum, with the run's P95 and validity. */
export function renderCpuTable(runs: BenchRun[]): string {
  const header = [
    "system",
    "db",
    "rate/s",
    "driver",
    "P95",
    "driver lag p99",
    "driver CPU/req",
    "server CPU/req",
    "workers CPU/event",
    "redis CPU/req",
    "postgres CPU/req",
    "sum CPU/req",
    "co-located ceiling",
    "load",
    "note",
  ];
  const rows = runs
    .filter((r) => r.cpu_us)
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
      us(r.cpu_us!.redis),
      us(r.cpu_us!.postgres),
      us(r.cpu_us!.sum),
      ceiling(r.cpu_us!.sum),
      r.load_avg_1m.toFixed(1),
      [{ driver: "driver comparison", step: "step", fixed: "" }[r.purpose], r.valid ? "" : "INVALID (driver)"].filter(Boolean).join("; "),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = new Set([2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export interface DriverComparison {
  system: BenchRun["system"];
  rate: number;
  /** Runs the comparison is over, both variants together. */
  runs: number;
  lean_us: number;
  baseline_us: number;
  /** baseline ÷ lean: how many times more CPU per request the old driver needed. */
  ratio: number;
  /** The worst driver lag p99 (sending, and answers waiting to be read) of each variant's runs. */
  lean_send_lag_p99_ms: number;
  baseline_send_lag_p99_ms: number;
}

/**
 * The driver comparisons: for each system and rate with "driver" runs of both variants, each
 * variant's CPU per request over all its runs (weighted by requests sent), and their ratio.
 */
export function driverComparisons(runs: BenchRun[]): DriverComparison[] {
  const groups = new Map<string, { lean: BenchRun[]; baseline: BenchRun[] }>();
  for (const r of runs) {
    if (r.purpose !== "driver" || r.cpu_us?.driver == null) continue;
    const key = `${r.system}/${r.db_rtt_ms}/${r.rate}`;
    const g = groups.get(key) ?? { lean: [], baseline: [] };
    g[r.driver ?? "lean"].push(r);
    groups.set(key, g);
  }
  const perRequest = (rs: BenchRun[]) => rs.reduce((sum, r) => sum + r.cpu_us!.driver! * r.sent, 0) / rs.reduce((n, r) => n + r.sent, 0);
  const worstLag = (rs: BenchRun[]) => Math.max(...rs.map((r) => r.send_lag_p99_ms));
  const out: DriverComparison[] = [];
  for (const { lean, baseline } of groups.values()) {
    if (lean.length === 0 || baseline.length === 0) continue;
    const l = perRequest(lean);
    const b = perRequest(baseline);
    if (!(l > 0)) continue;
    out.push({
      system: lean[0]!.system,
      rate: lean[0]!.rate,
      runs: lean.length + baseline.length,
      lean_us: Math.round(l),
      baseline_us: Math.round(b),
      ratio: Math.round((b / l) * 100) / 100,
      lean_send_lag_p99_ms: worstLag(lean),
      baseline_send_lag_p99_ms: worstLag(baseline),
    });
  }
  return out;
}

export function renderDriverComparisons(c: DriverComparison[]): string {
  if (c.length === 0) return "  (no comparison pair was run)";
  return c
    .map(
      (x) =>
        `  ${x.system} @${x.rate}/s: lean ${x.lean_us} µs/request, baseline ${x.baseline_us} µs/request: baseline ÷ lean = ${x.ratio.toFixed(2)}x over ${x.runs} runs (worst driver lag p99 ${fmtMs(x.lean_send_lag_p99_ms)} vs ${fmtMs(x.baseline_send_lag_p99_ms)})`,
    )
    .join("\n");
}
