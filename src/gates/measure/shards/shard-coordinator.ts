// The coordinator's half of a sharded phase: one BullMQ flow per phase, a parent merge job with one
// child per shard (failParentOnFailure). It sets t0 from Redis TIME plus a lead, watches the shards at
// a few reads each, and fails closed: a shard refused, missing, late, lost or out of time is an
// error naming its runner. Only plans go out and results come back: no request passes through Redis.

import { FlowProducer } from "bullmq";
import { Redis } from "ioredis";
import { redisTimeMs } from "./redis-clock.js";
import { MERGE_QUEUE, SHARD_QUEUE, type ShardOutcome, type ShardPlan } from "./shard-plan.js";
import type { ReplayProgress } from "../replay/index.js";

export type ShardFlowProblem = "shard_refused" | "shard_missing" | "shard_lost" | "shard_timeout" | "redis_restarted" | "redis_unreachable";

/** Why a sharded phase has no result; `message` names the runner (or the shard nobody took). */
export class ShardFlowError extends Error {
  constructor(
    readonly code: ShardFlowProblem,
    message: string,
  ) {
    super(message);
    this.name = "ShardFlowError";
  }
}

/** Lead before t0 when none is given: time for runners to take their shard, build its corpus and warm up. */
export const DEFAULT_LEAD_MS = 15_000;

/**
 * Lead before t0 for runners this run started on this machine, already waiting: 2 s and 0.1 ms per request
 * (30,000 requests: 5 s; their corpus takes about 0.6 s to build on a quiet 2-core machine). No longer: the
 * service sits idle through the lead, and after 15 s idle its first seconds of load ran slower (three runs each
 * of the load phase on one runner: P95 9.9, 7.9, 30.6 ms after a 15 s lead, 6.6, 5.2, 6.9 ms after 3 s).
 */
export function localLeadMs(requests: number): number {
  return 2_000 + Math.ceil(requests / 10);
}

export interface ShardCoordinatorOptions {
  redisUrl: string;
  /** Key prefix the runners use too (gate runner --prefix). */
  prefix: string;
  /** Extra time after the schedule's end and the request timeout before a shard is given up, ms. */
  graceMs?: number;
  /** Between checks of the shards; default an eighth of the phase, within 2-5 s. */
  pollMs?: number;
}

export type PhasePlan = Omit<ShardPlan, "shard" | "shards" | "t0Ms" | "leadMs">;

interface ChildWatch {
  shard: number;
  key: string;
  runner: string | null;
  /** Polls in a row that found it taken, unfinished and unlocked: two make it lost. */
  unlocked: number;
  /** Its runner's latest progress report (replay-runner.ts), or null before the first. */
  progress: ReplayProgress | null;
}

/**
 * The phase's progress from its shards' latest reports: counts added up, the rate summed, the P95 the
 * highest shard's (a live view, never the verdict's number), the elapsed time the longest.
 */
export function phaseProgress(total: number, reports: readonly (ReplayProgress | null)[]): ReplayProgress | null {
  const seen = reports.filter((r): r is ReplayProgress => r !== null);
  if (seen.length === 0) return null;
  const sum = (k: keyof ReplayProgress) => seen.reduce((s, r) => s + ((r[k] as number | null) ?? 0), 0);
  const p95s = seen.map((r) => r.p95Ms).filter((v): v is number => v !== null);
  return {
    elapsedMs: Math.max(...seen.map((r) => r.elapsedMs)),
    total,
    sent: sum("sent"),
    answered: sum("answered"),
    accepted: sum("accepted"),
    duplicates: sum("duplicates"),
    rejected: sum("rejected"),
    serverErrors: sum("serverErrors"),
    timeouts: sum("timeouts"),
    errors: sum("errors"),
    inFlight: sum("inFlight"),
    heldByKey: sum("heldByKey"),
    currentRate: sum("currentRate"),
    p95Ms: p95s.length ? Math.max(...p95s) : null,
  };
}

export class ShardCoordinator {
  readonly redis: Redis;
  private readonly flow: FlowProducer;
  /** Redis's run_id when the run began: another one later means it restarted, and lost what it held. */
  private redisRunId: string | null = null;

  constructor(private readonly o: ShardCoordinatorOptions) {
    this.redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    this.redis.on("error", () => {
      // Every command fails on its own: the phase says why.
    });
    this.flow = new FlowProducer({ connection: this.redis, prefix: o.prefix });
  }

  /** Redis's run_id (one INFO command): it changes on every restart. */
  private async currentRunId(): Promise<string> {
    const info = await this.redis.info("server");
    return /run_id:(\w+)/.exec(info)?.[1] ?? "unknown";
  }

