// `npm run bench`: the same corpus, side by side in one run on this machine, against (a) a bare
// node:http server (the limit), (a') the same plus one Redis XADD per request before its answer (the
// floor of any design that answers once the event is durable), (a'') express 5 doing what (a) does,
// (b) the ingest service in --mode
// sync (the seed's design) and (c) the ingest service with its workers; (b) and (c) with PostgreSQL
// local and 10 ms away. Every run reports CPU per request of the driver, the server and the
// workers, and the lean replay driver is compared with its baseline on the same systems.
// Prints tables and writes bench/results/latest.json. Options: --quick (shorter runs, to try it);
// --only SYSTEM (raw, floor, express, ingest or sync: that system's rows alone, for a change to one of them).

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { generateCorpus } from "../src/gates/measure/corpus/replay-corpus.js";
import { deploy, type Deployment } from "../src/gates/target/deployment.js";
import type { BundledTarget } from "../src/gates/model/gate.js";
import type { LatencySummary, ReplayResult } from "../src/gates/model/gate-run-record.js";
import { replay, type DriverVariant, type ReplayProgress } from "../src/gates/measure/replay/index.js";
import { judgeP95, type ScheduleCheck } from "../src/gates/verdict/replay-validity.js";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";
import { machineRecord, machineSnapshot, measureEventLoopJitter } from "../src/gates/run/machine-record.js";
import { machineLine } from "../src/gates/evidence/report/resources-report.js";
import { checkServices } from "../src/gates/run/service-check.js";
import { summarizeLatency } from "../src/gates/verdict/statistics.js";
import {
  checkTargets,
  P95_RULE_MS,
  renderChecks,
  renderTable,
  ruleFailure,
  type BenchRun,
  type BenchSystem,
  type MaxRate,
} from "./bench-report.js";
import { CORES, coLocatedCeiling, driverComparisons, renderCpuTable, renderDriverComparisons } from "./bench-cpu.js";
import { cpuDelta, cpuOf, postgresCpuMeter, redisServerPid } from "./store-cpu.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const QUICK = process.argv.includes("--quick");
const ONLY = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;

/** The gate's corpus settings (gates/gate-a.yaml), so the bench replays what the gate replays. */
const CORPUS = { orderingKeys: 500, redeliveryShare: 0.02 };
const FIXED_1K_REQUESTS = QUICK ? 5_000 : 30_000;
const FIXED_500_REQUESTS = QUICK ? 2_000 : 5_000;
/** Requests of each of the four runs comparing the lean driver with its baseline. */
const DRIVER_COMPARISON_REQUESTS = QUICK ? 2_000 : 5_000;
const STEP_SECONDS = QUICK ? 2 : 4;
/** Rates tried, in order, for the highest rate keeping P95 <= 20 ms (database local). */
const LADDER = [500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000, 20000];
/** Quiet time between runs, so one run's backlog (a sync server still committing) is not the next one's. */
const SETTLE_MS = 1500;
/** Runs this far gone say nothing more by going on: stop sending, and say so in the table. */
const HOPELESS_P95_MS = 2000;
const REQUEST_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 30_000;

const benchDir = dirname(fileURLToPath(import.meta.url));
/** bench/ in the source tree, whether this runs from dist/bench or through ts-node. */
const sourceBenchDir = benchDir.includes(`${join("dist", "bench")}`) ? resolve(benchDir, "..", "..", "bench") : benchDir;

const abort = new AbortController();
const cleanups: (() => Promise<void>)[] = [];

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---- Processes ---------------------------------------------------------------------------------

/** Start a compiled bench script (raw-server, delay-proxy) and wait for its `listening PORT` line. */
async function startScript(script: string, args: string[]): Promise<{ child: ChildProcess; port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(benchDir, script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((done, fail) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const m = /listening (\d+)/.exec(text);
      if (m) done(Number(m[1]));
    });
    child.once("exit", (code) => fail(new Error(`${script} exited with code ${code} before listening`)));
  });
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once("exit", () => done());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    });
  return { child, port, stop };
}

/** Children of this process whose command line contains `needle` (Linux /proc; empty elsewhere). */
function childPids(needle: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return pids;
}

/** Resident memory of a process in MB, or null when it cannot be read. */
function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// ---- One system under test ---------------------------------------------------------------------

