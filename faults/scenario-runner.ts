// Runs one fault scenario end to end: private Redis and PostgreSQL, the bundled service (1 server,
// 2 workers), an open-loop replay with the fault injected mid-way, a sender's retries, the drain,
// and the check of every acknowledged event against what PostgreSQL holds.

import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { generateCorpus, type CorpusEvent } from "../src/gates/measure/corpus/replay-corpus.js";
import type { Credentials } from "../src/gates/target/deployment.js";
import { EventStore } from "../src/gates/measure/event-store.js";
import { acknowledgedIds, idempotencyReport, lostEvents, orderingReport } from "../src/gates/measure/event-validation.js";
import type { RequestSample } from "../src/gates/model/gate-run-record.js";
import { replay } from "../src/gates/measure/replay/index.js";
import { percentile } from "../src/gates/verdict/statistics.js";
import { withInstances, type PostgresInstance, type RedisInstance } from "./instances.js";
import { IngestProcesses } from "./ingest-processes.js";

/** "full" for `npm run faults`; "ci" is the smaller run inside `npm test`. */
export type SuiteSize = "full" | "ci";

export interface ScenarioPlan {
  requests: number;
  /** Offered requests per second of each replay. */
  rate: number;
  orderingKeys: number;
  redeliveryShare: number;
  /** Replays of the same corpus sent at once, each on its own connections (the duplicate storm). */
  replays?: number;
  /** The fault starts this long after the replay's first request, ms. */
  faultAtMs: number;
  /** Extra flags for every worker. */
  workerArgs?: string[];
  /** Redis settings over the required ones (only to show what breaks without them). */
  redisSettings?: Record<string, string>;
  /** How long to wait for the drain; default 45 s (full) or 25 s (ci). */
  drainTimeoutMs?: number;
}

/** What a scenario's fault sees and may touch while the replay runs. */
export interface FaultContext {
  redis: RedisInstance;
  postgres: PostgresInstance;
  service: IngestProcesses;
  namespace: string;
  credentials: Credentials;
  /** Milliseconds since the replay's t0 (the clock of every sample's dueAt/sentAt/doneAt). */
  now(): number;
  /** Wall-clock ms (Date.now()) at the replay's t0, for comparing with PostgreSQL timestamps. */
  wallT0: number;
  /** Record now() under a name; the marks are reported and used to compute recovery. */
  mark(name: string): number;
  marks: Record<string, number>;
  /** Scenario-specific figures for the results file. */
  note(fields: Record<string, number | string | boolean | null>): void;
  /** A broken invariant of this scenario, in words that say what went wrong. */
  problem(text: string): void;
  /** A Redis client on the private instance (fail-fast; reconnects). */
  redisClient(): Redis;
  /** A PostgreSQL client on the private instance, for the scenario's own polls. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>;
  sleep(ms: number): Promise<void>;
}

export interface RecoveryInput {
  samples: RequestSample[];
  marks: Record<string, number>;
  extra: Record<string, number | string | boolean | null>;
  /** From the last answer to the last acknowledged event stored and applied; null if the drain timed out. */
  drainMs: number | null;
  /** Whether the driver kept its schedule in every replay (else its latencies say nothing), and why not. */
  replayValid: boolean;
  replayInvalidReason?: string;
  /** Lowest achieved/offered rate over the replays (1 = the driver delivered the load it promised). */
  achievedShare: number;
}

export interface Scenario {
  /** Stable name in the results file, e.g. "worker-sigkill-mid-batch". */
  name: string;
  title: string;
  /** What recovery_ms measures for this scenario. */
  recoveryFrom: string;
  plan(size: SuiteSize): ScenarioPlan;
  /** Starts plan.faultAtMs into the replay; resolves when the fault is over. */
  inject(ctx: FaultContext, size: SuiteSize): Promise<void>;
  recovery(r: RecoveryInput): number | null;
  /** Invariants of this scenario only, judged after the drain; returns the broken ones. */
  check?(r: RecoveryInput): string[];
}

