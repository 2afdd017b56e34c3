// A runner: the BullMQ worker that takes runs off the queue one at a time and runs each on its PR
// (run-on-github.ts), then frees the slot and dispatches the waiting run. A run whose runner died is
// failed by BullMQ's stalled check (maxStalledCount 0) and closed on the PR here.

import { Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Gate } from "../../gates/model/index.js";
import { gateOfRecord } from "../events/repository-gates.js";
import type { GitHub } from "../github/github.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import { RUN_QUEUE_NAME, type RunJob } from "./run-queue.js";
import type { RunRecord } from "./run-state.js";
import { completeCheckRun } from "../github/check-run.js";
import { refreshWarRoom, whereOf } from "../github/war-room-comment.js";
import { attempt, type BotLog } from "../boot/bot-log.js";
import { runOnGitHub, type RunOnGitHubDeps } from "./run-on-github.js";
import { finishAttempt } from "./run-attempt.js";
import { retry } from "../../retry.js";

export interface RunnerDeps extends RunOnGitHubDeps {
  gates: GateCatalog;
  /** An installation-authenticated client (Probot's `app.auth(id)`). */
  github(installationId: number): Promise<GitHub>;
}

/**
 * Executes one run from the queue. Whatever happens, the run ends in a final state on the PR and its
 * slot goes to the waiting run.
 */
export async function runFromQueue(deps: RunnerDeps, runId: string, stopSignal?: AbortSignal): Promise<void> {
  const { queue, log } = deps;
  const state = queue.state;
  let record = await state.get(runId);
  if (!record) {
    log.warn({ runId }, "a queued run has no record (expired?); skipping it");
    return;
  }
  const gate = resolveGate(record, deps.gates, log);
  // What was already posted on the PR, kept here too: if Redis fails before the record holds it, the
  // broken run's report still completes this check run instead of leaving it in progress forever.
  const posted: Partial<RunRecord> = {};
  try {
    if (record.phase !== "queued") return;
    const github = await deps.github(record.installationId);
    if (!gate) {
      record = (await state.update(runId, () => ({
        phase: "finished",
        verdict: "ERROR",
        reason: `no gate named ${record!.gate} in GATES_DIR`,
      })))!;
      await attempt(log, "reply", runId, () =>
        github.rest.issues.createComment({
          ...whereOf(record!),
          issue_number: record!.pullNumber,
          body: `⚠️ Run \`${runId}\` could not start: this runner has no gate named \`${record!.gate}\`. Check GATES_DIR on the runner.`,
        }),
      );
      return;
    }
    if (record.abortRequestedBy) {
      record = (await state.update(runId, () => ({
        phase: "cancelled",
        cancelledBecause: `aborted by @${record!.abortRequestedBy} before it started`,
        reportedAt: new Date().toISOString(),
      })))!;
      await refreshWarRoom(github, gate, record, log);
      return;
    }
    await runOnGitHub(deps, github, gate, runId, stopSignal, posted);
  } catch (err) {
    log.error({ err, runId }, "the run failed outside the gate engine");
    const why = `the runner failed: ${(err as Error).message}`;
    const broken = await whileRedisRestarts(() =>
      state.update(runId, (r) =>
        r.reportedAt
          ? null
          : { ...posted, phase: "finished", verdict: "ERROR", reason: why, finishedAt: r.finishedAt ?? new Date().toISOString() },
      ),
    );
    if (broken && !broken.reportedAt) await reportBrokenRun(deps, broken, why).catch(() => {});
  } finally {
    const ended = await whileRedisRestarts(() => state.get(runId));
    if (ended) await whileRedisRestarts(() => queue.finished(ended));
  }
}

/**
 * A run that failed because Redis went away (e.g. restarted) is closed once Redis answers again, for about
 * half a minute (30 tries, waits jittered up to 2 s): given up at once, the run would stay "running" on the
 * PR and hold its gate for good.
 */
function whileRedisRestarts<T>(write: () => Promise<T>): Promise<T> {
  return retry(write, { backoff: { firstDelayMs: 1_000, maxDelayMs: 2_000 }, retries: 29 });
}

/** The run's gate: the file pinned from the repository's default branch when the command came, else GATES_DIR's. */
function resolveGate(record: RunRecord, local: GateCatalog, log: BotLog): Gate | undefined {
  try {
    return gateOfRecord(record, local);
  } catch (err) {
    log.warn({ err, runId: record.id }, "the run's pinned gate file no longer parses");
    return undefined;
  }
}

