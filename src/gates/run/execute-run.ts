// Executes a run of a gate: deploy the target, warm it up, run the pre-flight checks and the RBAC probe,
// measure each phase (measure-phase.ts), decide the run, keep the war-room timeline, tear down.

import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Gate,
  type Phase,
  type Decision,
  type GateRun,
  type PhaseResult,
  type RunOrigin,
  type TimelineEntry,
  type WarRoomUpdate,
  formatMs as formatLatency,
  type BaselineRecord,
} from "../model/index.js";
import {
  deploy,
  DeploymentError,
  type Credentials,
  type Deployment,
  logTail,
  ServiceSourceError,
  probeRbac,
  type RoomOptions,
  prepareTarget,
  roomLine,
  type CommitSource,
  type PreparedTarget,
} from "../target/index.js";
import {
  EventStore,
  type StoredEvent,
  generateCorpus,
  replay,
  type ReplayProgress,
  measurePhase,
  notRun,
  runTagOf,
  capacityLine,
  CAPACITY_LABEL,
  probeCapacity,
  MergeError,
  ShardCoordinator,
  ShardFlowError,
  startLocalRunners,
  type LocalRunners,
  type ShardedDriving,
} from "../measure/index.js";
import { auditTrail, preflightFailure } from "../evidence/index.js";
import { evaluateRun, NO_BASELINE } from "../verdict/index.js";
import { milestoneUpdate, type RetryContext, onTheClock } from "../war-room/index.js";
import { machineRecord, machineSnapshot, measureEventLoopJitter } from "./machine-record.js";
import { PREFLIGHT_CHECK_NAMES, PREFLIGHT_CHECKS, runPreflight } from "./preflight-checks.js";
import { SERVER_POSTGRES_POOL, WORKER_POSTGRES_POOL } from "../../ingest-service/postgres-pools.js";

export interface RunObserver {
  /** A war-room update at each milestone (deploy, phase start and end, verdict). */
  update?(u: WarRoomUpdate, run: GateRun): void | Promise<void>;
  /** Replay progress, about four times a second. */
  progress?(phase: Phase, p: ReplayProgress): void;
}

export interface RunOptions {
  /** The phases to run, in order (see phasesUpTo). */
  phases: Phase[];
  commit: string;
  runId?: string;
  /** Where the deployed processes' logs go. */
  logDir?: string;
  /** Credentials the bundled service is deployed with; fresh random ones by default. */
  credentials?: Credentials;
  signal?: AbortSignal;
  observer?: RunObserver;
  /** Number of lineages in the audit trail. */
  lineages?: number;
  /** Extra environment for the bundled service's processes. */
  serviceEnv?: Record<string, string>;
  /** Keep the run's Redis keys and PostgreSQL schema after teardown (for inspection). */
  keepData?: boolean;
  /**
   * Build the bundled service from the commit under test (a tarball of `commit`) and deploy it from
   * that tree instead of the installed copy; see service-source.ts.
   */
  source?: CommitSource;

  /** When the run was asked for (the PR command): a deadline given as a duration counts from here. Default: the start. */
  requestedAt?: string;
  /** The environment pre-flight's `secrets` are looked up in (default process.env plus serviceEnv). */
  env?: Record<string, string | undefined>;
  /**
   * Build and run the bundled service in a sealed room (room/). Always so for a commit's source (code
   * that is not the runner's own), whatever this says; `gate run --seal` asks for it on the runner's own.
   */
  seal?: boolean;
  /** How the sealed room is made: `hide` lists folders it must not see besides the runner's own code (its state, its keys). */
  room?: RoomOptions;
  /**
   * The one-sided α of the upper bounds a latency PASS is judged on (default 0.025: 97.5%). Smaller
   * is stricter: a retry after a FAIL on the same commit may be judged at 0.05 / 2^j (alpha
   * spending). The FAIL side's lower bounds stay at 0.025.
   */
  judgeAlpha?: number;
  /** Where the run was asked for, so NEXT names a command that exists there (default: the command line). */
  origin?: RunOrigin;
  /** This run's attempt on its commit and the verdicts before it, so NEXT says what the retry rule still allows. */
  attempt?: RetryContext;
  /**
   * For a gate with `baseline:`, the run to compare with (latency_p95_regression), or why there is none. Absent for
   * such a gate: NO_BASELINE. Ignored for a gate without `baseline:`.
   */
  baseline?: BaselineRecord;
  /**
   * Drive each phase through runners (shards/): how many (default the gate file's `replay.runners`),
   * the coordination Redis (default the bundled target's), and whether they run elsewhere already
   * (`external`); otherwise this run starts them on this machine and stops them after.
   */
  runners?: { count?: number; redisUrl?: string; external?: boolean; prefix?: string };
}

