// The fault scenarios (issue 7's seven first), each injected into a running replay: what is broken, when, for how
// long, and what "recovered" means for it. The runner (scenario-runner.ts) does everything else.

import { MIN_ACHIEVED_RATE_SHARE as MIN_ACHIEVED_SHARE } from "../src/gates/verdict/replay-validity.js";
import { standardWebhookSignature } from "../src/webhook-signatures.js";
import { firstAcknowledgedAfter, p95Between, type FaultContext, type Scenario, type SuiteSize } from "./scenario-runner.js";

/** The accept path's smoke bar: P95 while PostgreSQL is away must stay within it. */
export const ACCEPT_P95_BAR_MS = 20;

const full = (size: SuiteSize) => size === "full";

/** An ordinary replay: 10 s at 300/s (full) or 3 s at 200/s (ci), the fault a third of the way in. */
function ordinaryPlan(size: SuiteSize, workerArgs: string[] = []) {
  return full(size)
    ? { requests: 3000, rate: 300, orderingKeys: 200, redeliveryShare: 0.05, faultAtMs: 3000, workerArgs }
    : { requests: 600, rate: 200, orderingKeys: 60, redeliveryShare: 0.05, faultAtMs: 1000, workerArgs };
}

type PendingEntry = [id: string, consumer: string, idleMs: number, deliveries: number];

async function pendingOf(ctx: FaultContext, consumer?: string): Promise<PendingEntry[]> {
  const r = ctx.redisClient();
  const args: (string | number)[] = [`${ctx.namespace}:events`, "workers", "-", "+", 10_000];
  if (consumer) args.push(consumer);
  return (await r.call("XPENDING", ...args)) as PendingEntry[];
}

const workerSigkill: Scenario = {
  name: "worker-sigkill-mid-batch",
  title: "a worker killed with SIGKILL in the middle of a batch",
  recoveryFrom: "from the SIGKILL until every event the killed worker held (read, not acknowledged) was committed by the other worker",
  plan: (size) => ordinaryPlan(size, ["--visibility-timeout-ms", full(size) ? "2000" : "1000"]),
  async inject(ctx) {
    // Mid-batch: the moment a worker holds events it has read but not yet committed and acknowledged.
    // Whichever worker it is: at this rate one worker collects at a time (the turn) while the other waits.
    let held: PendingEntry[] = [];
    const until = ctx.now() + 3000;
    while (ctx.now() < until) {
      held = await pendingOf(ctx);
      if (held.length > 0) break;
      await ctx.sleep(2);
    }
    if (held.length === 0) {
      ctx.problem("no worker held an uncommitted batch within 3 s, so none could be killed mid-batch");
      return;
    }
    const victim = held[0][1];
    held = held.filter((e) => e[1] === victim);
    await ctx.service.killWorker(victim, "SIGKILL");
    ctx.mark("killed");
    ctx.note({ killed: victim, in_flight_at_kill: held.length, mid_batch: true });
    const ids = new Set(held.map((e) => e[0]));
    const deadline = ctx.now() + 30_000;
    while (ctx.now() < deadline) {
      const still = (await pendingOf(ctx)).filter((e) => ids.has(e[0]));
      if (still.length === 0) {
        ctx.mark("taken_over");
        return;
      }
      await ctx.sleep(50);
    }
    ctx.problem(`the ${ids.size} events ${victim} held were still pending 30 s after it was killed: no other worker took them over`);
  },
  recovery: ({ marks }) => (marks.taken_over !== undefined ? marks.taken_over - marks.killed : null),
};

const serverSigkill: Scenario = {
  name: "server-sigkill-restart",
  title: "the HTTP server killed with SIGKILL mid-replay, then restarted",
  recoveryFrom: "from the restart of the server process until the first request sent after it was acknowledged",
  plan: (size) => ordinaryPlan(size),
  async inject(ctx, size) {
    await ctx.service.killServer("SIGKILL");
    ctx.mark("killed");
    await ctx.sleep(full(size) ? 1000 : 500);
    ctx.mark("restarting");
    await ctx.service.startServer();
    ctx.mark("ready");
  },
  recovery: ({ samples, marks }) => firstAcknowledgedAfter(samples, marks.restarting),
};