interface Session {
  system: BenchSystem;
  dbRttMs: 0 | 10;
  url: string;
  serverPid: number | null;
  workerPids: number[];
  namespace: string | null;
  credentials: { signingSecret?: string };
  /** Distinct event ids answered 202 so far in this session (the rows the table should reach). */
  acceptedIds: Set<string>;
  /** redis-server's pid (queue mode only); PostgreSQL's processes are found per run (postgresCpuMeter). */
  redisPid: number | null;
  close: () => Promise<void>;
}

async function openSession(system: BenchSystem, dbRttMs: 0 | 10, proxyPort: number, logDir: string): Promise<Session> {
  if (system === "raw" || system === "floor" || system === "express") {
    const raw = await startScript(
      system === "express" ? "express-server.js" : "raw-server.js",
      system === "floor" ? ["--redis", REDIS_URL] : [],
    );
    cleanups.push(raw.stop);
    return {
      system,
      dbRttMs,
      url: `http://127.0.0.1:${raw.port}/webhooks`,
      serverPid: raw.child.pid ?? null,
      workerPids: [],
      namespace: null,
      credentials: {},
      acceptedIds: new Set(),
      redisPid: system === "floor" ? await redisServerPid(REDIS_URL) : null,
      close: raw.stop,
    };
  }
  const namespace = `bench_${system}_${dbRttMs}ms_${randomBytes(3).toString("hex")}`;
  const databaseUrl = dbRttMs === 0 ? DATABASE_URL : throughProxy(DATABASE_URL, proxyPort);
  const target: BundledTarget = {
    kind: "bundled",
    mode: system === "sync" ? "sync" : "queue",
    workers: 2,
    batchSize: 50,
    batchLingerMs: 5,
    redisUrl: REDIS_URL,
    databaseUrl,
  };
  const credentials = { signingSecret: `whsec_${randomBytes(32).toString("base64")}` };
  const deployment: Deployment = await deploy(target, { namespace, credentials, logDir: join(logDir, namespace) });
  cleanups.push(() => deployment.teardown());
  const serverPid = childPids(`serve --namespace ${namespace}`)[0] ?? null;
  const workerPids = childPids(`worker --namespace ${namespace}`);
  return {
    system,
    dbRttMs,
    url: deployment.webhookUrl,
    serverPid,
    workerPids,
    namespace,
    credentials,
    acceptedIds: new Set(),
    redisPid: system === "ingest" ? await redisServerPid(REDIS_URL) : null,
    close: () => deployment.teardown(),
  };
}

