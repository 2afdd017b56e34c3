// `npm run faults`: the fault suite of issue 7. Runs every scenario against private Redis and
// PostgreSQL instances, then the bad-input catalogue, prints a table and writes
// faults/results/latest.json. Exits 1 when any invariant broke, 2 when the suite could not run.

import { cpus, tmpdir } from "node:os";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBadInputSuite, type BadInputSummary } from "./bad-input-run.js";
import { runScenario, type ScenarioResult, type SuiteSize } from "./scenario-runner.js";
import { scenarios } from "./scenarios.js";
import { truncation } from "./truncation.js";

const HELP = `Usage: npm run faults -- [options]

Runs the fault scenarios (each on its own Redis and PostgreSQL instances) and the bad-input catalogue,
prints a table and writes faults/results/latest.json. Exit 0 when every invariant holds, 1 when one broke.

Options:
  --only NAME[,NAME]     run only these scenarios (names: ${scenarios.map((s) => s.name).join(", ")})
  --size full|ci         full (default) or the smaller CI-sized plans
  --no-bad-input         skip the bad-input catalogue
  --iterations N         runs of the catalogue for the memory check (default 100)
  --keep-logs            keep service logs of passing scenarios too
  --out FILE             results file (default faults/results/latest.json)`;

interface Args {
  only: string[] | null;
  size: SuiteSize;
  badInput: boolean;
  iterations: number;
  keepLogs: boolean;
  out: string | null;
}

function readArgs(argv: string[]): Args | { error: string } | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: "boolean", short: "h" },
        only: { type: "string" },
        size: { type: "string", default: "full" },
        "bad-input": { type: "boolean", default: true },
        iterations: { type: "string", default: "100" },
        "keep-logs": { type: "boolean", default: false },
        out: { type: "string" },
      },
      allowNegative: true,
    }));
  } catch (err) {
    // parseArgs names the flag and what was wrong (an unknown option, a missing value).
    return { error: `${(err as Error).message}; see npm run faults -- --help` };
  }
  if (values.help) return "help";
  const size = values.size;
  if (size !== "full" && size !== "ci") return { error: `--size must be full or ci, got ${JSON.stringify(size)}` };
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1) return { error: "--iterations must be a whole number >= 1" };
  const only = values.only === undefined ? null : values.only.split(",").filter(Boolean);
  if (only) {
    const unknown = only.filter((n) => !scenarios.some((s) => s.name === n) && n !== "bad-input");
    if (unknown.length)
      return { error: `unknown scenario ${unknown.join(", ")}; known: ${scenarios.map((s) => s.name).join(", ")}, bad-input` };
  }
  return { only, size, badInput: values["bad-input"], iterations, keepLogs: values["keep-logs"], out: values.out ?? null };
}