const redisSigkill: Scenario = {
  name: "redis-sigkill-restart",
  title: "Redis killed with SIGKILL mid-replay and restarted (appendonly yes, appendfsync always, noeviction)",
  recoveryFrom: "from the restart of redis-server until the first request sent after it was acknowledged",
  plan: (size) => ordinaryPlan(size),
  async inject(ctx, size) {
    ctx.note({ redis_settings: "appendonly yes, appendfsync always, maxmemory-policy noeviction" });
    await ctx.redis.kill("SIGKILL");
    ctx.mark("killed");
    await ctx.sleep(full(size) ? 1000 : 500);
    ctx.mark("restarting");
    await ctx.redis.start();
    ctx.mark("redis_up");
  },
  recovery: ({ samples, marks }) => firstAcknowledgedAfter(samples, marks.restarting),
};

/** Polls until a batch committed after `wallMs` (wall clock) is in the table; returns when, or null. */
async function firstCommitAfter(ctx: FaultContext, wallMs: number, timeoutMs: number): Promise<number | null> {
  const deadline = ctx.now() + timeoutMs;
  while (ctx.now() < deadline) {
    try {
      const rows = await ctx.query<{ n: number }>(
        `select count(*)::int as n from "${ctx.namespace}".webhook_events where persisted_at > to_timestamp($1::double precision / 1000)`,
        [wallMs],
      );
      if (rows[0].n > 0) return ctx.now();
    } catch {
      // The poll's own connection may have died with the server; the pool reconnects.
    }
    await ctx.sleep(50);
  }
  return null;
}

const postgresRestart: Scenario = {
  name: "postgres-immediate-restart",
  title: "PostgreSQL restarted (immediate shutdown) while workers are committing",
  recoveryFrom: "from PostgreSQL accepting connections again until the first batch committed after it",
  plan: (size) => ordinaryPlan(size),
  async inject(ctx) {
    ctx.mark("stopping");
    await ctx.postgres.stop("immediate");
    ctx.mark("down");
    await ctx.postgres.start();
    ctx.mark("up");
    const at = await firstCommitAfter(ctx, Date.now(), 30_000);
    if (at === null) ctx.problem("no batch was committed within 30 s of PostgreSQL coming back");
    else ctx.marks.first_commit = Math.round(at);
  },
  recovery: ({ marks }) => (marks.first_commit !== undefined ? marks.first_commit - marks.up : null),
};

