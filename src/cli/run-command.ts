// `gate run FILE`: runs a gate from the terminal or CI, shows progress, prints the war-room updates
// and the verdict table, writes the evidence bundle, and exits 0 PASS / 1 FAIL / 2 could not run.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCommandLine } from "./command-line.js";
import type { Gate, Phase, GateRun, BaselineRecord } from "../gates/model/index.js";
import { newRunId, type RunObserver, runToBundle, type RunToBundleOptions, checkServices } from "../gates/run/index.js";
import { type ReplayProgress, capacityLine } from "../gates/measure/index.js";
import { renderPlainVerdictTable, renderWarRoomUpdate } from "../gates/war-room/index.js";
import { verdictDocument, exitCodeFor, NO_BASELINE, thisMachineClass, targetIdentity } from "../gates/verdict/index.js";
import { readBaselineBundle, readVerifyKey } from "../gates/evidence/index.js";
import { GateDefinitionError, loadGate, phasesUpTo } from "../gates/gate-file/index.js";
import { readFile } from "node:fs/promises";

const HELP = `Usage: gate run FILE [--phase smoke|load|final|all] [--out DIR] [--json] [--commit SHA] [--seal]
                     [--baseline DIR [--baseline-key PUB.pem]]
                    [--runners N [--redis URL] [--external-runners]]

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
  --baseline DIR the evidence bundle of an earlier GO to compare with, for a gate file with
                 \`baseline: last_go\` (its latency_p95_regression objective): checked against its
                 manifest, and refused unless it is a PASS of the same gate and target measured on the
                 same machine class. Without it such a gate's run says "${NO_BASELINE}":
                 gate run keeps no record of earlier GOs (the bot does)
  --baseline-key PUB.pem  also check the baseline's signatures with the bot's public key
  --runners N    drive each phase through N replay runners (default: the gate file's replay.runners;
                 without either, one driver in this process): a BullMQ flow per phase on the
                 coordination Redis, one shard per runner (ordering keys split by hash), histograms
                 merged. Unless --external-runners, this run starts N local \`gate runner --replay\`
                 processes itself and stops them after; --runners 1 is the same path with one shard
  --redis URL    the coordination Redis for --runners (default: the bundled target's redis_url)
  --external-runners
                 the runners are already running (other machines, \`gate runner --replay --redis URL\`):
                 start none here (docs/distributed-runners.md)

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
      baseline: { type: "string" },
      "baseline-key": { type: "string" },
      runners: { type: "string" },
      redis: { type: "string" },
      "external-runners": { type: "boolean", default: false },
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
  let runners: number | undefined;
  if (values.runners !== undefined) {
    runners = Number(values.runners);
    if (!(Number.isInteger(runners) && runners >= 1 && runners <= 256)) {
      console.error(`gate run: --runners must be a whole number from 1 to 256, got ${values.runners}`);
      return 2;
    }
  }
  if ((runners ?? gate.replay?.runners) !== undefined && values.seal) {
    console.error("gate run: --seal and runners do not go together yet: the sealed room's service is not reachable from runners");
    return 2;
  }
  const baseline = await baselineOf(file, gate, values.baseline, values["baseline-key"]);
  if (typeof baseline === "string") {
    console.error(`gate run: ${baseline}`);
    return 2;
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
    // NEXT names the command that runs it again here.
    origin: { kind: "cli", command: `gate run ${file}${values.phase === "all" ? "" : ` --phase ${values.phase}`}` },
    baseline,
    ...(runners !== undefined || values.redis || values["external-runners"]
      ? { runners: { count: runners, redisUrl: values.redis, external: values["external-runners"] } }
      : {}),
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

/**
 * What a run of `gate` is compared with: the bundle --baseline names, checked; for a gate with `baseline: last_go`
 * and no --baseline, none, said as such; undefined for a gate without `baseline:`. A string is why it cannot run.
 */
export async function baselineOf(
  file: string,
  gate: Gate,
  dir: string | undefined,
  keyFile: string | undefined,
): Promise<BaselineRecord | undefined | string> {
  if (keyFile && !dir) return "--baseline-key checks the signatures of a --baseline bundle; give --baseline DIR too";
  if (!gate.baseline) {
    return dir
      ? `--baseline compares with an earlier GO, but ${file} asks for no comparison; add \`baseline: last_go\` and an objective such as latency_p95_regression: "<= +15%"`
      : undefined;
  }
  if (!dir) {
    return {
      compared: false,
      note: `${NO_BASELINE} (gate run keeps no record of earlier GOs; pass --baseline DIR with the last GO's bundle)`,
    };
  }
  try {
    const key = keyFile ? readVerifyKey(await readFile(keyFile, "utf8"), keyFile) : undefined;
    const run = await readBaselineBundle(
      resolve(dir),
      { gate: gate.name, target: targetIdentity(gate), machineClass: thisMachineClass() },
      key,
    );
    return { compared: true, run };
  } catch (err) {
    return (err as Error).message;
  }
}