export interface ScenarioResult {
  name: string;
  /** Requests sent: the replay's and the sender's retries. */
  sent: number;
  /** Requests answered 202, or 200 duplicate (of an event the service holds). */
  accepted: number;
  /** Requests answered anything else: 503, other status, transport error, timeout. */
  rejected: number;
  /** Distinct events of the corpus stored in webhook_events. */
  stored: number;
  /** Acknowledged but not stored: must be 0. */
  lost: number;
  /** Stored more than once: must be 0. */
  duplicated: number;
  /** Ordering keys whose events were applied out of sequence order, or held for ever: must be 0. */
  ordering_violations: number;
  recovery_ms: number | null;
  title: string;
  recovery_from: string;
  passed: boolean;
  problems: string[];
  distinct_events: number;
  /** Distinct events acknowledged. */
  acknowledged_events: number;
  retried: number;
  /** Events answered 202 "accepted" more than once (an idempotency marker lost): must be 0. */
  accepted_twice: number;
  /** Accepted events PostgreSQL refused into dead_letters: must be 0 (the 202 promised a row). */
  dead_lettered: number;
  gaps_recorded: number;
  drain_ms: number | null;
  /** Null when a replay's offered rate did not hold: extra.replay_invalid_reason says why. */
  p95_ms: number | null;
  replay_valid: boolean;
  rate: number;
  duration_ms: number;
  marks: Record<string, number>;
  extra: Record<string, number | string | boolean | null>;
  logs: string | null;
}

