// A runner: takes runs off the queue one at a time and executes them against GitHub. The gate engine
// (src/gates) runs the replay; the runner keeps the PR informed (war-room comment edited in place, check
// run, final comment), commits the evidence PR, frees the slot and dispatches the waiting run. A run
// whose runner died is failed by BullMQ's stalled check (maxStalledCount 0) and closed on the PR here.

import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Gate } from "../gates/gate.js";
import type { GateRun, WarRoomUpdate } from "../gates/gate-run.js";
import { phasesUpTo } from "../gates/gate-definition.js";
import { executeRun, type RunOptions } from "../gates/execute-run.js";
import { createRedactor } from "../gates/redaction.js";
import { gateOfRecord } from "./repository-gates.js";
import { fetchSourceArchive } from "./source-archive.js";
import { writeEvidenceBundle } from "../gates/evidence-bundle.js";
import { renderVerdictTable } from "../gates/war-room.js";
import type { GitHub } from "./github.js";
import type { GateCatalog } from "./gate-catalog.js";
import { RUN_QUEUE_NAME, type RunJob, type RunQueue } from "./run-queue.js";
import type { RunRecord } from "./run-state.js";
import { checkRunName, completeCheckRun, conclusionFor, PARTIAL_NOTE, progressCheckRun, startCheckRun } from "./check-run.js";
import { refreshWarRoom, renderFinalComment, runNotes, sourceFailureNote, whereOf, type RunLinks } from "./war-room-comment.js";
import type { BotLog } from "./bot-log.js";
import { evidenceBranch, openEvidencePullRequest } from "./evidence-pr.js";
import { httpStatus } from "./github.js";
import type { KeyObject } from "node:crypto";
import { attestationDigestOf, recordEvidence } from "./run-evidence.js";
import { guardForGitHub } from "./redact-for-github.js";
import { escalate, phaseSummaries, progressReporter } from "./war-room-live.js";


export interface RunnerDeps {
  gates: GateCatalog;
  queue: RunQueue;
  /** An installation-authenticated client (Probot's `app.auth(id)`). */
  github(installationId: number): Promise<GitHub>;
  log: BotLog;
  /** Names the runner in the war room ("host:pid"). */
  name?: string;
  /** How often the abort flag is read, ms. */
  abortPollMs?: number;
  /** The longest a run waits for a milestone's GitHub edits before going on, ms (default 5 s). */
  milestoneWaitMs?: number;
  /** Extra environment for the gate's bundled service (tests). */
  serviceEnv?: Record<string, string>;
  /** The Ed25519 key the bundle's attestation is signed with (EVIDENCE_SIGNING_KEY). */
  signingKey?: KeyObject;
  /** Where builds of commits under test are cached (default: release-gate-builds in the temp folder). */
  buildCacheDir?: string;
}

async function attempt<T>(log: BotLog, what: string, runId: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    log.warn({ err, runId }, `could not ${what}`);
    return null;
  }
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
      record = (await state.update(runId, () => ({ phase: "finished", verdict: "ERROR", reason: `no gate named ${record!.gate} in GATES_DIR` })))!;
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
        r.reportedAt ? null : { ...posted, phase: "finished", verdict: "ERROR", reason: why, finishedAt: r.finishedAt ?? new Date().toISOString() },
      ),
    );
    if (broken && !broken.reportedAt) await reportBrokenRun(deps, broken, why).catch(() => {});
  } finally {
    const ended = await whileRedisRestarts(() => state.get(runId));
    if (ended) await whileRedisRestarts(() => queue.finished(ended));
  }
}

/**
 * A run that failed because Redis went away (e.g. restarted) is closed once Redis answers again, up to
 * half a minute: given up at once, the run would stay "running" on the PR and hold its gate for good.
 */