const postgresAway: Scenario = {
  name: "postgres-unreachable-10s",
  title: "PostgreSQL unreachable for 10 s: accepting goes on, the queue grows, the backlog drains after",
  recoveryFrom: "from PostgreSQL accepting connections again until the queue's backlog was drained (stream back to at most one batch)",
  plan: (size) =>
    full(size)
      ? { requests: 4500, rate: 300, orderingKeys: 200, redeliveryShare: 0.05, faultAtMs: 2000 }
      : { requests: 1200, rate: 200, orderingKeys: 60, redeliveryShare: 0.05, faultAtMs: 1000 },
  async inject(ctx, size) {
    const awayMs = full(size) ? 10_000 : 3000;
    const redis = ctx.redisClient();
    const stream = `${ctx.namespace}:events`;
    await ctx.postgres.stop("fast");
    ctx.mark("down");
    const atDown = await redis.xlen(stream);
    let peak = atDown;
    while (ctx.now() < ctx.marks.down + awayMs) {
      peak = Math.max(peak, await redis.xlen(stream).catch(() => peak));
      await ctx.sleep(100);
    }
    ctx.mark("restarting");
    await ctx.postgres.start();
    ctx.mark("up");
    ctx.note({ away_ms: ctx.marks.up - ctx.marks.down, queue_at_outage_start: atDown, queue_peak: peak });
    if (peak <= atDown) ctx.problem(`the queue did not grow while PostgreSQL was away (${atDown} -> ${peak}): were events accepted?`);
    const deadline = ctx.now() + 30_000;
    while (ctx.now() < deadline) {
      if ((await redis.xlen(stream).catch(() => Infinity)) <= 50) {
        ctx.mark("drained");
        return;
      }
      await ctx.sleep(50);
    }
    ctx.problem("the backlog was not drained within 30 s of PostgreSQL coming back");
  },
  check({ samples, marks, extra, replayValid, replayInvalidReason, achievedShare }) {
    const during = samples.filter((x) => x.dueAt >= marks.down && x.dueAt < marks.restarting);
    const acknowledged = during.filter((x) => x.outcome === "accepted" || x.outcome === "duplicate").length;
    const { p95, n } = p95Between(samples, marks.down, marks.restarting);
    // A latency is reported only from a replay whose offered rate held (replay-validity.ts).
    Object.assign(extra, {
      requests_during_outage: during.length,
      acknowledged_during_outage: acknowledged,
      p95_during_outage_ms: replayValid ? p95 : null,
      p95_bar_ms: ACCEPT_P95_BAR_MS,
    });
    const problems: string[] = [];
    if (n === 0) problems.push("no request was due while PostgreSQL was away: the outage measured nothing");
    if (acknowledged < during.length)
      problems.push(
        `${during.length - acknowledged} of ${during.length} requests sent while PostgreSQL was away were not acknowledged: accepting must not depend on the database`,
      );
    // Latency counts from the due time, so the driver's own lag only ever adds to it: when the driver
    // held the offered rate, a P95 within the bar is a safe verdict even if its schedule slipped.
    // A replay whose rate did not hold cannot be judged, and its P95 is not reported.
    if (!replayValid || achievedShare < MIN_ACHIEVED_SHARE) {
      problems.push(
        `the accept P95 while PostgreSQL was away cannot be judged: ${replayInvalidReason ?? "the driver did not deliver the offered rate"}; rerun on a quieter machine`,
      );
    } else if (p95 !== null && p95 > ACCEPT_P95_BAR_MS) {
      problems.push(`accept P95 while PostgreSQL was away was ${p95} ms (n=${n}), over the ${ACCEPT_P95_BAR_MS} ms smoke bar`);
    }
    return problems;
  },
  recovery: ({ marks }) => (marks.drained !== undefined ? marks.drained - marks.up : null),
};