export interface RunOptions {
  /** Service logs go under here, one folder per scenario; removed when the scenario passes unless keepLogs. */
  logRoot: string;
  keepLogs?: boolean;
  progress?: (line: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Workers wait this long for a missing sequence number: longer than any scenario's outage plus the sender's retry. */
const GAP_TIMEOUT_MS = 30_000;
const SENDER_RETRY_ROUNDS = 3;

export async function runScenario(s: Scenario, size: SuiteSize, o: RunOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const plan = s.plan(size);
  const logDir = join(o.logRoot, s.name);
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const say = (line: string) => o.progress?.(`[${s.name}] ${line}`);

  const result = await withInstances(
    async ({ redis, postgres }) => {
      const namespace = `faults_${s.name.replace(/[^a-z0-9]/g, "_")}`.slice(0, 41);
      const credentials: Credentials = {
        bearerKey: randomBytes(16).toString("hex"),
        signingSecret: `whsec_${randomBytes(32).toString("base64")}`,
      };
      say(`redis :${redis.port}, postgres :${postgres.port}; deploying 1 server + 2 workers`);
      const service = await IngestProcesses.start(
        {
          namespace,
          redisUrl: redis.url,
          databaseUrl: postgres.url,
          credentials,
          logDir,
          workerArgs: [
            "--batch-size",
            "50",
            "--batch-linger-ms",
            "5",
            "--gap-timeout-ms",
            String(GAP_TIMEOUT_MS),
            ...(plan.workerArgs ?? []),
          ],
        },
        2,
      );
      const store = EventStore.connect(postgres.url, namespace);
      const db = new pg.Pool({ connectionString: postgres.url, max: 2 });
      db.on("error", () => {}); // PostgreSQL restarts are the point of some scenarios
      // One client for the scenario's own polls: fail fast while Redis is down, reconnect when it is back.
      const redisClient = new Redis(redis.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        connectTimeout: 1000,
        commandTimeout: 1000,
        retryStrategy: () => 100,
      });
      redisClient.on("error", () => {});
      try {
        await redisClient.connect();
        const corpus = generateCorpus({
          seed: `faults/${s.name}`,
          requests: plan.requests,
          orderingKeys: plan.orderingKeys,
          redeliveryShare: plan.redeliveryShare,
        });
        const marks: Record<string, number> = {};
        const extra: Record<string, number | string | boolean | null> = {};
        const problems: string[] = [];
        const t0 = performance.now();
        const wallT0 = Date.now();
        const now = () => performance.now() - t0;
        say(`replaying ${corpus.length} requests x${plan.replays ?? 1} at ${plan.rate}/s; fault at ${plan.faultAtMs} ms`);
        const replays = Array.from({ length: plan.replays ?? 1 }, () =>
          replay({ url: service.webhookUrl, rate: plan.rate, events: corpus, credentials, timeoutMs: 10_000 }),
        );
        const ctx: FaultContext = {
          redis,
          postgres,
          service,
          namespace,
          credentials,
          now,
          wallT0,
          marks,
          mark: (name) => (marks[name] = Math.round(now())),
          note: (fields) => Object.assign(extra, fields),
          problem: (text) => problems.push(text),
          redisClient: () => redisClient,
          query: async (sql, values) => (await db.query(sql, values)).rows,
          sleep,
        };
        await sleep(plan.faultAtMs - now());
        try {
          await s.inject(ctx, size);
        } catch (err) {
          problems.push(`the fault injection itself failed: ${(err as Error).message}`);
        }
        const replayed = await Promise.all(replays);
        const samples: RequestSample[] = [];
        // The driver's t0 comes after its warm-up and connection set-up: move its samples onto this
        // scenario's clock (the one the fault marks use) through the wall-clock time of its t0.
        replayed.forEach((r, k) => {
          const shift = Date.parse(r.startedAt) - wallT0;
          samples.push(
            ...r.samples.map((x) => ({
              ...x,
              index: x.index + k * corpus.length,
              dueAt: x.dueAt + shift,
              sentAt: x.sentAt + shift,
              doneAt: x.doneAt + shift,
            })),
          );
        });
        say(
          `replay done: ${samples.length} answered; ${samples.filter((x) => x.outcome === "accepted" || x.outcome === "duplicate").length} acknowledged`,
        );

        // The sender's side of the contract: whatever was not acknowledged is sent again.
        const retried = await retryUnacknowledged(corpus, samples, service, credentials, t0, ctx, say);

        // The drain: every acknowledged event stored and applied.
        const acked = [...acknowledgedIds(samples)];
        const lastAnswer = samples.reduce((m, x) => Math.max(m, x.doneAt), 0);
        const drainTimeoutMs = plan.drainTimeoutMs ?? (size === "full" ? 45_000 : 25_000);
        const deadline = Date.now() + drainTimeoutMs;
        let drainMs: number | null = null;
        let progress = { stored: 0, unapplied: 0 };
        while (Date.now() < deadline) {
          try {
            progress = await store.progress(acked);
            if (progress.stored >= acked.length && progress.unapplied === 0) {
              drainMs = Math.max(0, Math.round(now() - lastAnswer));
              break;
            }
          } catch {
            // PostgreSQL may still be coming back; the deadline bounds the wait.
          }
          await sleep(100);
        }
        if (drainMs === null) {
          problems.push(
            `the drain did not finish within ${drainTimeoutMs} ms: ${progress.stored} of ${acked.length} acknowledged events stored, ${progress.unapplied} stored but not applied (held for a missing sequence number)`,
          );
        }

        const ids = [...new Set(corpus.map((e) => e.id))];
        const stored = await store.events(ids);
        const gaps = await store.gaps();
        const lost = lostEvents(samples, stored);
        const idem = idempotencyReport(samples, stored);
        const ordering = orderingReport(samples, stored, gaps);
        const acceptedCount = new Map<string, number>();
        for (const x of samples) if (x.outcome === "accepted") acceptedCount.set(x.eventId, (acceptedCount.get(x.eventId) ?? 0) + 1);
        const acceptedTwice = [...acceptedCount.values()].filter((n) => n > 1).length;
        const deadLettered = Number((await db.query(`select count(*)::int as n from "${namespace}".dead_letters`)).rows[0].n);
        const batchRetries = await readBatchRetries(redis.url, namespace);
        if (batchRetries !== null) extra.batch_retries = batchRetries;

        if (lost.length) problems.push(`${lost.length} acknowledged events are not stored, e.g. ${lost.slice(0, 5).join(", ")}`);
        if (idem.storedMoreThanOnce) problems.push(`${idem.storedMoreThanOnce} events are stored more than once`);
        if (acceptedTwice)
          problems.push(`${acceptedTwice} events were answered 202 "accepted" more than once: an idempotency marker was lost`);
        if (ordering.violations.length) {
          const v = ordering.violations[0];
          problems.push(
            `${ordering.violations.length} ordering keys applied out of sequence order or held, e.g. ${v.orderingKey}: applied ${v.actual.slice(0, 12).join(",")} expected ${v.expected.slice(0, 12).join(",")}`,
          );
        }
        if (deadLettered) problems.push(`${deadLettered} accepted events went to dead_letters instead of webhook_events`);
        const acknowledgedRequests = samples.filter((x) => x.outcome === "accepted" || x.outcome === "duplicate").length;
        if (acknowledgedRequests === 0) problems.push("no request was acknowledged at all: the scenario measured nothing");

        const latencies = replayed.flatMap((r) => r.samples.map((x) => x.latencyMs));
        const invalid = replayed.find((r) => !r.valid);
        if (invalid?.invalidReason) extra.replay_invalid_reason = invalid.invalidReason;
        const achievedShare = Math.min(...replayed.map((r) => r.achievedRate / r.targetRate));
        const recoveryInput: RecoveryInput = {
          samples,
          marks,
          extra,
          drainMs,
          replayValid: !invalid,
          replayInvalidReason: invalid?.invalidReason,
          achievedShare,
        };
        problems.push(...(s.check?.(recoveryInput) ?? []));
        const recovery = s.recovery(recoveryInput);
        if (recovery === null && !problems.length)
          problems.push("recovery could not be measured: the service did not come back within the scenario");
        const out: ScenarioResult = {
          name: s.name,
          sent: samples.length,
          accepted: acknowledgedRequests,
          rejected: samples.length - acknowledgedRequests,
          stored: new Set(stored.map((e) => e.idempotencyKey)).size,
          lost: lost.length,
          duplicated: idem.storedMoreThanOnce,
          ordering_violations: ordering.violations.length,
          recovery_ms: recovery === null ? null : Math.round(recovery),
          title: s.title,
          recovery_from: s.recoveryFrom,
          passed: problems.length === 0,
          problems,
          distinct_events: ids.length,
          acknowledged_events: acked.length,
          retried,
          accepted_twice: acceptedTwice,
          dead_lettered: deadLettered,
          gaps_recorded: gaps.length,
          drain_ms: drainMs,
          // A P95 is reported only from replays whose offered rate held (replay-validity.ts): from any
          // other it proves nothing the suite could state as a latency.
          p95_ms: invalid ? null : round2(percentile(latencies, 95)),
          replay_valid: replayed.every((r) => r.valid),
          rate: plan.rate * (plan.replays ?? 1),
          duration_ms: 0,
          marks,
          extra,
          logs: logDir,
        };
        return out;
      } finally {
        redisClient.disconnect();
        await service.stop();
        await store.close().catch(() => {});
        await db.end().catch(() => {});
      }
    },
    { redis: { settings: plan.redisSettings } },
  );
  result.duration_ms = Date.now() - started;
  if (result.passed && !o.keepLogs) {
    rmSync(logDir, { recursive: true, force: true });
    result.logs = null;
  }
  say(`${result.passed ? "PASS" : "FAIL"} in ${result.duration_ms} ms${result.problems.length ? ": " + result.problems.join("; ") : ""}`);
  return result;
}

/**
 * Sends again, as a webhook sender does, every event that got no acknowledgement (error, 503,
 * timeout): up to three rounds. Retries are redeliveries: an event that was queued before its
 * answer was lost must now be answered "duplicate", never lost. Samples join the main clock.
 */
async function retryUnacknowledged(
  corpus: CorpusEvent[],
  samples: RequestSample[],
  service: IngestProcesses,
  credentials: Credentials,
  t0: number,
  ctx: FaultContext,
  say: (line: string) => void,
): Promise<number> {
  const originals = new Map<string, CorpusEvent>();
  for (const e of corpus) if (!originals.has(e.id)) originals.set(e.id, e);
  let retried = 0;
  for (let round = 1; round <= SENDER_RETRY_ROUNDS; round++) {
    const acked = acknowledgedIds(samples);
    const pending = [...originals.values()].filter((e) => !acked.has(e.id));
    if (pending.length === 0) break;
    // A sender backs off; the service must be back by itself (a restart is the scenario's, not ours).
    await service.waitReady(10_000).catch((err: Error) => ctx.problem(`before retry round ${round}: ${err.message}`));
    say(`retry round ${round}: ${pending.length} unacknowledged events`);
    const events = pending.map((e, i) => ({ ...e, index: i, redelivery: true }));
    const base = samples.reduce((m, x) => Math.max(m, x.index), 0) + 1;
    const r = await replay({ url: service.webhookUrl, rate: 200, events, credentials, timeoutMs: 10_000 });
    // The replay's t0 on this scenario's clock: now, less the wall-clock time since its t0.
    const offset = performance.now() - t0 - (Date.now() - Date.parse(r.startedAt));
    for (const x of r.samples) {
      samples.push({
        ...x,
        index: base + x.index,
        dueAt: x.dueAt + offset,
        sentAt: x.sentAt + offset,
        doneAt: x.doneAt + offset,
        redelivery: true,
      });
    }
    retried += r.samples.length;
    await sleep(300);
  }
  return retried;
}

async function readBatchRetries(redisUrl: string, namespace: string): Promise<number | null> {
  const c = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  c.on("error", () => {});
  try {
    await c.connect();
    const v = await c.hget(`${namespace}:metrics`, "retries");
    return v === null ? 0 : Number(v);
  } catch {
    return null;
  } finally {
    c.disconnect();
  }
}

function round2(v: number | null): number | null {
  return v === null ? null : Math.round(v * 100) / 100;
}

// ---- Helpers the scenarios share ------------------------------------------------------------------

/** Time from `at` to the first request sent at or after it that was acknowledged (answered), or null. */
export function firstAcknowledgedAfter(samples: RequestSample[], at: number): number | null {
  let best: number | null = null;
  for (const x of samples) {
    if (x.sentAt < at || (x.outcome !== "accepted" && x.outcome !== "duplicate")) continue;
    if (best === null || x.doneAt < best) best = x.doneAt;
  }
  return best === null ? null : best - at;
}

/** Nearest-rank P95 of the latencies of requests due in [from, to). */
export function p95Between(samples: RequestSample[], from: number, to: number): { p95: number | null; n: number } {
  const v = samples.filter((x) => x.dueAt >= from && x.dueAt < to).map((x) => x.latencyMs);
  return { p95: round2(percentile(v, 95)), n: v.length };
}
