// How well can any comparison of one run with one run tell a regression on this machine? Identical runs do not give
// the same P95: the spread between them is a floor no interval inside a run can remove. From a repeat summary
// (`npm run repeat`: N identical runs), per phase: the spread of log P95 between runs, and what it allows the best
// rule that compares one candidate run with one baseline run ("FAIL when the P95 ratio is over c", with c set so
// identical builds FAIL at most `alpha` of the time): its power against a given regression, and how many runs per
// side would reach the wanted power. Assumes log P95 varies normally between runs; the spread from N runs is itself
// uncertain, so its 95% interval (chi-square) and the power at both ends are given too.
//
//   npm run regression-floor -- [--summary bench/results/gate-a-10-runs.json] [--regression 25%] [--alpha 5%] [--power 80%]

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { studentTCdf, studentTQuantile } from "../src/gates/verdict/student-t.js";

/** A normal distribution as Student's t with a very large df: the code base's one quantile function. */
const NORMAL_DF = 1e7;
const z = (p: number) => studentTQuantile(p, NORMAL_DF);
const phi = (x: number) => studentTCdf(x, NORMAL_DF);

/** The chi-square quantile (Wilson–Hilferty; within 1% of exact for df >= 5). */
function chiSquareQuantile(p: number, df: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z(p) * Math.sqrt(a)) ** 3;
}

export interface Floor {
  runs: number;
  /** Standard deviation of ln(P95) between runs, with its 95% interval. */
  sdLog: number;
  sdLogCi: [number, number];
  /** The best one-run-per-side rule's power against the regression: at the spread measured, and at its interval's ends. */
  bestPower: number;
  bestPowerRange: [number, number];
  /** The fewest runs per side (each side's mean log P95) that reach the wanted power at the spread measured. */
  runsPerSide: number;
}

/**
 * With log P95 ~ N(μ, σ²) per run, the log ratio of two runs ~ N(ln(1 + g), 2σ²/k) with k runs per side. The rule
 * "FAIL when the log ratio is over c" with A/A false FAILs at alpha takes c = z(1 − alpha)·σ√(2/k); its power is
 * Φ(ln(1 + g)/(σ√(2/k)) − z(1 − alpha)). No rule on the pair does better (Neyman–Pearson, for a one-sided shift).
 */
export function regressionFloor(p95s: readonly number[], o: { regression: number; alpha: number; power: number }): Floor {
  const logs = p95s.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log);
  const n = logs.length;
  if (n < 3) throw new RangeError(`the spread between runs needs at least 3 runs with a P95, got ${n}`);
  const mean = logs.reduce((s, v) => s + v, 0) / n;
  const sdLog = Math.sqrt(logs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const sdLogCi: [number, number] = [
    sdLog * Math.sqrt((n - 1) / chiSquareQuantile(0.975, n - 1)),
    sdLog * Math.sqrt((n - 1) / chiSquareQuantile(0.025, n - 1)),
  ];
  const shift = Math.log(1 + o.regression);
  const powerAt = (sd: number, k: number) => phi(shift / (sd * Math.sqrt(2 / k)) - z(1 - o.alpha));
  let runsPerSide = 1;
  while (powerAt(sdLog, runsPerSide) < o.power && runsPerSide < 100) runsPerSide++;
  return {
    runs: n,
    sdLog,
    sdLogCi,
    bestPower: powerAt(sdLog, 1),
    bestPowerRange: [powerAt(sdLogCi[1], 1), powerAt(sdLogCi[0], 1)],
    runsPerSide,
  };
}

function share(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (!m || !(Number(m[1]) > 0 && Number(m[1]) < 100))
    throw new Error(`--${name} ${text}: expected a percentage between 0 and 100, such as 25%`);
  return Number(m[1]) / 100;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      summary: { type: "string", default: "bench/results/gate-a-10-runs.json" },
      regression: { type: "string", default: "25%" },
      alpha: { type: "string", default: "5%" },
      power: { type: "string", default: "80%" },
    },
  });
  const o = {
    regression: share(values.regression!, "regression"),
    alpha: share(values.alpha!, "alpha"),
    power: share(values.power!, "power"),
  };
  const summary = JSON.parse(readFileSync(values.summary!, "utf8")) as { runs: { phases: { name: string; p95Ms: number | null }[] }[] };
  const names = [...new Set(summary.runs.flatMap((r) => r.phases.map((p) => p.name)))];
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  console.log(
    `${values.summary}: the best rule on one run per side, A/A false FAIL ${pct(o.alpha)}, against a +${pct(o.regression)} regression in P95`,
  );
  console.log(
    `${"phase".padEnd(8)}${"runs".padEnd(6)}${"sd ln P95 (95% CI)".padEnd(24)}${"best power (95% CI)".padEnd(22)}runs per side for ${pct(o.power)}`,
  );
  for (const name of names) {
    const p95s = summary.runs.map((r) => r.phases.find((p) => p.name === name)?.p95Ms ?? null).filter((v): v is number => v !== null);
    if (p95s.length < 3) continue;
    const f = regressionFloor(p95s, o);
    const spread = `${f.sdLog.toFixed(3)} (${f.sdLogCi[0].toFixed(3)}–${f.sdLogCi[1].toFixed(3)})`;
    const power = `${pct(f.bestPower)} (${pct(f.bestPowerRange[0])}–${pct(f.bestPowerRange[1])})`;
    console.log(`${name.padEnd(8)}${String(f.runs).padEnd(6)}${spread.padEnd(24)}${power.padEnd(22)}${f.runsPerSide}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(`regression-floor: ${(err as Error).message}`);
    process.exitCode = 2;
  });
}