/** Wait until the session's accepted events are all stored; drain = last row's persisted_at - last 202. */
async function measureDrain(
  session: Session,
  db: pg.Client,
  last202WallMs: number,
): Promise<{ drainMs: number | null; timedOut: boolean }> {
  if (!session.namespace) return { drainMs: null, timedOut: false };
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const { rows } = await db.query<{ n: number; last: Date | null }>(
      `SELECT count(*)::int AS n, max(persisted_at) AS last FROM "${session.namespace}".webhook_events`,
    );
    if (rows[0].n >= session.acceptedIds.size) {
      const last = rows[0].last ? rows[0].last.getTime() : last202WallMs;
      return { drainMs: Math.max(0, last - last202WallMs), timedOut: false };
    }
    if (Date.now() > deadline || abort.signal.aborted) return { drainMs: null, timedOut: true };
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Wait until the system under test is idle: no new rows for SETTLE_MS (at most 30 s). A sync
 * server whose callers gave up still commits what it had queued, and that backlog would land on
 * the next run.
 */
async function settle(session: Session, db: pg.Client): Promise<void> {
  if (!session.namespace) return new Promise((r) => setTimeout(r, SETTLE_MS));
  const deadline = Date.now() + 30_000;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline && !abort.signal.aborted) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${session.namespace}".webhook_events`);
    if (rows[0].n !== last) {
      last = rows[0].n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= SETTLE_MS) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

let runCounter = 0;

/** One replay against the session at `rate`, summarised as a table row. */
async function benchRun(
  session: Session,
  db: pg.Client,
  rate: number,
  requests: number,
  purpose: BenchRun["purpose"],
  quiet = false,
  driver: DriverVariant = "lean",
): Promise<BenchRun> {
  const label = `${session.system} db=${session.dbRttMs}ms @${rate}/s${driver === "lean" ? "" : ` (${driver} driver)`}`;
  await settle(session, db);
  // CPU of the server and the workers over the replay and the drain (the driver measures its own).
  const serverCpuBefore = session.serverPid === null ? null : processCpuUs(session.serverPid);
  const workersCpuBefore = session.workerPids.map(processCpuUs);
  const redisPids = session.redisPid === null ? [] : [session.redisPid];
  const redisCpuBefore = cpuOf(redisPids);
  const postgresMeter = session.namespace ? await postgresCpuMeter(db, session.namespace) : null;
  const events = generateCorpus({ seed: `bench/${session.system}/${session.dbRttMs}/${rate}/${++runCounter}`, requests, ...CORPUS });
  let rss: number | null = null;
  let workerRss: number | null = null;
  const sampleRss = () => {
    if (session.serverPid !== null) rss = Math.max(rss ?? 0, rssMb(session.serverPid) ?? 0) || rss;
    for (const pid of session.workerPids) workerRss = Math.max(workerRss ?? 0, rssMb(pid) ?? 0) || workerRss;
  };
  let lastPrint = 0;
  const onProgress = (p: ReplayProgress) => {
    sampleRss();
    if (quiet || p.elapsedMs - lastPrint < 2000) return;
    lastPrint = p.elapsedMs;
    log(
      `    ${label}: ${p.sent}/${p.total} sent, ${p.currentRate.toFixed(0)}/s, running P95 ${p.p95Ms === null ? "-" : p.p95Ms.toFixed(1) + " ms"}, ${p.errors} errors, ${p.inFlight} in flight`,
    );
  };
  const result: ReplayResult = await replay({
    url: session.url,
    rate,
    events,
    credentials: session.credentials,
    timeoutMs: REQUEST_TIMEOUT_MS,
    signal: abort.signal,
    onProgress,
    shouldStop: (p) =>
      p.elapsedMs > 3000 && p.p95Ms !== null && p.p95Ms > HOPELESS_P95_MS ? `running P95 above ${HOPELESS_P95_MS / 1000} s` : null,
    driver,
  });
  sampleRss();

  let last202 = 0;
  for (const s of result.samples) {
    if (s.outcome !== "accepted") continue;
    session.acceptedIds.add(s.eventId);
    last202 = Math.max(last202, s.doneAt);
  }
  const { drainMs, timedOut } = await measureDrain(session, db, Date.parse(result.startedAt) + last202);
  const serverCpu =
    session.serverPid === null || serverCpuBefore === null ? null : (processCpuUs(session.serverPid) ?? NaN) - serverCpuBefore;
  const workersCpuAfter = session.workerPids.map(processCpuUs);
  const workersCpu =
    session.workerPids.length === 0 || [...workersCpuBefore, ...workersCpuAfter].some((x) => x === null)
      ? null
      : workersCpuAfter.reduce((sum: number, x, i) => sum + x! - workersCpuBefore[i]!, 0);
  const redisCpu = cpuDelta(redisCpuBefore, cpuOf(redisPids));
  const postgresCpu = postgresMeter ? (await postgresMeter()).cpuUs : null;
  const acceptedInRun = result.samples.filter((s) => s.outcome === "accepted").length;
  const sumCpu = [result.driverCpuUs, serverCpu, workersCpu, redisCpu, postgresCpu].reduce<number>(
    (sum, x) => sum + (x === null || x === undefined || !Number.isFinite(x) ? 0 : x),
    0,
  );
  const perRequest = (x: number | null | undefined, n: number) =>
    x === null || x === undefined || !Number.isFinite(x) || n <= 0 ? null : round(x / n);
  const latency = summarizeLatency(result.samples.map((s) => s.latencyMs));
  const run: BenchRun = {
    system: session.system,
    db_rtt_ms: session.dbRttMs,
    rate,
    achieved_rate: Math.round(result.achievedRate),
    p50_ms: latency ? round(latency.p50) : null,
    p95_ms: latency ? round(latency.p95) : null,
    p99_ms: latency ? round(latency.p99) : null,
    errors: result.samples.filter((s) => s.outcome !== "accepted" && s.outcome !== "duplicate").length,
    drain_ms: drainMs === null ? null : Math.round(drainMs),
    rss_mb: rss === null ? null : Math.round(rss),
    requests,
    sent: result.samples.length,
    p95_ci_ms: latency ? [round(latency.p95Ci[0]), round(latency.p95Ci[1])] : null,
    max_ms: latency ? round(latency.max) : null,
    send_lag_p99_ms: round(result.sendLagP99Ms),
    valid: result.valid,
    ...benchRule(latency, result.schedule),
    load_avg_1m: round(loadavg()[0]),
    purpose,
    driver,
    cpu_us: {
      driver: perRequest(result.driverCpuUs, result.samples.length),
      server: perRequest(serverCpu, result.samples.length),
      workers: perRequest(workersCpu, acceptedInRun),
      redis: perRequest(redisCpu, result.samples.length),
      postgres: perRequest(postgresCpu, result.samples.length),
      sum: perRequest(sumCpu, result.samples.length),
    },
  };
  if (result.invalidReason) run.invalid_reason = result.invalidReason;
  if (result.aborted) run.stopped = result.aborted;
  if (timedOut) run.drain_timed_out = true;
  if (session.system === "ingest") run.worker_rss_mb = workerRss === null ? null : Math.round(workerRss);
  if (!quiet) {
    const cpu = run.cpu_us!;
    const cpuText = `CPU/request driver ${cpu.driver ?? "-"} µs, server ${cpu.server ?? "-"} µs${session.workerPids.length ? `, workers ${cpu.workers ?? "-"} µs/event` : ""}${cpu.redis != null ? `, redis ${cpu.redis} µs` : ""}${cpu.postgres != null ? `, postgres ${cpu.postgres} µs` : ""}, sum ${cpu.sum ?? "-"} µs`;
    log(
      `  ${label}: P50 ${run.p50_ms} ms, P95 ${run.p95_ms} ms, P99 ${run.p99_ms} ms, ${run.errors} errors, achieved ${run.achieved_rate}/s` +
        `${run.drain_ms !== null ? `, drain ${run.drain_ms} ms` : ""}, lag p99 ${run.send_lag_p99_ms} ms, rule ${run.rule ?? "-"}; ${cpuText}${run.valid ? "" : ` — rate not held: ${run.invalid_reason}`}${run.stopped ? ` — stopped: ${run.stopped}` : ""}`,
    );
  }
  return run;
}

/** The replay-validity rule against the bench's P95 <= 20 ms bar: every row says what it proves. */
function benchRule(latency: LatencySummary | null, schedule: ScheduleCheck | undefined): Pick<BenchRun, "rule" | "rule_detail"> {
  if (!latency) return {};
  const j = judgeP95(latency, P95_RULE_MS, schedule, "bench bar");
  return { rule: j.verdict, rule_detail: j.detail };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A short replay whose numbers are thrown away: JIT, connection pools and caches of a cold server. */
async function warmUp(session: Session, db: pg.Client): Promise<void> {
  log(`  warming up ${session.system} db=${session.dbRttMs}ms (not reported)`);
  const rate = session.system === "sync" && session.dbRttMs > 0 ? 50 : 1000;
  await benchRun(session, db, rate, rate * (QUICK ? 1 : 3), "step", true);
}

/**
 * Climb the ladder of rates until one breaks the rule (P95 <= 20 ms, valid run, errors <= 0.1%).
 * Rates already run as fixed runs are reused; below the ladder's first rate, halve down.
 */
async function findMaxRate(session: Session, db: pg.Client, done: BenchRun[]): Promise<{ max: MaxRate; runs: BenchRun[] }> {
  const runs: BenchRun[] = [];
  const at = async (rate: number) => {
    const existing = done.find((r) => r.rate === rate && r.purpose === "fixed");
    if (existing) return existing;
    const r = await benchRun(session, db, rate, Math.max(2000, rate * STEP_SECONDS), "step");
    runs.push(r);
    return r;
  };
  let best: number | null = null;
  for (const rate of LADDER) {
    if (abort.signal.aborted) break;
    const failure = ruleFailure(await at(rate));
    if (failure) {
      // Even the first rung failed on the service's account: look below it. When the driver did
      // not hold the rate, lower rates only measure the machine's other load, so stop there.
      if (best === null && !/driver/.test(failure)) {
        for (const lower of [250, 100, 50]) {
          if (abort.signal.aborted) break;
          if (!ruleFailure(await at(lower))) return { max: { rate: lower, limitedBy: failure }, runs };
        }
      }
      return { max: { rate: best, limitedBy: failure }, runs };
    }
    best = rate;
  }
  return { max: { rate: best, limitedBy: `end of the ladder (${LADDER[LADDER.length - 1]}/s)` }, runs };
}

// ---- The bench ---------------------------------------------------------------------------------

async function main(): Promise<number> {
  const systems: BenchSystem[] = ["raw", "floor", "express", "ingest", "sync"];
  if (ONLY !== undefined && !systems.includes(ONLY as BenchSystem)) {
    console.error(`bench: --only takes one of ${systems.join(", ")}, got ${JSON.stringify(ONLY ?? "")}`);
    return 2;
  }
  const problem = await checkServices(REDIS_URL, DATABASE_URL);
  if (problem) {
    console.error(`bench: ${problem}`);
    return 2;
  }
  const started = Date.now();
  const cpu = cpus();
  const logDir = mkdtempSync(join(tmpdir(), "release-gate-bench-"));
  log(`bench: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, Node ${process.version}${QUICK ? " (--quick)" : ""}`);
  const load = loadavg()[0];
  if (load > 1)
    log(
      `bench: WARNING: load average ${load.toFixed(1)} before starting: other work is using the cores, and every number below will suffer from it (see the "load" column)`,
    );
  log(
    `bench: corpus of GitHub webhook examples over ${CORPUS.orderingKeys} ordering keys, ${CORPUS.redeliveryShare * 100}% redeliveries; service logs in ${logDir}`,
  );

  const machine = machineRecord(machineSnapshot(), await measureEventLoopJitter(2000));
  log(`bench: machine: ${machineLine(machine)}`);

  const proxy = await startScript("delay-proxy.js", ["--target", dbHostPort(DATABASE_URL), "--rtt-ms", "10"]);
  cleanups.push(proxy.stop);
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  cleanups.push(() => db.end());

  const runs: BenchRun[] = [];
  const maxRates: Partial<Record<BenchSystem, MaxRate>> = {};
  // `drivers`: rates at which the lean driver and its baseline each replay DRIVER_COMPARISON_REQUESTS, back to back.
  const plan: { system: BenchSystem; db: 0 | 10; fixed: [number, number][]; ladder: boolean; drivers?: number[] }[] = [
    {
      system: "raw",
      db: 0,
      fixed: [
        [500, FIXED_500_REQUESTS],
        [1000, FIXED_1K_REQUESTS],
      ],
      ladder: true,
      drivers: [1000],
    },
    // The floor at the rate the compare measures: what node:http and one Redis round trip cost a request.
    { system: "floor", db: 0, fixed: [[1000, FIXED_1K_REQUESTS]], ladder: false },
    { system: "express", db: 0, fixed: [[1000, FIXED_500_REQUESTS]], ladder: true },
    {
      system: "ingest",
      db: 0,
      fixed: [
        [500, FIXED_500_REQUESTS],
        [1000, FIXED_1K_REQUESTS],
      ],
      ladder: true,
      drivers: [1000],
    },
    { system: "ingest", db: 10, fixed: [[500, FIXED_500_REQUESTS]], ladder: false },
    {
      system: "sync",
      db: 0,
      fixed: [
        [500, FIXED_500_REQUESTS],
        [1000, FIXED_1K_REQUESTS],
      ],
      ladder: true,
    },
    { system: "sync", db: 10, fixed: [[500, FIXED_500_REQUESTS]], ladder: false },
  ];
  for (const step of plan.filter((p) => ONLY === undefined || p.system === ONLY)) {
    if (abort.signal.aborted) break;
    const noDatabase = step.system === "raw" ? " (no database)" : step.system === "floor" ? " (Redis, no database)" : "";
    log(`\n${step.system}, database ${step.db} ms away${noDatabase}:`);
    const session = await openSession(step.system, step.db, proxy.port, logDir);
    try {
      await warmUp(session, db);
      const sessionRuns: BenchRun[] = [];
      for (const [rate, requests] of step.fixed) {
        if (abort.signal.aborted) break;
        sessionRuns.push(await benchRun(session, db, rate, requests, "fixed"));
      }
      runs.push(...sessionRuns);
      for (const rate of step.drivers ?? []) {
        // Lean, baseline, baseline, lean: a machine whose load drifts during the four runs favours neither.
        for (const driver of ["lean", "baseline", "baseline", "lean"] as const) {
          if (!abort.signal.aborted) runs.push(await benchRun(session, db, rate, DRIVER_COMPARISON_REQUESTS, "driver", false, driver));
        }
      }
      if (step.ladder && !abort.signal.aborted) {
        log(`  searching the highest rate with P95 <= 20 ms:`);
        const { max, runs: stepRuns } = await findMaxRate(session, db, sessionRuns);
        runs.push(...stepRuns);
        maxRates[step.system] = max;
        log(`  ${step.system}: ${max.rate === null ? "no rate" : `${max.rate}/s`} (then ${max.limitedBy})`);
      }
    } finally {
      await session.close();
    }
  }

  log(
    `\nResults (${((Date.now() - started) / 1000).toFixed(0)} s; latency from each request's due time, coordinated omission corrected; nearest-rank percentiles over every sample):\n`,
  );
  log(renderTable(runs));
  log(`\nCPU per request (process CPU time over the run ÷ requests; workers ÷ events accepted):\n`);
  log(renderCpuTable(runs));
  const comparisons = driverComparisons(runs);
  log(
    `\nThe replay driver, lean vs baseline (same system, same rate; runs of ${DRIVER_COMPARISON_REQUESTS} requests in the order lean, baseline, baseline, lean):\n${renderDriverComparisons(comparisons)}`,
  );
  log(`\nHighest rate with P95 <= 20 ms (database local):`);
  for (const system of ["raw", "express", "sync", "ingest"] as BenchSystem[]) {
    const m = maxRates[system];
    if (!m) continue;
    // What a request cost every process together at that rate, and the ceiling that implies.
    const at = runs.find((r) => r.system === system && r.db_rtt_ms === 0 && r.rate === m.rate && r.purpose !== "driver");
    const sum = at?.cpu_us?.sum;
    const ceiling = coLocatedCeiling(sum);
    const cost =
      sum == null
        ? ""
        : `; CPU ${sum} µs per request summed over every process, co-located ceiling ${ceiling === null ? "-" : Math.round(ceiling)}/s on ${CORES} cores`;
    log(`  ${system.padEnd(6)} ${m.rate === null ? "none" : `${m.rate}/s`}   (next: ${m.limitedBy})${cost}`);
  }
  const checks = checkTargets(runs, maxRates);
  log(`\nIssue 2's numbers:\n${renderChecks(checks)}`);

  const results = {
    generated_at: new Date().toISOString(),
    machine: {
      cpu_model: cpu[0]?.model ?? "unknown",
      cores: cpu.length,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      record: { ...machine, after: machineSnapshot() },
    },
    quick: QUICK,
    corpus: { ordering_keys: CORPUS.orderingKeys, redelivery_share: CORPUS.redeliveryShare, source: "@octokit/webhooks-examples" },
    duration_s: Math.round((Date.now() - started) / 1000),
    runs,
    max_rate_p95_20ms: Object.fromEntries(Object.entries(maxRates).map(([k, v]) => [k, v.rate])),
    max_rate_limited_by: Object.fromEntries(Object.entries(maxRates).map(([k, v]) => [k, v.limitedBy])),
    driver_comparison: comparisons,
    checks,
  };
  if (abort.signal.aborted) {
    // A partial bench must not replace the last complete one.
    log("\nbench: interrupted; bench/results/latest.json left as it was");
    return 130;
  }
  const outDir = join(sourceBenchDir, "results");
  mkdirSync(outDir, { recursive: true });
  // A bench of one system must not replace the last complete one either.
  const out = join(outDir, ONLY === undefined ? "latest.json" : `latest-${ONLY}.json`);
  writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  log(`\nwrote ${out}`);
  return 0;
}

/** The same database, reached through the delay proxy. */
function throughProxy(url: string, proxyPort: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(proxyPort);
  return u.toString();
}

function dbHostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname || "127.0.0.1"}:${u.port || 5432}`;
}

async function cleanUp(): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  cleanups.length = 0;
}

process.on("SIGINT", () => {
  if (abort.signal.aborted) process.exit(130);
  log("\nbench: interrupted; stopping the replay and tearing down (Ctrl-C again to quit at once)");
  abort.abort(new Error("interrupted"));
});

main()
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(`bench: ${(err as Error).message ?? String(err)}`);
    await cleanUp();
    process.exit(2);
  });
