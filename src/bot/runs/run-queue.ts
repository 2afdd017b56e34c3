// The run queue: a command takes its gate's slot (run-state.ts) and, when the slot is free, becomes a
// BullMQ job that a runner picks up; the webhook answers at once. When a run ends, the waiting run (if
// any) is dispatched. Abort is a flag on the run's record that its runner watches.

import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { RunState, type ClaimOutcome, type RunRecord, type RunTrust } from "./run-state.js";
import { RunProgress } from "./run-progress.js";
import { AttemptStore } from "./attempt-store.js";

export const RUN_QUEUE_NAME = "gate-runs";

export interface RunJob {
  runId: string;
}

export type AbortOutcome =
  { kind: "aborting"; run: RunRecord; next: RunRecord | null } | { kind: "dropped"; run: RunRecord } | { kind: "idle" };

export class RunQueue {
  readonly state: RunState;
  /** Live progress of running phases, for the war-room pages. */
  readonly progress: RunProgress;
  /** The ledger of attempts on each commit, per gate and repository. */
  readonly attempts: AttemptStore;
  private readonly queue: Queue<RunJob>;
  private readonly queueConnection: Redis;
  private readonly ledgerConnection: Redis;

  constructor(
    connection: Redis,
    readonly prefix: string,
    trust: RunTrust,
  ) {
    this.state = new RunState(connection, `${prefix}:bot`, trust);
    this.progress = new RunProgress(connection, `${prefix}:bot`);
    this.ledgerConnection = connection.duplicate();
    this.attempts = new AttemptStore(this.ledgerConnection, `${prefix}:bot`, trust.seal, trust.approvalKey, trust.log);
    // BullMQ gets a connection of its own so its commands never interleave with run-state's WATCH sections.
    this.queueConnection = connection.duplicate();
    this.queue = new Queue<RunJob>(RUN_QUEUE_NAME, { connection: this.queueConnection, prefix });
  }

  /** Takes the slot and, when it is free, dispatches the run. */
  async request(record: RunRecord): Promise<ClaimOutcome> {
    const outcome = await this.state.claim(record);
    if (outcome.outcome === "start") await this.dispatch(record);
    else if (outcome.holder.phase === "queued") await this.ensureDispatched(outcome.holder);
    return outcome;
  }

  async dispatch(record: RunRecord): Promise<void> {
    await this.queue.add(
      "run",
      { runId: record.id },
      // The run id is the job id, so a run is never queued twice; jobs are kept a while for inspection.
      { jobId: record.id, attempts: 1, removeOnComplete: { count: 200 }, removeOnFail: { count: 200 } },
    );
  }

  /** A run that holds the slot but has no job (its dispatcher died between the two) gets one. */
  private async ensureDispatched(record: RunRecord): Promise<void> {
    if (!(await this.queue.getJob(record.id))) await this.dispatch(record);
  }

  /** Frees the slot of a run that ended and dispatches the waiting run; returns it. */
  async finished(record: RunRecord): Promise<RunRecord | null> {
    const next = await this.state.release(record);
    if (next) await this.dispatch(next);
    return next;
  }

  /**
   * Stops the gate's current run (its runner sees the flag within a second and aborts, teardown
   * included), or, when nothing runs, drops the waiting run.
   */
  async abort(owner: string, repo: string, gate: string, by: string): Promise<AbortOutcome> {
    const { active, waiting } = await this.state.slot(owner, repo, gate);
    if (active && (active.phase === "running" || active.phase === "queued")) {
      const run = await this.state.update(active.id, (r) => (r.abortRequestedBy ? null : { abortRequestedBy: by }));
      if (run) return { kind: "aborting", run, next: waiting };
    }
    const dropped = await this.state.dropWaiting(owner, repo, gate, `aborted by @${by} before it started`);
    return dropped ? { kind: "dropped", run: dropped } : { kind: "idle" };
  }

  /** BullMQ's job counts (waiting, active, completed, failed, delayed), for /metrics. */
  async jobCounts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts("waiting", "active", "completed", "failed", "delayed");
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.queueConnection.disconnect();
    this.ledgerConnection.disconnect();
  }
}