  /**
   * Drives one phase over `shards` shards and resolves with every shard's outcome, in shard order;
   * rejects with a ShardFlowError. A Redis that restarted since the run's first phase is refused.
   */
  async drivePhase(
    plan: PhasePlan,
    shards: number,
    leadMs = DEFAULT_LEAD_MS,
    signal?: AbortSignal,
    /** The phase's progress, added up from the shards' reports at each poll. */
    onProgress?: (p: ReplayProgress) => void,
  ): Promise<{ outcomes: ShardOutcome[]; t0Ms: number }> {
    let runId: string;
    let now: number;
    try {
      runId = await this.currentRunId();
      now = await redisTimeMs(this.redis);
    } catch (err) {
      throw new ShardFlowError("redis_unreachable", `the coordination Redis did not answer: ${(err as Error).message}`);
    }
    if (this.redisRunId !== null && runId !== this.redisRunId) {
      throw new ShardFlowError(
        "redis_restarted",
        `the coordination Redis restarted since the run began (run_id ${this.redisRunId.slice(0, 8)} → ${runId.slice(0, 8)}): what it held for this run is gone, so the run stops here`,
      );
    }
    this.redisRunId = runId;
    const t0Ms = now + leadMs;
    const node = await this.flow.add({
      name: `${plan.runId}/${plan.phase.name}`,
      queueName: MERGE_QUEUE,
      data: { runId: plan.runId, phase: plan.phase.name, shards, t0Ms },
      children: Array.from({ length: shards }, (_, shard) => ({
        name: `${plan.runId}/${plan.phase.name}/${shard + 1}`,
        queueName: SHARD_QUEUE,
        data: { ...plan, shard, shards, t0Ms, leadMs } satisfies ShardPlan,
        opts: { failParentOnFailure: true, attempts: 1 },
      })),
    });
    const parent = node.job;
    const children: ChildWatch[] = (node.children ?? [])
      .map((c) => ({
        shard: (c.job.data as ShardPlan).shard,
        key: `${this.o.prefix}:${SHARD_QUEUE}:${c.job.id}`,
        runner: null,
        unlocked: 0,
        progress: null,
      }))
      .sort((a, b) => a.shard - b.shard);
    try {
      await this.watch(children, plan, t0Ms, leadMs, signal, onProgress);
      const values = (await parent.getChildrenValues<ShardOutcome>()) as Record<string, ShardOutcome>;
      const outcomes = Object.values(values).sort((a, b) => a.summary.shard - b.summary.shard);
      return { outcomes, t0Ms };
    } finally {
      await parent.remove({ removeChildren: true }).catch(() => {});
    }
  }

  /** Waits for every shard to finish, reading each at most once a poll (2 commands); throws naming the first shard that failed. */
  private async watch(
    children: ChildWatch[],
    plan: PhasePlan,
    t0Ms: number,
    leadMs: number,
    signal?: AbortSignal,
    onProgress?: (p: ReplayProgress) => void,
  ): Promise<void> {
    const scheduleMs = (plan.phase.requests * 1000) / plan.phase.rate;
    const pollMs = this.o.pollMs ?? Math.min(5_000, Math.max(2_000, scheduleMs / 8));
    const deadline = t0Ms + scheduleMs + plan.timeoutMs + (this.o.graceMs ?? 15_000);
    const name = (c: ChildWatch) => `shard ${c.shard + 1}/${children.length}${c.runner ? ` (runner ${c.runner})` : ""}`;
    // Nothing to see before the lead has let the runners take their shards.
    await sleep(Math.max(0, Math.min(leadMs, t0Ms - Date.now())), signal);
    for (;;) {
      if (signal?.aborted) throw new ShardFlowError("shard_timeout", "the run was aborted while its shards ran");
      const pipeline = this.redis.pipeline();
      // The lock first: a job finishes (or fails) and drops its lock in one script, so a lock found
      // missing before a hash that shows no end is a runner lost, not one that just finished.
      for (const c of children) {
        pipeline.exists(`${c.key}:lock`);
        pipeline.hmget(c.key, "progress", "finishedOn", "failedReason");
      }
      let replies: [Error | null, unknown][];
      let now: number;
      try {
        replies = (await pipeline.exec()) ?? [];
        now = await redisTimeMs(this.redis);
      } catch (err) {
        throw new ShardFlowError("redis_unreachable", `the coordination Redis stopped answering mid-phase: ${(err as Error).message}`);
      }
      let finished = 0;
      for (const [k, c] of children.entries()) {
        const [err, fields] = replies[2 * k + 1];
        if (err) throw new ShardFlowError("redis_unreachable", `the coordination Redis failed mid-phase: ${err.message}`);
        const [progress, finishedOn, failedReason] = fields as (string | null)[];
        const locked = replies[2 * k][1] === 1;
        if (progress) {
          const report = readReport(progress);
          c.runner ??= report.runner;
          c.progress = report.progress ?? c.progress;
        }
        if (failedReason) throw new ShardFlowError("shard_refused", refusal(failedReason, name(c)));
        if (finishedOn) {
          finished++;
          continue;
        }
        if (!progress && now > t0Ms + leadMs)
          throw new ShardFlowError(
            "shard_missing",
            `${name(c)}: no runner took it by t0 + ${leadMs} ms (is a \`gate runner --replay\` connected to this Redis and prefix?)`,
          );
        c.unlocked = progress && !locked ? c.unlocked + 1 : 0;
        if (c.unlocked >= 2)
          throw new ShardFlowError("shard_lost", `${name(c)} stopped mid-phase: its lock lapsed (the runner was killed, or lost Redis)`);
        if (now > deadline)
          throw new ShardFlowError("shard_timeout", `${name(c)} did not finish by t0 + ${Math.round((deadline - t0Ms) / 1000)} s`);
      }
      const sofar =
        onProgress &&
        phaseProgress(
          plan.phase.requests,
          children.map((c) => c.progress),
        );
      if (sofar) onProgress!(sofar);
      if (finished === children.length) return;
      await sleep(pollMs, signal);
    }
  }

  async close(): Promise<void> {
    await this.flow.close().catch(() => {});
    this.redis.disconnect();
  }
}

/** A shard job's progress field: who took it, and (once it runs) its replay's progress. */
function readReport(progress: string): { runner: string | null; progress: ReplayProgress | null } {
  try {
    const p = JSON.parse(progress) as { runner?: string; progress?: ReplayProgress };
    return { runner: p.runner ?? null, progress: p.progress ?? null };
  } catch {
    return { runner: null, progress: null };
  }
}

/** The runner's own message names it; a message from BullMQ itself (a stalled job) gets the shard's name. */
function refusal(reason: string, shard: string): string {
  return /^runner /.test(reason) ? reason : `${shard}: ${reason}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
