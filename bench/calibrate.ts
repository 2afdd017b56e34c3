// How often is the regression judge wrong on this machine? Runs N replicates of one phase of the bundled service
// (the gate's 5k load phase by default): a baseline run A, then A again (A/A: the same build), and A slowed by each
// --added-latency delay (A/B). Each candidate is judged against its replicate's A by latency_p95_regression's rule
// (the same function the gate calls), and the report counts: A/A FAILs (false FAILs), slower builds that still
// PASS, and the power (FAIL rate) per delay, each with an exact Clopper–Pearson 95% interval.
//
//   npm run calibrate -- [--pairs 15] [--delays 1ms,2ms] [--phase 5k] [--requests N] [--bar +15%] [--gate FILE] [--out FILE]

import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { thisMachineClass } from "../src/gates/verdict/baseline-run.js";
import { executeRun } from "../src/gates/run/execute-run.js";
import type { Gate, Phase } from "../src/gates/model/gate.js";
import type { RequestSample } from "../src/gates/model/gate-run-record.js";
import { loadGate } from "../src/gates/gate-file/index.js";
import { RATIO_DEFAULTS } from "../src/gates/verdict/p95-ratio-interval.js";
import { checkServices } from "../src/gates/run/service-check.js";
import { judgeRegression, parseRegressionBar } from "../src/gates/verdict/slos/latency-p95-regression.js";
import { percentile } from "../src/gates/verdict/statistics.js";
import { clopperPearson } from "./clopper-pearson.js";

const HELP = `Usage: npm run calibrate -- [options]

Measures the regression judge's error rates on this machine: per replicate, a baseline run A of one phase of the
bundled service, then an A/A candidate (same build) and one A/B candidate per delay (the service started with
--added-latency), each judged against A by latency_p95_regression. Runs one after another, never in parallel.

  --pairs N         replicates: each gives one A/A pair and one A/B pair per delay (default 15, about 15 minutes
                    with two delays on a 2-core machine)
  --delays LIST     added delays for the A/B candidates, comma-separated whole milliseconds (default 1ms,2ms)
  --phase NAME      the gate's phase to run, a name or alias (default 5k)
  --requests N      run the phase with this many requests instead of the gate's
  --bar PCT         the regression bar, as the gate file writes it after "<=" (default +15%)
  --gate FILE       the gate file (default gates/gate-a.yaml)
  --out FILE        where the JSON goes (default bench/results/calibration.json)`;

export interface Comparison {
  replicate: number;
  kind: "A/A" | "A/B";
  delayMs: number;
  verdict: string;
  ratio: number | null;
  detail: string;
  baselineP95Ms: number | null;
  candidateP95Ms: number | null;
}

export interface Rate {
  count: number;
  of: number;
  rate: number | null;
  ci95: [number, number] | null;
}

/** k of n with its exact interval; null rate when nothing was judged. */
export function rate(count: number, of: number): Rate {
  return of === 0 ? { count, of, rate: null, ci95: null } : { count, of, rate: count / of, ci95: clopperPearson(count, of) };
}