/** The project folder: the nearest parent of this file holding package.json (dist/faults -> the root). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "faults"))) return dir;
    dir = resolve(dir, "..");
  }
  return process.cwd();
}

const COLUMNS = ["name", "sent", "accepted", "rejected", "stored", "lost", "duplicated", "ordering_violations", "recovery_ms"] as const;

export function renderTable(results: ScenarioResult[]): string {
  const header = [...COLUMNS, "verdict"];
  const rows = results.map((r) => [...COLUMNS.map((c) => (r[c] === null ? "-" : String(r[c]))), r.passed ? "PASS" : "FAIL"]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

async function main(): Promise<number> {
  const args = readArgs(process.argv.slice(2));
  if (args === "help") {
    console.log(HELP);
    return 0;
  }
  if ("error" in args) {
    console.error(`faults: ${args.error}`);
    return 2;
  }
  const root = projectRoot();
  const out = resolve(args.out ?? join(root, "faults", "results", "latest.json"));
  const logRoot = join(tmpdir(), `rg-faults-${Date.now().toString(36)}`);
  const progress = (line: string) => console.log(line);
  const started = Date.now();

  // Ctrl-C: the instances' exit hook stops and removes every private server.
  process.once("SIGINT", () => process.exit(130));
  process.once("SIGTERM", () => process.exit(143));

  const selected = scenarios.filter((s) => !args.only || args.only.includes(s.name));
  const results: ScenarioResult[] = [];
  for (const s of selected) {
    try {
      results.push(await runScenario(s, args.size, { logRoot, keepLogs: args.keepLogs, progress }));
    } catch (err) {
      const message = (err as Error).message;
      console.error(`[${s.name}] could not run: ${message}`);
      results.push({
        name: s.name,
        sent: 0,
        accepted: 0,
        rejected: 0,
        stored: 0,
        lost: 0,
        duplicated: 0,
        ordering_violations: 0,
        recovery_ms: null,
        title: s.title,
        recovery_from: s.recoveryFrom,
        passed: false,
        problems: [`could not run: ${message}`],
        distinct_events: 0,
        acknowledged_events: 0,
        retried: 0,
        accepted_twice: 0,
        dead_lettered: 0,
        gaps_recorded: 0,
        drain_ms: null,
        p95_ms: null,
        replay_valid: false,
        rate: 0,
        duration_ms: 0,
        marks: {},
        extra: {},
        logs: join(logRoot, s.name),
      });
    }
  }

  let badInput: BadInputSummary | null = null;
  if (args.badInput && (!args.only || args.only.includes("bad-input"))) {
    try {
      badInput = await runBadInputSuite({ logDir: logRoot, iterations: args.iterations, progress });
    } catch (err) {
      console.error(`[bad-input] could not run: ${(err as Error).message}`);
      badInput = {
        cases: 0,
        failed: [{ name: "the catalogue run", problems: [(err as Error).message] }],
        stored_problems: [],
        iterations: 0,
        rss_before_kb: 0,
        rss_after_kb: 0,
        rss_growth_pct: 0,
        passed: false,
        duration_ms: 0,
      };
    }
  }

  const passed = results.every((r) => r.passed) && (badInput?.passed ?? true);
  const truncated = truncation({ ...args, scenarios: scenarios.map((x) => x.name) });
  const cpu = cpus();
  const report = {
    generated_at: new Date().toISOString(),
    size: args.size,
    // A run that left scenarios, the catalogue or iterations out says so: its numbers are not the whole suite's.
    truncated: truncated.length > 0,
    truncated_by: truncated,
    machine: { cpu: cpu[0]?.model ?? "unknown", cores: cpu.length, node: process.version },
    redis_settings: { appendonly: "yes", appendfsync: "always", "maxmemory-policy": "noeviction" },
    passed,
    duration_ms: Date.now() - started,
    scenarios: results,
    bad_input: badInput,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");

  console.log("");
  if (truncated.length) console.log(`TRUNCATED run (not the whole suite): ${truncated.join("; ")}\n`);
  if (results.length) console.log(renderTable(results));
  for (const r of results.filter((x) => !x.passed)) {
    console.log(`\n${r.name} FAILED:\n  ${r.problems.join("\n  ")}${r.logs ? `\n  service logs: ${r.logs}` : ""}`);
  }
  if (badInput) {
    console.log(
      `\nbad input: ${badInput.cases - badInput.failed.filter((f) => !f.name.startsWith("server ")).length}/${badInput.cases} cases pass; ` +
        `VmRSS ${badInput.rss_before_kb} -> ${badInput.rss_after_kb} kB over ${badInput.iterations} runs (${badInput.rss_growth_pct}%)`,
    );
    for (const f of badInput.failed) console.log(`  FAIL ${f.name}: ${f.problems.join("; ")}`);
    for (const p of badInput.stored_problems) console.log(`  FAIL stored: ${p}`);
  }
  if (passed && !args.keepLogs) rmSync(logRoot, { recursive: true, force: true });
  else console.log(`service logs: ${logRoot}`);
  console.log(`\n${passed ? "PASS" : "FAIL"}: results in ${out} (${Math.round((Date.now() - started) / 1000)} s)`);
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`faults: ${(err as Error).message ?? String(err)}`);
    process.exit(2);
  },
);
