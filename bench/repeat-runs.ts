// Does the verdict reproduce? Runs `gate run FILE` N times in a row, as a user would (one process per
// run, a bundle each), and summarizes the bundles: verdict and exit code per run, each phase's P95
// (lowest, median, highest), the INCONCLUSIVE count, CPU per request, and the most other work seen on
// the machine. `--bundles DIR...` summarizes bundles already written instead of running.
//
//   npm run repeat -- gates/gate-a.yaml --runs 10 [--out bench/results/gate-a-runs.json]

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exitCodeFor } from "../src/gates/verdict/verdict-meaning.js";
import type { Verdict } from "../src/gates/model/gate-run-record.js";

const GATE_BIN = fileURLToPath(new URL("../../bin/gate.js", import.meta.url));

export interface RunSummary {
  bundle: string;
  verdict: Verdict;
  exitCode: number;
  seconds: number;
  reason: string;
  phases: {
    name: string;
    verdict: Verdict;
    p95Ms: number | null;
    driverUs: number | null;
    serverUs: number | null;
    workersUs: number | null;
    peakForeignCores: number | null;
  }[];
}

/** One bundle's run, from verdict.json, cpu.json and machine.json. */
export function summarizeBundle(dir: string, seconds?: number): RunSummary {
  const read = (path: string) => (existsSync(join(dir, path)) ? JSON.parse(readFileSync(join(dir, path), "utf8")) : null);
  const v = read("verdict.json");
  if (!v) throw new Error(`${dir} has no verdict.json: not an evidence bundle`);
  const cpu = read("01-replay-logs/cpu.json")?.phases ?? [];
  const other = read("01-replay-logs/machine.json")?.otherWork ?? [];
  return {
    bundle: dir,
    verdict: v.verdict,
    exitCode: exitCodeFor(v.verdict),
    seconds: seconds ?? (Date.parse(v.finished_at) - Date.parse(v.started_at)) / 1000,
    reason: v.reason,
    phases: (v.phases ?? []).map((p: { name: string; verdict: Verdict; slos?: { name: string; measured: number | null }[] }) => {
      const c = cpu.find((x: { phase: string }) => x.phase === p.name);
      const o = other.find((x: { phase: string }) => x.phase === p.name);
      return {
        name: p.name,
        verdict: p.verdict,
        p95Ms: p.slos?.find((s) => s.name === "latency_p95")?.measured ?? null,
        driverUs: c?.driverUsPerRequest ?? null,
        serverUs: c?.serverUsPerRequest ?? null,
        workersUs: c?.workersUsPerEvent ?? null,
        peakForeignCores: o?.peakForeignCores ?? null,
      };
    }),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[]) => (xs.length ? { lowest: Math.min(...xs), median: median(xs)!, highest: Math.max(...xs) } : null);

/** Per phase over all runs that ran it; pure. */
export function summarizeRuns(runs: RunSummary[]) {
  const verdicts: Record<string, number> = {};
  for (const r of runs) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  const names = [...new Set(runs.flatMap((r) => r.phases.map((p) => p.name)))];
  const of = (name: string, pick: (p: RunSummary["phases"][number]) => number | null) =>
    runs.flatMap((r) => r.phases.filter((p) => p.name === name).map(pick)).filter((x): x is number => typeof x === "number");
  return {
    runs: runs.length,
    verdicts,
    inconclusivePhases: runs.reduce((n, r) => n + r.phases.filter((p) => p.verdict === "INCONCLUSIVE").length, 0),
    seconds: spread(runs.map((r) => r.seconds)),
    phases: names.map((name) => ({
      name,
      ran: of(name, (p) => p.p95Ms).length,
      verdicts: Object.fromEntries(
        ["PASS", "FAIL", "INCONCLUSIVE", "ERROR"].map((v) => [
          v,
          runs.filter((r) => r.phases.some((p) => p.name === name && p.verdict === v)).length,
        ]),
      ),
      p95Ms: spread(of(name, (p) => p.p95Ms)),
      driverUsPerRequest: spread(of(name, (p) => p.driverUs)),
      serverUsPerRequest: spread(of(name, (p) => p.serverUs)),
      workersUsPerEvent: spread(of(name, (p) => p.workersUs)),
      peakForeignCores: spread(of(name, (p) => p.peakForeignCores)),
    })),
  };
}

function main(argv: string[]): number {
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const out = at("--out");
  let runs: RunSummary[];
  if (argv.includes("--bundles")) {
    runs = argv
      .slice(argv.indexOf("--bundles") + 1)
      .filter((a) => !a.startsWith("--") && a !== out)
      .map((d) => summarizeBundle(d));
  } else {
    const file = argv.find((a) => !a.startsWith("--") && a !== at("--runs") && a !== out);
    const n = Number(at("--runs") ?? 10);
    if (!file || !Number.isInteger(n) || n < 1) {
      console.error("usage: repeat-runs GATE_FILE [--runs N] [--out FILE.json] | --bundles DIR... [--out FILE.json]");
      return 2;
    }
    const dir = mkdtempSync(join(tmpdir(), "repeat-runs-"));
    runs = [];
    for (let i = 1; i <= n; i++) {
      const bundle = join(dir, `run-${i}`);
      const started = Date.now();
      const r = spawnSync(process.execPath, [GATE_BIN, "run", file, "--out", bundle], { stdio: ["ignore", "ignore", "inherit"] });
      const run = summarizeBundle(bundle, (Date.now() - started) / 1000);
      if (r.status !== run.exitCode)
        throw new Error(`run ${i} exited ${r.status} but its bundle says ${run.verdict} (exit ${run.exitCode})`);
      runs.push(run);
      console.log(
        `run ${i}/${n}: ${run.verdict} (exit ${run.exitCode}) in ${run.seconds.toFixed(0)} s; P95 ${run.phases.map((p) => `${p.name} ${p.p95Ms?.toFixed(1) ?? "-"} ms`).join(", ")}`,
      );
    }
  }
  const summary = { generated_at: new Date().toISOString(), summary: summarizeRuns(runs), runs };
  console.log(JSON.stringify(summary.summary, null, 2));
  if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