const median = (xs: number[]): number | null => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The report's numbers from the comparisons; pure. */
export function summarizeCalibration(comparisons: Comparison[], delaysMs: number[]) {
  const of = (kind: Comparison["kind"], delayMs: number) =>
    comparisons.filter((c) => c.kind === kind && c.delayMs === delayMs && c.verdict !== "ERROR");
  const count = (cs: Comparison[], v: string) => cs.filter((c) => c.verdict === v).length;
  const p95s = (cs: Comparison[]) => ({
    baselineMedianMs: median(cs.map((c) => c.baselineP95Ms ?? NaN)),
    candidateMedianMs: median(cs.map((c) => c.candidateP95Ms ?? NaN)),
    medianRatio: median(cs.map((c) => c.ratio ?? NaN)),
  });
  const aa = of("A/A", 0);
  return {
    aa: {
      pairs: aa.length,
      fail: count(aa, "FAIL"),
      pass: count(aa, "PASS"),
      inconclusive: count(aa, "INCONCLUSIVE"),
      falseFail: rate(count(aa, "FAIL"), aa.length),
      ...p95s(aa),
    },
    delays: delaysMs.map((delayMs) => {
      const ab = of("A/B", delayMs);
      return {
        delayMs,
        pairs: ab.length,
        fail: count(ab, "FAIL"),
        pass: count(ab, "PASS"),
        inconclusive: count(ab, "INCONCLUSIVE"),
        power: rate(count(ab, "FAIL"), ab.length),
        stillPasses: rate(count(ab, "PASS"), ab.length),
        ...p95s(ab),
      };
    }),
    /** Pairs not judged because a run stopped short; left out of every rate above. */
    notJudged: comparisons.filter((c) => c.verdict === "ERROR").length,
  };
}

function pct(r: Rate): string {
  if (r.rate === null || !r.ci95) return "n/a";
  return `${(r.rate * 100).toFixed(0)}% (${(r.ci95[0] * 100).toFixed(0)}–${(r.ci95[1] * 100).toFixed(0)}%)`;
}

