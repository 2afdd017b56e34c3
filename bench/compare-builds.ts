// The ingest service before and after a change, in one run: one phase of a gate against the service
// built from an earlier commit (git archive, built like a PR's commit) and against this checkout's
// own build, in the order after, before, before, after, so a machine whose load drifts favours
// neither. Prints P95, CPU per request of server and driver, and workers per event, and the ratios.
// A commit's build always runs in a sealed room, so this checkout's runs do too: like for like.
// With --seal instead of --before: this checkout's build in the sealed room ("after") against the same
// build run as the runner's own ("before"), to show what the room costs the measurement.
//
// --rounds N repeats the four runs N times; each round's ratio is printed too, so the spread of the
// machine's noise stands beside the mean.
//
//   npm run compare -- --before <commit> [--gate gates/gate-a.yaml] [--phase load] [--rounds 1]
//   npm run compare -- --seal [--gate gates/gate-a.yaml] [--phase load] [--rounds 1]

import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadGate, phasesUpTo } from "../src/gates/gate-file/index.js";
import { executeRun } from "../src/gates/run/execute-run.js";
import type { GateRun } from "../src/gates/model/gate-run-record.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Measured {
  build: "before" | "after";
  round: number;
  verdict: string;
  p95Ms: number | null;
  serverUs: number | null;
  driverUs: number | null;
  workersUs: number | null;
}

function measured(build: Measured["build"], round: number, run: GateRun): Measured {
  const p = run.phases[run.phases.length - 1];
  const c = p?.resources?.cpu;
  return {
    build,
    round,
    verdict: p?.verdict ?? run.verdict,
    p95Ms: p?.latency?.p95 ?? null,
    serverUs: c?.serverUsPerRequest ?? null,
    driverUs: c?.driverUsPerRequest ?? null,
    workersUs: c?.workersUsPerEvent ?? null,
  };
}

type Metric = "p95Ms" | "serverUs" | "driverUs" | "workersUs";

const mean = (xs: (number | null)[]) => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
};
const fmt = (x: number | null, unit: string) => (x === null ? "n/a" : `${x.toFixed(unit === "ms" ? 2 : 0)} ${unit}`);

async function main(argv: string[]): Promise<number> {
  const at = (flag: string, fallback?: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const before = at("--before");
  const sealVsOpen = argv.includes("--seal");
  if (!before === !sealVsOpen) {
    console.error("usage: compare-builds --before <commit> | --seal [--gate FILE] [--phase NAME] [--rounds N]");
    return 2;
  }
  const rounds = Number(at("--rounds", "1"));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    console.error(`compare-builds: --rounds takes a whole number from 1 to 20, got ${JSON.stringify(at("--rounds"))}`);
    return 2;
  }
  const gate = loadGate(at("--gate", join(ROOT, "gates/gate-a.yaml"))!);
  const phase = phasesUpTo(gate, at("--phase", "load")!).at(-1)!;
  const scratch = mkdtempSync(join(tmpdir(), "compare-builds-"));
  const archive = join(scratch, "before.tar.gz");
  const sha = before ? execFileSync("git", ["rev-parse", before], { cwd: ROOT, encoding: "utf8" }).trim() : "unknown";
  if (before) {
    execFileSync("git", ["archive", "--format=tar.gz", `--prefix=before-${sha.slice(0, 7)}/`, "-o", archive, sha], { cwd: ROOT });
    console.log(
      `before: ${sha} (built from its tree); after: this checkout; both in a sealed room; phase ${phase.name}, ${phase.requests} requests at ${phase.rate}/s`,
    );
  } else {
    console.log(
      `before: this checkout as the runner's own; after: the same in a sealed room; phase ${phase.name}, ${phase.requests} requests at ${phase.rate}/s`,
    );
  }

  const rows: Measured[] = [];
  const runOf = (build: Measured["build"], phases = [phase]) =>
    executeRun(gate, {
      phases,
      commit: build === "before" ? sha : "unknown",
      ...(build === "before" && before ? { source: { archive, cacheDir: join(scratch, "cache") } } : {}),
      seal: build === "after",
    });
  // Not reported: the before tree's build (its writes flushed) and a first smoke phase on each build.
  for (const build of ["before", "after"] as const) await runOf(build, [gate.phases[0]]);
  for (let round = 1; round <= rounds; round++) {
    for (const build of ["after", "before", "before", "after"] as const) {
      const run = await runOf(build);
      if (run.reason.startsWith("could not run")) throw new Error(`${build}: ${run.reason}`);
      const m = measured(build, round, run);
      rows.push(m);
      console.log(
        `  ${rounds > 1 ? `round ${round} ` : ""}${build.padEnd(6)} ${m.verdict.padEnd(12)} P95 ${fmt(m.p95Ms, "ms")}, server ${fmt(m.serverUs, "µs")}/request, driver ${fmt(m.driverUs, "µs")}/request, workers ${fmt(m.workersUs, "µs")}/event`,
      );
    }
  }
  const of = (b: Measured["build"], k: Metric, round?: number) =>
    mean(rows.filter((r) => r.build === b && (round === undefined || r.round === round)).map((r) => r[k]));
  for (const [k, unit] of [
    ["p95Ms", "ms"],
    ["serverUs", "µs"],
    ["workersUs", "µs"],
  ] as const) {
    const a = of("after", k);
    const b = of("before", k);
    const perRound = Array.from({ length: rounds }, (_, i) => {
      const ra = of("after", k, i + 1);
      const rb = of("before", k, i + 1);
      return ra !== null && rb ? ra / rb : null;
    }).filter((x): x is number => x !== null);
    const spread = rounds > 1 && perRound.length ? `; by round ${perRound.map((x) => `${x.toFixed(2)}x`).join(", ")}` : "";
    console.log(
      `${k}: after ${fmt(a, unit)}, before ${fmt(b, unit)}: after ÷ before = ${a !== null && b ? (a / b).toFixed(2) : "n/a"}x (mean of ${2 * rounds} runs each${spread})`,
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`compare-builds: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