async function whileRedisRestarts<T>(write: () => Promise<T>, tries = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

async function runOnGitHub(
  deps: RunnerDeps,
  github: GitHub,
  gate: Gate,
  runId: string,
  stopSignal: AbortSignal | undefined,
  posted: Partial<RunRecord>,
): Promise<void> {
  const { queue, log } = deps;
  const state = queue.state;
  const name = deps.name ?? `${hostname()}:${process.pid}`;
  let record = (await state.update(runId, () => ({ phase: "running", startedAt: new Date().toISOString(), runner: name })))!;
  const where = whereOf(record);

  await attempt(log, "react", runId, async () => {
    if (record.commandCommentId) {
      await github.rest.reactions.createForIssueComment({ ...where, comment_id: record.commandCommentId, content: "rocket" });
    }
  });
  const comment = await refreshWarRoom(github, gate, record, log);
  const check = await attempt(log, "start the check run", runId, () =>
    startCheckRun(github, where, {
      name: checkRunName(gate, record.label),
      headSha: record.headSha,
      externalId: runId,
      summary: `Run \`${runId}\` requested by @${record.requestedBy}.`,
      detailsUrl: comment?.url,
    }),
  );
  Object.assign(posted, {
    ...(comment ? { warRoomCommentId: comment.id, warRoomUrl: comment.url } : {}),
    ...(check ? { checkRunId: check.id, checkRunUrl: check.url } : {}),
  });
  record = (await state.update(runId, () => ({
    warRoomCommentId: comment?.id,
    warRoomUrl: comment?.url,
    checkRunId: check?.id,
    checkRunUrl: check?.url,
  })))!;

  const controller = new AbortController();
  // The runner shutting down (or losing its lock on the job) stops the run the way an abort does.
  const onStop = () => {
    const because = String((stopSignal?.reason as Error)?.message ?? stopSignal?.reason ?? "the runner stopped");
    void state.update(runId, (r) => (r.abortRequestedBy || r.stoppedBecause ? null : { stoppedBecause: because })).catch(() => {});
    controller.abort(new Error(because));
  };
  if (stopSignal?.aborted) onStop();
  else stopSignal?.addEventListener("abort", onStop, { once: true });
  const poll = setInterval(() => {
    state.get(runId).then(
      (r) => {
        if (r?.abortRequestedBy && !controller.signal.aborted) controller.abort(new Error(`aborted by @${r.abortRequestedBy}`));
      },
      () => {},
    );
  }, deps.abortPollMs ?? 500);

  // Milestones are edited in order. The engine waits for the edit before it goes on, so no GitHub
  // traffic shares the runner's event loop with a replay (it would show up as the driver's send lag),
  // but never longer than a few seconds: a slow GitHub must not hold the run back.
  let edits: Promise<unknown> = Promise.resolve();
  const onUpdate = (u: WarRoomUpdate, run: GateRun): Promise<void> => {
    const timeline = run.timeline.map((t) => ({ ...t }));
    const phases = phaseSummaries(run.phases);
    const preflight = run.preflight?.map((r) => ({ ...r }));
    edits = edits.then(async () => {
      const latest = await state.update(runId, () => ({ lastUpdate: u, timeline, phases, preflight })).catch((err: unknown) => {
        log.warn({ err, runId }, "could not record a war-room update");
        return null;
      });
      if (!latest) return;
      if (u.escalation) await escalate(github, state, latest, gate, u, log);
      await refreshWarRoom(github, gate, latest, log);
      if (latest.checkRunId) {
        await attempt(log, "update the check run", runId, () =>
          progressCheckRun(github, where, latest.checkRunId!, `${u.milestone} (${u.status})`, `Latest war-room update:\n\n\`\`\`\n${renderWarRoomText(u)}\n\`\`\``),
        );
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deps.milestoneWaitMs ?? 5_000);
    });
    return Promise.race([edits.then(() => undefined), bounded]).finally(() => clearTimeout(timer));
  };

  let run: GateRun;
  const workDir = await mkdtemp(join(tmpdir(), "release-gate-run-"));
  try {
    try {
      run = await executeRun(gate, {
        phases: phasesUpTo(gate, record.selector),
        commit: record.headSha,
        runId,
        signal: controller.signal,
        logDir: join(workDir, "logs"),
        serviceEnv: deps.serviceEnv,
        source: commitSource(deps, github, gate, record, workDir),
        observer: { update: onUpdate, progress: progressReporter(queue.progress, runId, log) },
        requestedAt: record.requestedAt,
      });
    } finally {
      clearInterval(poll);
      stopSignal?.removeEventListener("abort", onStop);
      await edits;
    }
    const aborted = controller.signal.aborted;

    const bundleDir = join(workDir, "bundle");
    // Whatever the bot posts from here on is also redacted of the run's own secrets.
    guardForGitHub(github, run.secrets);
    await writeEvidenceBundle(bundleDir, run, { signingKey: deps.signingKey });
    let evidenceProblem = "";
    const evidence = await attempt(log, "open the evidence PR", runId, () =>
      openEvidencePullRequest(github, where, { gate, bundleDir, sourcePullRequest: `#${record.pullNumber}` }).catch((err: unknown) => {
        evidenceProblem = evidenceFailure(err, gate.name, runId);
        throw err;
      }),
    );
    record = (await state.update(runId, () => ({
      phase: "finished",
      finishedAt: run.finishedAt,
      verdict: run.verdict,
      reason: run.reason,
      aborted,
      lastUpdate: run.updates[run.updates.length - 1] ?? record.lastUpdate,
      timeline: run.timeline,
      phases: phaseSummaries(run.phases),
      decisions: run.decisions,
      preflight: run.preflight,
      capacity: run.capacity,
      evidencePullNumber: evidence?.number,
      evidenceUrl: evidence?.url,
      ...(run.sourceFailure ? { sourceFailure: redactedFailure(run) } : {}),
    })))!;
    const links: RunLinks = { checkRun: record.checkRunUrl, evidencePullRequest: record.evidenceUrl, warRoom: record.warRoomUrl };

    if (evidence) {
      const attestationDigest = await attestationDigestOf(bundleDir);
      const recorded = await attempt(log, "record the evidence and set the promotion status", runId, () =>
        recordEvidence(github, where, gate, state, runId, evidence, { attestationDigest, log }),
      );
      if (recorded) record = recorded;
      if (evidence.reviewerProblem) {
        await attempt(log, "comment on the evidence PR", runId, () =>
          github.rest.issues.createComment({ ...where, issue_number: evidence.number, body: `⚠️ ${evidence.reviewerProblem}` }),
        );
      }
    }
    if (record.checkRunId) {
      const evidenceLine = evidence ? `\n\nEvidence PR: ${evidence.url}` : `\n\n⚠️ ${evidenceProblem}`;
      await attempt(log, "complete the check run", runId, () =>
        completeCheckRun(github, where, record.checkRunId!, {
          conclusion: conclusionFor(run.verdict, aborted, record.full !== false),
          title: `${aborted ? "Aborted" : run.verdict}${record.full === false ? ` (${record.label}, ${PARTIAL_NOTE})` : ""}: ${run.reason}`,
          summary: `${renderVerdictTable(run)}${record.sourceFailure ? `\n\n${sourceFailureNote(record.sourceFailure)}` : ""}${evidenceLine}`,
        }),
      );
    }
    await refreshWarRoom(github, gate, record, log);
    const notes = runNotes(record, gate);
    if (!evidence) notes.push(`⚠️ ${evidenceProblem}`);
    await attempt(log, "post the final comment", runId, () =>
      github.rest.issues.createComment({ ...where, issue_number: record.pullNumber, body: renderFinalComment(run, record.label, links, notes) }),
    );
    await state.update(runId, () => ({ reportedAt: new Date().toISOString() }));
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
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

/**
 * The commit under test as the service to deploy (target.bundled.source: commit, the default for PR
 * runs): its tarball, fetched with the installation token at the run's first step, then built.
 */
function commitSource(deps: RunnerDeps, github: GitHub, gate: Gate, record: RunRecord, workDir: string): RunOptions["source"] {
  if (gate.target.kind !== "bundled" || (gate.target.source ?? "commit") !== "commit") return undefined;
  return {
    archive: async () => {
      const file = join(workDir, "source.tar.gz");
      await fetchSourceArchive(github, whereOf(record), record.headSha, file);
      return file;
    },
    cacheDir: deps.buildCacheDir ?? join(tmpdir(), "release-gate-builds"),
    build: gate.target.build,
  };
}

/** The failure as the PR sees it: its log tail through the run's redactor. */
function redactedFailure(run: GateRun): NonNullable<RunRecord["sourceFailure"]> {
  const redact = createRedactor(run.secrets);
  const f = run.sourceFailure!;
  return { ...f, logTail: f.logTail.map((l) => redact(l)) };
}

/** What the PR is told when its evidence PR could not be opened: GitHub's answer and where the bundle went. */
function evidenceFailure(err: unknown, gateName: string, runId: string): string {
  const status = httpStatus(err);
  const answer = status ? `GitHub answered ${status}: ${(err as Error).message}` : (err as Error).message;
  return (
    `The evidence PR could not be opened (${answer}). If the evidence was committed it is on branch ` +
    `\`${evidenceBranch(gateName, runId)}\`: open a PR from it, or run the command again.`
  );
}

function renderWarRoomText(u: WarRoomUpdate): string {
  return [`MILESTONE: ${u.milestone}`, `STATUS: ${u.status}`, `PROGRESS: ${u.progress}`, `NEXT: ${u.next}`, `ETA: ${u.eta}`].join("\n");
}

/** Tells the PR that a run ended without a verdict: check run failed, war-room comment, a reply. */
async function reportBrokenRun(deps: RunnerDeps, record: RunRecord, why: string): Promise<void> {
  const { log } = deps;
  const gate = resolveGate(record, deps.gates, log);
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
      recoverLostRun(deps, job.data.runId, `its runner stopped responding (no heartbeat for ${Math.round((options.lockDuration ?? 30_000) / 1000)} s)`).catch((e: unknown) =>
        deps.log.error({ err: e, runId: job.data.runId }, "could not close a lost run"),
      );
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