const ms = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}ms`);

/** The table printed at the end (and quoted in the README). */
export function calibrationTable(s: ReturnType<typeof summarizeCalibration>): string {
  const rows = [
    ["pair", "n", "FAIL", "PASS", "INCONCL.", "false FAIL / power (95% CI)", "still PASS (95% CI)", "median P95 A → B", "median ratio"],
    [
      "A/A",
      String(s.aa.pairs),
      String(s.aa.fail),
      String(s.aa.pass),
      String(s.aa.inconclusive),
      `false FAIL ${pct(s.aa.falseFail)}`,
      "-",
      `${ms(s.aa.baselineMedianMs)} → ${ms(s.aa.candidateMedianMs)}`,
      s.aa.medianRatio?.toFixed(3) ?? "-",
    ],
    ...s.delays.map((d) => [
      `A/B +${d.delayMs}ms`,
      String(d.pairs),
      String(d.fail),
      String(d.pass),
      String(d.inconclusive),
      `power ${pct(d.power)}`,
      pct(d.stillPasses),
      `${ms(d.baselineMedianMs)} → ${ms(d.candidateMedianMs)}`,
      d.medianRatio?.toFixed(3) ?? "-",
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows
    .map((r) =>
      r
        .map((v, c) => v.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** "1ms,2ms" -> [1, 2]: whole milliseconds above 0, as the service's --added-latency takes them. */
export function parseDelays(text: string): number[] {
  const delays = text.split(",").map((d) => {
    const m = /^\s*(\d+)ms\s*$/.exec(d);
    const n = m ? Number(m[1]) : NaN;
    if (!(n >= 1 && n <= 10_000)) throw new Error(`--delays: "${d.trim()}" is not a delay in whole milliseconds such as 2ms`);
    return n;
  });
  return [...new Set(delays)];
}

interface Measured {
  samples: RequestSample[];
  /** Requests answered with no 2xx (errors, timeouts). */
  errors: number;
  p95Ms: number | null;
  rateHeld: boolean;
  verdict: string;
  reason: string;
}

async function measure(gate: Gate, phase: Phase, delayMs: number): Promise<Measured> {
  const logDir = await mkdtemp(join(tmpdir(), "calibrate-logs-"));
  const run = await executeRun(gate, {
    phases: [phase],
    commit: "calibration",
    logDir,
    serviceEnv: delayMs > 0 ? { INGEST_ADDED_LATENCY: `${delayMs}ms` } : {},
  }).finally(() => rm(logDir, { recursive: true, force: true }));
  const p = run.phases[0];
  const samples = p?.replay?.samples ?? [];
  return {
    samples,
    errors: samples.filter((x) => x.status < 200 || x.status > 299).length,
    p95Ms: percentile(
      samples.map((s) => s.latencyMs),
      95,
    ),
    rateHeld: p?.replay?.schedule?.rateHeld === true,
    verdict: p?.verdict ?? "ERROR",
    reason: p?.reason ?? run.reason,
  };
}

function judge(
  replicate: number,
  delayMs: number,
  base: Measured,
  cand: Measured,
  requests: number,
  bar: number,
  barText: string,
): Comparison {
  const kind = delayMs === 0 ? "A/A" : "A/B";
  // A run that stopped short (its error budget spent, a crash) measured another load: the pair is not judged.
  const short = [
    ["the baseline", base],
    ["the candidate", cand],
  ].find(([, m]) => (m as Measured).samples.length < requests) as [string, Measured] | undefined;
  if (short) {
    return {
      replicate,
      kind,
      delayMs,
      verdict: "ERROR",
      ratio: null,
      detail: `not judged: ${short[0]} sent ${short[1].samples.length} of ${requests} requests (${short[1].reason.slice(0, 160)})`,
      baselineP95Ms: base.p95Ms,
      candidateP95Ms: cand.p95Ms,
    };
  }
  const r = judgeRegression({
    candidate: cand.samples,
    baseline: base.samples,
    bar,
    barText,
    baselineRun: { runId: `replicate ${replicate} A`, commit: "calibration" },
    rateHeld: cand.rateHeld,
  });
  return {
    replicate,
    kind,
    delayMs,
    verdict: r.verdict,
    ratio: r.measured,
    detail: r.detail ?? "",
    baselineP95Ms: base.p95Ms,
    candidateP95Ms: cand.p95Ms,
  };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        pairs: { type: "string", default: "15" },
        delays: { type: "string", default: "1ms,2ms" },
        phase: { type: "string", default: "5k" },
        requests: { type: "string" },
        bar: { type: "string", default: "+15%" },
        gate: { type: "string", default: "gates/gate-a.yaml" },
        out: { type: "string", default: "bench/results/calibration.json" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`calibrate: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const pairs = Number(values.pairs);
  if (!(Number.isInteger(pairs) && pairs >= 1)) {
    console.error(`calibrate: --pairs must be a whole number of 1 or more, got "${values.pairs}"`);
    return 2;
  }
  let delays: number[];
  let bar: number;
  let gate: Gate;
  try {
    delays = parseDelays(values.delays!);
    bar = parseRegressionBar(values.bar!);
    gate = loadGate(values.gate!);
  } catch (err) {
    console.error(`calibrate: ${(err as Error).message}`);
    return 2;
  }
  const found = gate.phases.find((p) => p.name === values.phase || p.aliases.includes(values.phase!));
  if (!found) {
    console.error(
      `calibrate: ${values.gate} has no phase "${values.phase}"; expected one of ${gate.phases.map((p) => [p.name, ...p.aliases].join("/")).join(", ")}`,
    );
    return 2;
  }
  const requests = values.requests === undefined ? found.requests : Number(values.requests);
  if (!(Number.isInteger(requests) && requests >= 1)) {
    console.error(`calibrate: --requests must be a whole number of 1 or more, got "${values.requests}"`);
    return 2;
  }
  const phase: Phase = { ...found, requests };
  if (gate.target.kind !== "bundled") {
    console.error(`calibrate: ${values.gate}'s target is deployed; calibration slows the bundled service, so it needs target.bundled`);
    return 2;
  }
  const problem = await checkServices(gate.target.redisUrl, gate.target.databaseUrl);
  if (problem) {
    console.error(`calibrate: ${problem}`);
    return 2;
  }
  // The runs measure the phase alone: the pre-flight checks and the capacity probe decide nothing here, and without
  // the error-budget objectives a replay is never stopped early, so every run sends every request (its errors
  // count with the time they took to fail, as in the gate's own latency).
  const bench: Gate = { ...gate, slos: gate.slos.filter((s) => s.name === "latency_p95"), preflight: undefined, capacity: undefined };
  const barText = `<= ${values.bar}`;
  const roles = [0, 0, ...delays]; // A (the baseline), A again, then each slowed build
  const total = pairs * roles.length;
  const started = Date.now();
  const comparisons: Comparison[] = [];
  const runs: {
    replicate: number;
    role: string;
    delayMs: number;
    p95Ms: number | null;
    n: number;
    errors: number;
    rateHeld: boolean;
    verdict: string;
  }[] = [];
  let done = 0;
  console.error(
    `calibrate: ${pairs} replicate(s) of ${phase.name} (${requests} requests at ${phase.rate}/s) on ${thisMachineClass()}: A, A/A and A/B +${delays.join("ms, +")}ms, bar ${barText}`,
  );
  for (let replicate = 1; replicate <= pairs; replicate++) {
    // The order rotates each replicate, so a drift of the machine over time does not fall on one role only.
    const order = roles.map((_, i) => (i + replicate - 1) % roles.length);
    const measured = new Map<number, Measured>();
    for (const i of order) {
      const delayMs = roles[i]!;
      const role = i === 0 ? "A" : delayMs === 0 ? "A'" : `B+${delayMs}ms`;
      const t0 = Date.now();
      const m = await measure(bench, phase, delayMs);
      measured.set(i, m);
      runs.push({
        replicate,
        role,
        delayMs,
        p95Ms: m.p95Ms,
        n: m.samples.length,
        errors: m.errors,
        rateHeld: m.rateHeld,
        verdict: m.verdict,
      });
      done++;
      const eta = ((Date.now() - started) / done) * (total - done);
      console.error(
        `[${done}/${total}] replicate ${replicate} ${role.padEnd(7)} P95 ${ms(m.p95Ms)}, ${m.samples.length} requests (${m.errors} not 2xx), rate ${m.rateHeld ? "held" : "NOT held"} ` +
          `(${((Date.now() - t0) / 1000).toFixed(0)} s; about ${Math.ceil(eta / 60000)} min left)`,
      );
    }
    const base = measured.get(0)!;
    for (let i = 1; i < roles.length; i++) {
      const c = judge(replicate, roles[i]!, base, measured.get(i)!, requests, bar, barText);
      comparisons.push(c);
      console.error(`    ${c.kind} ${c.delayMs ? `+${c.delayMs}ms` : "    "}: ${c.verdict} ${c.detail}`);
    }
  }
  const summary = summarizeCalibration(comparisons, delays);
  const result = {
    generated_at: new Date().toISOString(),
    command: `npm run calibrate -- ${argv.join(" ")}`.trim(),
    machine: { class: thisMachineClass(), loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))) },
    gate: values.gate,
    phase: { name: phase.name, requests, rate: phase.rate },
    bar: barText,
    method: {
      judge:
        "latency_p95_regression: PASS when the upper bound of the P95 ratio (candidate/baseline) is <= 1 + bar and the rate held; FAIL when the lower bound is > 1 + bar; else INCONCLUSIVE",
      interval: `moving-block bootstrap, blocks of ${RATIO_DEFAULTS.blockMs}ms of consecutive requests by due time, ${RATIO_DEFAULTS.replicates} replicates, 95% percentile interval, seeded from the data`,
      rates: "exact Clopper–Pearson 95% intervals",
    },
    seconds: Math.round((Date.now() - started) / 1000),
    summary,
    runs,
    comparisons,
  };
  const out = resolve(values.out!);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${calibrationTable(summary)}\n`);
  console.log(
    `${comparisons.length} pairs (${summary.notJudged} not judged: a run stopped short) in ${Math.round(result.seconds / 60)} min; written to ${out}`,
  );
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`calibrate: ${(err as Error).stack ?? String(err)}`);
      process.exitCode = 2;
    },
  );
}