/** One valid, signed webhook outside the corpus, sent directly: status, Retry-After, time taken. */
async function probe(ctx: FaultContext, id: string): Promise<{ status: number; retryAfter: string | null; ms: number; error?: string }> {
  const body = JSON.stringify({ probe: id });
  const ts = Math.floor(Date.now() / 1000);
  const started = performance.now();
  try {
    const res = await fetch(ctx.service.webhookUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${ctx.credentials.bearerKey}`,
        "webhook-id": id,
        "webhook-timestamp": String(ts),
        "webhook-signature": standardWebhookSignature(ctx.credentials.signingSecret!, id, ts, body),
      },
      body,
      signal: AbortSignal.timeout(5000),
    });
    await res.text();
    return { status: res.status, retryAfter: res.headers.get("retry-after"), ms: performance.now() - started };
  } catch (err) {
    return { status: 0, retryAfter: null, ms: performance.now() - started, error: (err as Error).message };
  }
}

const redisUnreachable: Scenario = {
  name: "redis-unreachable-at-accept",
  title:
    "Redis unreachable at the moment of accept (process stopped: connections hang): 503 + Retry-After, no 202, not ready, recovers without a restart",
  recoveryFrom: "from Redis answering again until the first request sent after it was acknowledged (same server process)",
  plan: (size) => ordinaryPlan(size),
  async inject(ctx, size) {
    const pauseMs = full(size) ? 2000 : 1000;
    const pid = ctx.service.serverPid;
    ctx.redis.pause();
    ctx.mark("paused");
    await ctx.sleep(100);
    const probes = [];
    for (let i = 0; i < 3; i++) probes.push(await probe(ctx, `msg_outage_probe_${i}_${ctx.marks.paused}`));
    const ready = await ctx.service.readiness(3000);
    await ctx.sleep(ctx.marks.paused + pauseMs - ctx.now());
    ctx.redis.resume();
    ctx.mark("resumed");
    const deadline = ctx.now() + 10_000;
    while (ctx.now() < deadline && (await ctx.service.readiness(1000)).status !== 200) await ctx.sleep(50);
    if ((await ctx.service.readiness(1000)).status === 200) ctx.mark("ready_again");
    else ctx.problem("/readyz did not return to 200 within 10 s of Redis answering again");

    ctx.note({
      outage_probe_statuses: probes.map((p) => p.status).join(","),
      outage_probe_ms: probes.map((p) => Math.round(p.ms)).join(","),
      readyz_during_outage: ready.status,
      server_restarted: ctx.service.serverPid !== pid,
    });
    for (const p of probes) {
      if (p.status !== 503) ctx.problem(`a webhook sent while Redis was unreachable was answered ${p.status || p.error}, expected 503`);
      else if (!p.retryAfter) ctx.problem("a 503 while Redis was unreachable had no Retry-After header");
      if (p.ms > 2000)
        ctx.problem(`a webhook sent while Redis was unreachable took ${Math.round(p.ms)} ms to answer; the 503 must be fast`);
    }
    if (ready.status === 200) ctx.problem("/readyz answered 200 while Redis was unreachable");
    if (ctx.service.serverPid !== pid) ctx.problem("the server process was restarted; recovery must not need one");
  },
  check({ samples, marks, extra }) {
    // Sent after Redis stopped and answered before it came back: none may be a 202.
    const window = samples.filter((x) => x.sentAt >= marks.paused + 50 && x.doneAt < marks.resumed);
    const accepted = window.filter((x) => x.outcome === "accepted" || x.outcome === "duplicate").length;
    const unavailable = window.filter((x) => x.status === 503).length;
    Object.assign(extra, {
      requests_during_outage: window.length,
      answered_503_during_outage: unavailable,
      acknowledged_during_outage: accepted,
    });
    const problems: string[] = [];
    if (window.length === 0) problems.push("no replayed request was answered while Redis was unreachable: the outage measured nothing");
    if (accepted) problems.push(`${accepted} requests were acknowledged while Redis was unreachable`);
    if (unavailable < window.length)
      problems.push(
        `${window.length - unavailable} of ${window.length} requests answered while Redis was unreachable got something other than 503`,
      );
    return problems;
  },
  recovery: ({ samples, marks }) => firstAcknowledgedAfter(samples, marks.resumed),
};

const duplicateStorm: Scenario = {
  name: "duplicate-storm",
  title: "a duplicate storm: the same events redelivered concurrently from several connections",
  recoveryFrom: "no outage: the drain, from the last answer until every acknowledged event was stored and applied",
  plan: (size) =>
    full(size)
      ? { requests: 1500, rate: 150, orderingKeys: 100, redeliveryShare: 0.1, replays: 4, faultAtMs: 0 }
      : { requests: 400, rate: 150, orderingKeys: 40, redeliveryShare: 0.1, replays: 4, faultAtMs: 0 },
  async inject(ctx) {
    ctx.mark("storm");
  },
  check({ samples, extra }) {
    const duplicates = samples.filter((x) => x.outcome === "duplicate").length;
    Object.assign(extra, { answered_duplicate: duplicates });
    return duplicates === 0 ? ["no request was answered duplicate: the storm did not reach the idempotency check"] : [];
  },
  recovery: ({ drainMs }) => drainMs,
};

/** Issue 7's in its order, then any added since. */
export const scenarios: Scenario[] = [
  workerSigkill,
  serverSigkill,
  redisSigkill,
  postgresRestart,
  postgresAway,
  redisUnreachable,
  duplicateStorm,
];

export function scenarioNamed(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