export function newRunId(gate: Gate, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${gate.name}-${stamp}-${randomBytes(3).toString("hex")}`;
}

function freshCredentials(): Credentials {
  return {
    bearerKey: `rg_${randomBytes(24).toString("hex")}`,
    signingSecret: `whsec_${randomBytes(32).toString("base64")}`,
  };
}

/** How long an idle event loop is watched before the first phase, for the machine's jitter floor. */
export const EVENT_LOOP_BASELINE_MS = 2000;

/** Requests sent to a freshly deployed service before anything is measured. */
export const WARM_UP_REQUESTS = 200;

/**
 * A service just started is cold (JIT, connection pools, the Redis script cache); production traffic
 * meets a warm one. A short unmeasured replay, of events of its own, warms it before the first phase,
 * so a phase's P95 is not decided by the first few dozen requests after a start.
 */
async function warmUp(gate: Gate, deployment: Deployment, signal?: AbortSignal, runTag?: string): Promise<void> {
  const events = generateCorpus({
    seed: `${gate.corpus.seed}/warm-up`,
    requests: WARM_UP_REQUESTS,
    orderingKeys: 50,
    redeliveryShare: 0,
  })
    .map((e) => ({ ...e, orderingKey: `warm-up/${e.orderingKey}` }))
    .map((e) => (runTag ? { ...e, id: `${e.id}_${runTag}`, orderingKey: `${runTag}/${e.orderingKey}` } : e));
  await replay({ url: deployment.webhookUrl, rate: 200, events, credentials: deployment.credentials, signal, timeoutMs: 10_000 });
}

/** Passwords inside the target's connection URLs: they must never reach the evidence. */
function urlPasswords(gate: Gate): string[] {
  const urls = gate.target.kind === "bundled" ? [gate.target.redisUrl, gate.target.databaseUrl] : [gate.target.databaseUrl];
  return urls.flatMap((u) => {
    try {
      const password = decodeURIComponent(new URL(u).password);
      return password ? [password] : [];
    } catch {
      return [];
    }
  });
}

export async function executeRun(gate: Gate, o: RunOptions): Promise<GateRun> {
  if (o.judgeAlpha !== undefined && !(o.judgeAlpha > 0 && o.judgeAlpha <= 0.025)) {
    throw new RangeError(`judgeAlpha is the one-sided alpha of a PASS's upper bounds: expected 0 < alpha <= 0.025, got ${o.judgeAlpha}`);
  }
  const runId = o.runId ?? newRunId(gate);
  const namespace = `rg_${runId.split("-").pop()}_${Date.now().toString(36)}`;
  const credentials = o.credentials ?? freshCredentials();
  const logDir = o.logDir ?? mkdtempSync(join(tmpdir(), "release-gate-"));
  const now = () => new Date().toISOString();
  const owner = gate.statusOwner;
  const checks = gate.preflight ? PREFLIGHT_CHECK_NAMES.filter((c) => PREFLIGHT_CHECKS[c].wanted(gate.preflight!)) : [];
  // Rows: deploy, the pre-flight checks, RBAC, the phases, [the capacity probe], the decision.
  const pre = checks.length;
  const timeline: TimelineEntry[] = [
    { time: "", milestone: `Deploy target, warm up (${WARM_UP_REQUESTS} requests, not measured)`, owner, status: "pending", blocker: "" },
    ...checks.map((c) => ({ time: "", milestone: `Pre-flight: ${c}`, owner, status: "pending" as const, blocker: "Deploy" })),
    { time: "", milestone: "RBAC probe", owner, status: "pending", blocker: "Deploy" },
    ...o.phases.map((p) => ({
      time: "",
      milestone: `${p.name} replay (${p.requests} @ ${p.rate}/s, P95 ≤ ${p.latencyP95Ms}ms)`,
      owner,
      status: "pending" as const,
      blocker: "all prior PASS",
    })),
    ...(gate.capacity
      ? [{ time: "", milestone: `Capacity probe (${CAPACITY_LABEL})`, owner, status: "pending" as const, blocker: "last phase ran" }]
      : []),
    { time: "", milestone: "PASS/FAIL decision", owner: gate.dri, status: "pending", blocker: "replay results" },
  ];
  const run: GateRun = {
    id: runId,
    gate,
    commit: o.commit,
    startedAt: now(),
    finishedAt: "",
    verdict: "ERROR",
    reason: "the run did not finish",
    phases: [],
    rbac: [],
    lineages: [],
    timeline,
    decisions: [],
    updates: [],
    approvals: [],
    namespace,
    logs: {},
    secrets: [credentials.bearerKey, credentials.signingSecret, credentials.githubSecret, ...urlPasswords(gate)].filter((s): s is string =>
      Boolean(s),
    ),
    ...(gate.baseline ? { baseline: o.baseline ?? { compared: false, note: NO_BASELINE } } : {}),
  };
  const baselineRun = run.baseline?.compared ? run.baseline.run : undefined;
  const mark = (i: number, status: TimelineEntry["status"], blocker = "") => {
    timeline[i] = { ...timeline[i], time: now(), status, blocker };
  };
  const anchor = new Date(o.requestedAt ?? run.startedAt);
  let escalated = false;
  const publish = async (m: Parameters<typeof milestoneUpdate>[1]) => {
    const u = onTheClock(gate, milestoneUpdate(gate, m, new Date(), { origin: o.origin, attempt: o.attempt }), anchor, escalated);
    if (u.escalation) escalated = true;
    run.updates.push(u);
    await o.observer?.update?.(u, run);
  };
  // The cadence: between milestones, a status update on what is running and how far it got.
  let latest: { phase: Phase; p: ReplayProgress } | null = null;
  const observer: RunObserver = {
    ...o.observer,
    progress: (phase, p) => {
      latest = { phase, p };
      o.observer?.progress?.(phase, p);
    },
  };
  const cadence = gate.updates
    ? setInterval(() => {
        const running = timeline.find((t) => t.status === "running");
        if (!running) return;
        const l = latest as { phase: Phase; p: ReplayProgress } | null;
        const progress =
          l && running.milestone.startsWith(`${l.phase.name} replay`)
            ? `${l.phase.name}: ${l.p.sent}/${l.p.total} sent, ${l.p.accepted} accepted, ${l.p.errors} errors, running P95 ${l.p.p95Ms === null ? "n/a" : formatLatency(l.p.p95Ms)} (bar ${formatLatency(l.phase.latencyP95Ms)})`
            : `${running.milestone}: running`;
        void publish({ kind: "status", activity: running.milestone, progress }).catch(() => {});
      }, gate.updates.everyMs)
    : null;
  cadence?.unref();

  let deployment: Deployment | null = null;
  let target: PreparedTarget | null = null;
  let store: EventStore | null = null;
  const runTag = runTagOf(gate, runId);
  let lineageSource: { phase: PhaseResult; stored: StoredEvent[]; seed: string } | null = null;
  let sharded: ShardedDriving | undefined;
  let localRunners: LocalRunners | null = null;
  try {
    mark(0, "running");
    await publish({ kind: "deploy", phases: o.phases });
    target = await prepareTarget(
      gate,
      { commit: o.commit, source: o.source, seal: o.seal, room: o.room, namespace, logDir, signal: o.signal },
      {
        built: (evidence) => (run.source = evidence),
        sealed: async (room) => {
          run.room = room;
          await publish({
            kind: "check",
            title: "Sealed room ready",
            status: "GREEN",
            progress: roomLine(room),
            next: "deploy the service in it, then warm up",
          });
        },
      },
    );
    run.secrets.push(...target.secrets);
    deployment = await deploy(gate.target, {
      namespace,
      credentials,
      logDir,
      env: o.serviceEnv,
      keepData: o.keepData,
      ...target.deploy,
    });
    run.logs = deployment.logs;
    store = EventStore.connect(deployment.databaseUrl, deployment.schema);
    const runners = o.runners?.count ?? gate.replay?.runners;
    if (runners !== undefined) {
      const redisUrl = o.runners?.redisUrl ?? (gate.target.kind === "bundled" ? gate.target.redisUrl : undefined);
      if (!redisUrl) throw new Error("phases driven by runners need a coordination Redis: give one with --redis URL");
      const prefix = o.runners?.prefix ?? `rg-replay-${namespace}`;
      if (!o.runners?.external) localRunners = await startLocalRunners({ redisUrl, prefix, count: runners });
      sharded = {
        coordinator: new ShardCoordinator({ redisUrl, prefix }),
        runId,
        runners,
        ...(localRunners ? { localPids: localRunners.pids } : {}),
        ...(gate.replay?.leadMs !== undefined ? { leadMs: gate.replay.leadMs } : {}),
        ...(gate.replay?.clockBoundMs !== undefined ? { clockBoundMs: gate.replay.clockBoundMs } : {}),
      };
    }
    await warmUp(gate, deployment, o.signal, runTag);
    mark(0, "done");

    if (gate.preflight) {
      let n = 0;
      run.preflight = await runPreflight(
        gate.preflight,
        {
          redisUrl: gate.preflight.redis?.url,
          databaseUrl: deployment.databaseUrl,
          serviceBaseUrl: deployment.baseUrl,
          env: o.env ?? { ...process.env, ...o.serviceEnv },
          poolSize:
            gate.preflight.postgres?.poolSize ??
            (gate.target.kind === "bundled" ? SERVER_POSTGRES_POOL + gate.target.workers * WORKER_POSTGRES_POOL : 0),
        },
        async (r) => {
          n++;
          mark(n, r.verdict === "PASS" ? "done" : "failed", r.verdict === "PASS" ? "" : `expected ${r.expected}, found ${r.actual}`);
          await publish({
            kind: "check",
            title: `Pre-flight ${n}/${checks.length} ${r.verdict}: ${r.check}`,
            status: r.verdict === "PASS" ? "GREEN" : "RED",
            progress: `${r.check}: expected ${r.expected}, found ${r.actual}${r.detail ? ` (${r.detail})` : ""}`,
            next:
              r.verdict === "PASS"
                ? n < checks.length
                  ? `pre-flight: ${checks[n]}`
                  : "RBAC probe, then the first phase"
                : "stop: no phase runs; fix it and re-run",
          });
        },
      );
    }
    const rbacRow = 1 + pre;
    mark(rbacRow, "running");
    run.rbac = await probeRbac(deployment.baseUrl, credentials);
    const rbacFailures = run.rbac.filter((c) => c.verdict === "FAIL");
    mark(rbacRow, rbacFailures.length ? "failed" : "done", rbacFailures.map((c) => c.name).join(", "));

    // The machine as the phases will find it: load, CPU pressure, and an idle event loop's jitter.
    const before = machineSnapshot();
    run.machine = machineRecord(before, o.signal?.aborted ? null : await measureEventLoopJitter(EVENT_LOOP_BASELINE_MS, o.signal));

    let blocked: string | null =
      preflightFailure(run.preflight ?? []) ??
      (rbacFailures.length
        ? `RBAC probe failed: ${rbacFailures.map((c) => `${c.name} expected ${c.expectedStatus} got ${c.actualStatus}`).join("; ")}`
        : null);
    for (const [i, phase] of o.phases.entries()) {
      if (o.signal?.aborted) blocked ??= "the run was aborted";
      if (blocked) {
        run.phases.push(notRun(phase, `not run: ${blocked}`));
        mark(2 + pre + i, "skipped", blocked);
        continue;
      }
      mark(2 + pre + i, "running");
      await publish({ kind: "phase_start", phase, phases: o.phases, results: run.phases });
      const measured = await measurePhase(
        gate,
        phase,
        deployment,
        store,
        {
          signal: o.signal,
          onProgress: (p) => observer.progress?.(phase, p),
          judgeAlpha: o.judgeAlpha,
          baseline: baselineRun,
          shards: sharded,
        },
        runTag,
      ).catch((err: unknown) => {
        // A shard refused, missing, late, lost, or a Redis that restarted: the phase is ERROR, never PASS.
        if (err instanceof ShardFlowError || err instanceof MergeError)
          return { result: { ...notRun(phase, `ERROR: ${err.message}`), runners: sharded?.runners }, stored: [] as StoredEvent[] };
        throw err;
      });
      const { result, stored } = measured;
      run.phases.push(result);
      if (result.accepted > 0) lineageSource = { phase: result, stored, seed: `${gate.corpus.seed}/${phase.name}` };
      mark(2 + pre + i, result.verdict === "PASS" ? "done" : "failed", result.verdict === "PASS" ? "" : result.reason);
      await publish({ kind: "phase_end", phase, result, phases: o.phases, results: run.phases });
      if (o.signal?.aborted) blocked = "the run was aborted";
      // A phase that could not tell does not stop the run: a later phase's FAIL still decides it (a later PASS cannot).
      else if (result.verdict !== "PASS" && result.verdict !== "INCONCLUSIVE") blocked = `${phase.name} did not pass (${result.reason})`;
    }
    if (gate.capacity) {
      const row = 2 + pre + o.phases.length;
      const last = run.phases[run.phases.length - 1];
      if (!last?.ran || o.signal?.aborted) mark(row, "skipped", "the last phase did not run");
      else {
        mark(row, "running");
        run.capacity = await probeCapacity(gate.capacity, {
          webhookUrl: deployment.webhookUrl,
          credentials,
          seed: gate.corpus.seed || gate.name,
          signal: o.signal,
        });
        mark(row, run.capacity.problem ? "failed" : "done", run.capacity.problem ?? "");
        await publish({
          kind: "check",
          title: "Capacity probe (closed loop, headroom)",
          status: "GREEN",
          progress: capacityLine(run.capacity),
          next: "the verdict (the probe is not part of it)",
        });
      }
    }
  } catch (err) {
    const e = err as Error;
    run.reason = `could not run: ${e.message}`;
    if (err instanceof ServiceSourceError) {
      if (err.evidence) run.source = err.evidence;
      run.sourceFailure = { step: err.step, code: err.code, exitCode: err.exitCode, logTail: err.logTail };
      run.reason = `could not run: ${err.step} failed: ${err.message}`;
    } else if (err instanceof DeploymentError && target?.service && err.detail.logFile) {
      // A service built from the commit under test that never came up: its own log says why.
      const log = await readFile(err.detail.logFile, "utf8").catch(() => "");
      run.sourceFailure = { step: "deploy", code: err.code, exitCode: err.detail.exitCode ?? null, logTail: logTail(log) };
      run.reason = `could not run: deploy failed: ${e.message}`;
    }
    const running = timeline.findIndex((t) => t.status === "running");
    if (running >= 0) mark(running, "failed", e.message);
    for (const phase of o.phases.slice(run.phases.length)) run.phases.push(notRun(phase, `not run: ${e.message}`));
  } finally {
    if (run.machine) run.machine.after = machineSnapshot();
    if (cadence) clearInterval(cadence);
    await sharded?.coordinator.close();
    await localRunners?.stop();
    await store?.close().catch(() => {});
    await deployment?.teardown().catch(() => {});
    await target?.dispose();
  }

  if (lineageSource) {
    run.lineages = await auditTrail(
      lineageSource.phase.replay!.samples,
      lineageSource.stored,
      Object.values(run.logs),
      lineageSource.seed,
      o.lineages ?? 10,
    );
  }
  const decided = evaluateRun(run.phases, { rbac: run.rbac, gatePhases: gate.phases.length, partialRuns: gate.partialRuns });
  const couldNotRun = run.reason.startsWith("could not run");
  run.verdict = couldNotRun ? "ERROR" : o.signal?.aborted && decided.verdict !== "FAIL" ? "ERROR" : decided.verdict;
  run.reason = couldNotRun ? run.reason : o.signal?.aborted ? `aborted; ${decided.reason}` : decided.reason;
  const preflightFailed = preflightFailure(run.preflight ?? []);
  if (preflightFailed && !couldNotRun) {
    run.verdict = "FAIL";
    run.reason = preflightFailed;
  }
  run.finishedAt = now();
  mark(timeline.length - 1, run.verdict === "PASS" ? "done" : "failed", run.verdict === "PASS" ? "" : run.reason);
  const decision: Decision = {
    time: run.finishedAt,
    title: `${gate.title}: ${run.verdict === "PASS" ? "PASS" : run.verdict}`,
    authority: `release-gate evaluation for ${gate.dri} (DRI)`,
    decision:
      run.verdict === "PASS"
        ? `PASS recommended; GO pending human sign-off (${gate.signoff.approvals} approval${gate.signoff.approvals === 1 ? "" : "s"})`
        : `NO-GO: ${run.verdict}`,
    rationale: run.reason,
  };
  run.decisions.push(decision);
  await publish({ kind: "verdict", run });
  return run;
}
