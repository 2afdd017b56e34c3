// `gate runner --replay`: a BullMQ worker that takes replay shards from the coordination Redis, on
// any host that reaches it. One shard at a time by default: a runner measures best alone.

import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import { Worker, UnrecoverableError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { readCoordinationClock } from "./redis-clock.js";
import { driveShard, ShardRefusal } from "./drive-shard.js";
import { SHARD_QUEUE, type ShardOutcome, type ShardPlan } from "./shard-plan.js";
import type { RunnerInfo } from "./shard-summary.js";
import type { ReplayProgress } from "../replay/index.js";

export interface ReplayRunnerOptions {
  connection: Redis;
  prefix: string;
  /** Shards driven at once (default 1). */
  concurrency?: number;
  /** The runner's name in the evidence (default host/pid). */
  name?: string;
  /** Lock on a shard, renewed every half of it: a runner silent this long is taken for dead, ms. */
  lockDurationMs?: number;
  /** Test hook: each clock reading is held this long on its way back (redis-clock.ts). */
  clockFaultMs?: number;
  /** Test hook: wait this long after taking a shard before starting on it, ms (a runner that starts late). */
  startDelayMs?: number;
  onShard?(event: "taken" | "done" | "refused" | "failed", plan: ShardPlan, detail?: string): void;
}

/**
 * Lock on a shard's job: a killed runner is noticed within this, and the lock costs one renewal per
 * half of it (6 in a 30 s phase): the one coordination cost that grows with the phase's length.
 */
export const SHARD_LOCK_MS = 10_000;

/** A runner reports its shard's progress on the job this often (one Redis command each), ms. */
export const PROGRESS_REPORT_MS = 2_000;

/** release-gate's version: the nearest package.json of that name above this module (source or dist/). */
export function releaseGateVersion(): string {
  for (let up = "../../../"; up.length < 20; up += "../") {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "release-gate" && pkg.version) return pkg.version;
    } catch {
      // not here: one folder up
    }
  }
  return "unknown";
}

export class ReplayRunner {
  private readonly worker: Worker<ShardPlan, ShardOutcome>;
  private readonly workerConnection: Redis;
  readonly id: string;

  constructor(private readonly o: ReplayRunnerOptions) {
    this.id = o.name ?? `${hostname()}/${process.pid}`;
    this.workerConnection = o.connection.duplicate({ maxRetriesPerRequest: null });
    this.worker = new Worker<ShardPlan, ShardOutcome>(SHARD_QUEUE, (job, token, lock) => this.process(job, lock), {
      connection: this.workerConnection,
      prefix: o.prefix,
      concurrency: o.concurrency ?? 1,
      // A shard is never retried nor handed to another runner half done: its phase is ERROR instead.
      maxStalledCount: 0,
      lockDuration: o.lockDurationMs ?? SHARD_LOCK_MS,
      stalledInterval: o.lockDurationMs ?? SHARD_LOCK_MS,
      // An idle runner long-polls for a second at a time: one wake-up marker is shared by every idle
      // worker, so with the default 5 s the second shard of a flow can wait that long to be taken.
      drainDelay: 1,
      autorun: false,
    });
    this.worker.on("error", () => {
      // ioredis reconnects by itself; a shard in progress fails on its own if Redis is gone.
    });
  }

  private async process(job: Job<ShardPlan, ShardOutcome>, lock?: AbortSignal): Promise<ShardOutcome> {
    const plan = job.data;
    const info: Omit<RunnerInfo, "clock"> = { id: this.id, host: hostname(), pid: process.pid, version: releaseGateVersion() };
    // Names the runner on the job at once, so a phase that loses it can say whom it lost.
    const named = { runner: info.id, host: info.host, pid: info.pid };
    await job.updateProgress(named);
    // The phase's live view: the replay's progress on the job, at most every PROGRESS_REPORT_MS; a lost report is only a late view.
    let reportedAt = -Infinity;
    const onProgress = (progress: ReplayProgress) => {
      if (progress.elapsedMs - reportedAt < PROGRESS_REPORT_MS) return;
      reportedAt = progress.elapsedMs;
      job.updateProgress({ ...named, progress }).catch(() => {});
    };
    this.o.onShard?.("taken", plan);
    if (this.o.startDelayMs) await new Promise((r) => setTimeout(r, this.o.startDelayMs));
    try {
      const clock = await readCoordinationClock(this.o.connection, { faultMs: this.o.clockFaultMs });
      const { offsetMs, uncertaintyMs, rttMs, samples } = clock;
      const outcome = await driveShard(
        plan,
        clock,
        { ...info, clock: { offsetMs, uncertaintyMs, rttMs, samples } },
        { signal: lock, onProgress },
      );
      this.o.onShard?.("done", plan);
      return outcome;
    } catch (err) {
      if (err instanceof ShardRefusal) {
        this.o.onShard?.("refused", plan, err.message);
        throw new UnrecoverableError(err.message);
      }
      this.o.onShard?.("failed", plan, (err as Error).message);
      throw new UnrecoverableError(`runner ${this.id} (shard ${plan.shard + 1}/${plan.shards}) failed: ${(err as Error).message}`);
    }
  }

  start(): void {
    void this.worker.run().catch(() => {});
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  async close(force = false): Promise<void> {
    await this.worker.close(force);
    this.workerConnection.disconnect();
  }
}
