// `gate run FILE`: runs a gate from the terminal or CI, shows progress, prints the war-room updates
// and the verdict table, writes the evidence bundle, and exits 0 PASS / 1 FAIL / 2 could not run.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCommandLine } from "./command-line.js";
import type { Gate, Phase } from "../gates/gate.js";
import type { GateRun } from "../gates/gate-run.js";
import { GateDefinitionError, loadGate, phasesUpTo } from "../gates/gate-file/index.js";
import { newRunId, type RunObserver } from "../gates/execute-run.js";
import { runToBundle, type RunToBundleOptions } from "../gates/run-to-bundle.js";
import type { ReplayProgress } from "../gates/replay/index.js";
import { renderPlainVerdictTable, renderWarRoomUpdate } from "../gates/war-room.js";
import { capacityLine } from "../gates/capacity-probe.js";
import { verdictDocument } from "../gates/evidence-bundle.js";
import { checkServices } from "../gates/service-check.js";
import { exitCodeFor } from "../gates/verdict-meaning.js";

const HELP = `Usage: gate run FILE [--phase smoke|load|final|all] [--out DIR] [--json] [--commit SHA] [--seal]

Deploys the gate's target, replays each phase up to --phase (each earlier phase first, and only
while every earlier phase passed), checks every SLO against what was measured, and writes the
evidence bundle.

Options:
  --phase NAME   the last phase to run: a phase name or alias (1k, 5k, 30k) or "all" (default all)
  --out DIR      where to write the evidence bundle (default evidence/<run-id>)
  --json         print the verdict as one JSON document on stdout (progress goes to stderr)
  --commit SHA   the commit under test (default: $GITHUB_SHA, else git HEAD, else "unknown")
  --seal         run the bundled service in a sealed room, as every run of a pull request's code is:
                 a user of its own, a network namespace holding its own Redis and PostgreSQL, a
                 control group killed whole at the end (needs root; says what is missing otherwise)

A --phase short of the last phase is a partial run: its phases are judged as usual, but when they
all pass the run's verdict is PARTIAL (no GO), unless the gate file says partial_runs: PASS.

Exit codes: 0 PASS, 1 FAIL, 2 could not run (ERROR) or could not tell (INCONCLUSIVE: measured, but
the replay proves neither PASS nor FAIL), 3 PARTIAL.`;

export function commitUnderTest(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "unknown";
  }
}

/** One line of progress: a bar on a terminal, plain lines in CI or with --json. */
export function progressLine(phase: Phase, p: ReplayProgress, width = 24): string {
  const done = Math.min(1, p.sent / phase.requests);
  const filled = Math.round(done * width);
  const p95 = p.p95Ms === null || p.p95Ms === undefined ? "-" : `${p.p95Ms.toFixed(1)}ms`;
  return (
    `${phase.name.padEnd(6)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ` +
    `${p.sent}/${phase.requests} sent, ${p.accepted} accepted, ${p.errors} errors, ` +
    `${Math.round(p.currentRate)}/s, P95 ${p95}`
  );
}

export function observer(json: boolean): RunObserver {
  const tty = !json && process.stderr.isTTY && !process.env.CI;
  let lastPlain = 0;
  return {
    update(u) {
      if (tty) process.stderr.write("\r\x1b[K");
      process.stderr.write(`\n${renderWarRoomUpdate(u)}\n`);
    },
    progress(phase, p) {
      if (tty) {
        process.stderr.write(`\r\x1b[K${progressLine(phase, p)}`);
      } else if (Date.now() - lastPlain > 2000 || p.sent === phase.requests) {
        lastPlain = Date.now();
        process.stderr.write(`${progressLine(phase, p)}\n`);
      }
    },
  };
}

/**
 * Runs a gate into its evidence bundle from a terminal or a workflow step: Ctrl-C or SIGTERM stops the
 * run (teardown still happens and what was measured is written); a second one quits at once.
 */
export async function runInTerminal(command: string, gate: Gate, o: Omit<RunToBundleOptions, "signal">): Promise<GateRun> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${command}: stopping (tearing down, then writing the evidence); press Ctrl-C again to quit at once\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return (await runToBundle(gate, { ...o, signal: controller.signal })).run;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export async function runCommand(args: string[]): Promise<number> {
  const line = parseCommandLine(
    "gate run",
    args,
    {
      phase: { type: "string", default: "all" },
      out: { type: "string" },
      json: { type: "boolean", default: false },
      commit: { type: "string" },
      seal: { type: "boolean", default: false },
    },
    HELP,
    "one gate file, e.g. `gate run gates/gate-a.yaml`",
  );
  if (typeof line === "number") return line;
  const { values, positional: file } = line;
  let gate;
  let phases: Phase[];
  try {
    gate = loadGate(file);
    phases = phasesUpTo(gate, values.phase!);
  } catch (err) {
    if (err instanceof GateDefinitionError) console.error(err.message);
    else console.error(`gate run: ${(err as Error).message}`);
    return 2;
  }
  if (values.seal && gate.target.kind !== "bundled") {
    console.error(
      `gate run: --seal runs the bundled service in a sealed room; ${file}'s target is deployed (${gate.target.url}), which this run does not start`,
    );
    return 2;
  }
  if (gate.target.kind === "bundled" && !values.seal) {
    const problem = await checkServices(gate.target.redisUrl, gate.target.databaseUrl);
    if (problem) {
      console.error(`gate run: ${problem}`);
      return 2;
    }
  }
  const runId = newRunId(gate);
  const out = resolve(values.out ?? join("evidence", runId));
  if (existsSync(out) && readdirSync(out).length > 0) {
    console.error(`gate run: ${out} already holds files; an evidence bundle needs an empty or new folder (choose another --out)`);
    return 2;
  }
  const run = await runInTerminal("gate run", gate, {
    phases,
    commit: commitUnderTest(values.commit),
    runId,
    out,
    observer: observer(values.json!),
    seal: values.seal,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(verdictDocument(run, out), null, 2)}\n`);
  } else {
    console.log(`\n${renderPlainVerdictTable(run)}\n`);
    if (run.capacity) console.log(`${capacityLine(run.capacity)}\n`);
    console.log(`Evidence bundle: ${out} (check it with \`gate verify ${out}\` or \`sha256sum -c SHA256SUMS\` inside it)`);
  }
  return exitCodeFor(run.verdict);
}