/** Tells the PR that a run ended without a verdict: check run failed, war-room comment, a reply. */
async function reportBrokenRun(deps: RunnerDeps, broken: RunRecord, why: string): Promise<void> {
  const { log } = deps;
  const gate = resolveGate(broken, deps.gates, log);
  let record = broken;
  // A run that had taken its attempt counts as one, ERROR: the ledger keeps every attempt, not only the good ones.
  if (gate && record.attempt) {
    const ended = await finishAttempt(gate, deps.queue.state, deps.queue.attempts, record, {
      verdict: "ERROR",
      at: record.finishedAt ?? new Date().toISOString(),
      origin: "pr",
    }).catch((err: unknown) => {
      log.error({ err, runId: record.id }, "could not record a broken run's attempt");
      return null;
    });
    if (ended) record = (await deps.queue.state.update(record.id, () => ({ attempt: ended.attempt }))) ?? record;
  }
  const github = await deps.github(record.installationId);
  const where = whereOf(record);
  if (record.checkRunId) {
    await attempt(log, "complete the check run", record.id, () =>
      completeCheckRun(github, where, record.checkRunId!, {
        conclusion: "failure",
        title: `ERROR: ${why}`,
        summary: `Run \`${record.id}\` did not finish: ${why}. No verdict; run the command again.`,
      }),
    );
  }
  if (gate) await refreshWarRoom(github, gate, record, log);
  await attempt(log, "reply", record.id, () =>
    github.rest.issues.createComment({
      ...where,
      issue_number: record.pullNumber,
      body: `⚠️ Run \`${record.id}\` (\`${record.label}\`) is marked failed: ${why}. Run \`${gate?.command.prefix ?? "/" + record.gate} ${record.label}\` again.`,
    }),
  );
  await whileRedisRestarts(() => deps.queue.state.update(record.id, () => ({ reportedAt: new Date().toISOString() })));
}

/** Closes a run whose runner died: failed on the PR (check run, war-room comment, a reply), slot freed. */
export async function recoverLostRun(deps: RunnerDeps, runId: string, why: string): Promise<RunRecord | null> {
  const record = await deps.queue.state.update(runId, (r) =>
    r.phase === "running" || r.phase === "queued"
      ? { phase: "lost", verdict: "ERROR", reason: why, finishedAt: new Date().toISOString() }
      : null,
  );
  if (!record || record.phase !== "lost") return record;
  try {
    await reportBrokenRun(deps, record, why);
  } finally {
    await deps.queue.finished(record);
  }
  return record;
}

export interface RunnerOptions {
  connection: Redis;
  prefix: string;
  /** Lock on a running job, renewed every half of it; a runner silent for this long is presumed dead. ms. */
  lockDuration?: number;
  /** How often runners look for jobs whose runner died, ms. */
  stalledInterval?: number;
}

const STALLED = "job stalled more than allowable limit";

/** One runner process's worker: one run at a time. */
export class Runner {
  private readonly worker: Worker<RunJob>;
  private readonly workerConnection: Redis;
  private readonly shutdown = new AbortController();

  constructor(
    private readonly deps: RunnerDeps,
    options: RunnerOptions,
  ) {
    this.workerConnection = options.connection.duplicate({ maxRetriesPerRequest: null });
    this.worker = new Worker<RunJob>(
      RUN_QUEUE_NAME,
      (job: Job<RunJob>, _token?: string, lock?: AbortSignal) =>
        runFromQueue(deps, job.data.runId, lock ? AbortSignal.any([lock, this.shutdown.signal]) : this.shutdown.signal),
      {
        connection: this.workerConnection,
        prefix: options.prefix,
        concurrency: 1,
        // A run is never retried or handed to another runner half done: a stalled run fails, and is closed below.
        maxStalledCount: 0,
        lockDuration: options.lockDuration ?? 30_000,
        stalledInterval: options.stalledInterval ?? 30_000,
        autorun: false,
      },
    );
    this.worker.on("failed", (job, err) => {
      if (!job || err?.message !== STALLED) return;
      recoverLostRun(
        deps,
        job.data.runId,
        `its runner stopped responding (no heartbeat for ${Math.round((options.lockDuration ?? 30_000) / 1000)} s)`,
      ).catch((e: unknown) => deps.log.error({ err: e, runId: job.data.runId }, "could not close a lost run"));
    });
    this.worker.on("error", (err) => deps.log.error({ err }, "run queue worker error"));
  }

  start(): void {
    void this.worker.run().catch((err: unknown) => this.deps.log.error({ err }, "the runner stopped"));
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /**
   * Stops taking runs. The current run is stopped like an abort (teardown, evidence, PR updated) and
   * waited for, unless `force`.
   */
  async close(force = false): Promise<void> {
    this.shutdown.abort(new Error("the runner was shut down"));
    await this.worker.close(force);
    this.workerConnection.disconnect();
  }
}
