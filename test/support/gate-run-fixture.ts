// Realistic GateRun values for tests that need a run without running one: Gate A's three phases (1K/5K/30K by
// default, 36K samples), open-loop samples with redeliveries and a few errors, the runner's reports, lineages
// drawn from service logs written to disk, the RBAC matrix, the war-room timeline. Same options, same run.

import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Gate, Phase, Slo } from "../../src/gates/model/gate.js";
import type {
  Approval,
  DatabaseConfirmation,
  ErrorBreakdown,
  GateRun,
  Lineage,
  PhaseResult,
  RbacCase,
  RequestSample,
  SloResult,
  TimelineEntry,
  Verdict,
  WarRoomUpdate,
} from "../../src/gates/model/gate-run-record.js";
import { loadGate } from "../../src/gates/gate-file/index.js";
import { summarizeLatency } from "../../src/gates/verdict/statistics.js";
import { notRun } from "../../src/gates/measure/measure-phase.js";

/** Credentials a run used. With plantSecrets they are written into logs, URLs, lineage details and prose. */
export const FIXTURE_SECRETS = {
  bearerKey: "rg_7f3c9a1e5d2b4f60a8c1e9d7b3a5f2c4e6d8b0a1c3e5f7d9",
  signingSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwNq3xYvB1",
  githubSecret: "gh-webhook-It's a Secret to Everybody-4e1f",
  databasePassword: "pg-S3cr3t-Pa55w0rd-91f2",
  redisPassword: "rd-p4ss-2a7e0c9b",
} as const;

export interface GateRunFixtureOptions {
  /** Seeds every random choice. */
  seed?: string;
  /** Multiplies each phase's request count: 1 gives Gate A's 1K/5K/30K (36K samples); 0.1 gives 100/500/3,000. */
  scale?: number;
  /** This phase misses its latency bar (P95 about twice the bar) and FAILs; the phases after it do not run. */
  failLatencyIn?: string;
  /** Where the service's logs (server.log, worker-1.log) are written; without it run.logs is empty. */
  logDir?: string;
  /** Write FIXTURE_SECRETS into the run everywhere a careless bundle could copy them from. */
  plantSecrets?: boolean;
  commit?: string;
  startedAt?: string;
  approvals?: Approval[];
  /** Number of audit-trail lineages. */
  lineages?: number;
}

/** A small deterministic PRNG (mulberry32) seeded from a string. */
function random(seed: string): () => number {
  let a = createHash("sha256").update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(rand: () => number, length: number): string {
  let out = "";
  while (out.length < length) out += Math.floor(rand() * 16).toString(16);
  return out;
}

/** Standard normal by Box-Muller. */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function slo(name: Slo["name"], comparator: Slo["comparator"], bar: number, display: string): Slo {
  return { name, comparator, bar, display };
}

/** The evidence gates/gate-a.yaml asks for: the fixture keeps no list of its own. */
const GATE_A_EVIDENCE = loadGate(fileURLToPath(new URL("../../gates/gate-a.yaml", import.meta.url)), {}).evidence;

/** Gate A as gates/gate-a.yaml declares it. */
export function fixtureGate(options: { scale?: number; plantSecrets?: boolean } = {}): Gate {
  const scale = options.scale ?? 1;
  const phase = (name: string, alias: string, requests: number, rate: number, latencyP95Ms: number, drainTimeoutMs: number): Phase => ({
    name,
    aliases: [alias],
    // At least 80: under 72 samples a P95 has no upper bound, and no phase could pass.
    requests: Math.max(80, Math.round(requests * scale)),
    rate,
    latencyP95Ms,
    drainTimeoutMs,
  });
  const password = options.plantSecrets ? FIXTURE_SECRETS.databasePassword : "postgres";
  const redis = options.plantSecrets ? `redis://:${FIXTURE_SECRETS.redisPassword}@127.0.0.1:6379` : "redis://127.0.0.1:6379";
  return {
    name: "gate-a",
    title: "Gate A: Production Promotion",
    application: "auto_com_center",
    dri: "Agent3",
    statusOwner: "Agent3",
    target: {
      kind: "bundled",
      mode: "queue",
      workers: 2,
      batchSize: 50,
      batchLingerMs: 5,
      redisUrl: redis,
      databaseUrl: `postgres://postgres:${password}@127.0.0.1:5432/postgres`,
    },
    slos: [
      slo("latency_p95", "<=", 120, "120ms"),
      slo("acceptance", ">=", 0.999, "99.9%"),
      slo("error_rate", "<=", 0.001, "0.10%"),
      slo("idempotency_violations", "==", 0, "0"),
      slo("ordering_violations", "==", 0, "0"),
      slo("lost_events", "==", 0, "0"),
    ],
    phases: [
      phase("smoke", "1k", 1000, 500, 20, 10000),
      phase("load", "5k", 5000, 1000, 50, 20000),
      phase("final", "30k", 30000, 1000, 120, 30000),
    ],
    corpus: { seed: "gate-a", orderingKeys: 500, redeliveryShare: 0.02 },
    evidence: GATE_A_EVIDENCE,
    signoff: { approvals: 1, approvers: ["Agent3"], permission: "write" },
    command: { prefix: "/gate-a", permission: "write" },
    schedule: "0 2 * * *",
    source: { file: "gates/gate-a.yaml", sha256: createHash("sha256").update("gate-a fixture").digest("hex") },
  };
}

interface PhaseBuild {
  result: PhaseResult;
  /** Sample index -> ISO time of its due moment, for log lines and lineages. */
  t0: number;
}

const ERRORS_BY_PHASE: Record<string, { status503: number; timeouts: number; transport: number }> = {
  smoke: { status503: 0, timeouts: 0, transport: 0 },
  load: { status503: 1, timeouts: 0, transport: 0 },
  final: { status503: 3, timeouts: 1, transport: 1 },
};

function buildPhase(gate: Gate, phase: Phase, rand: () => number, t0: number, fail: boolean, plant: boolean): PhaseBuild {
  const keys = Math.min(gate.corpus.orderingKeys, Math.max(1, Math.floor(phase.requests / 10)));
  // Lognormal latencies whose P95 sits at 35% of the bar (or twice it, for a failing phase), with rare stalls in
  // phases big enough that a stall cannot be the sample the P95's confidence bound lands on.
  const sigma = 0.6;
  const median = ((fail ? 2 : 0.35) * phase.latencyP95Ms) / Math.exp(1.645 * sigma);
  const stallShare = phase.requests >= 1000 ? 0.002 : 0;
  // The planned errors, trimmed to what the SLOs allow (0.10% of requests, and of the distinct events for acceptance),
  // so that a passing run passes at any scale.
  const errorPlan = { ...(ERRORS_BY_PHASE[phase.name] ?? { status503: 0, timeouts: 0, transport: 0 }) };
  const budget = Math.floor(phase.requests * (1 - gate.corpus.redeliveryShare) * 0.95 * 0.001 + 1e-9);
  for (const cause of ["status503", "transport", "timeouts"] as const) {
    const over = errorPlan.status503 + errorPlan.timeouts + errorPlan.transport - budget;
    if (over > 0) errorPlan[cause] = Math.max(0, errorPlan[cause] - over);
  }
  const errorAt = new Map<number, "503" | "timeout" | "transport">();
  const spread = (n: number, kind: "503" | "timeout" | "transport", offset: number) => {
    for (let k = 0; k < n; k++) errorAt.set(Math.floor(((k + offset) / (n + 3)) * phase.requests) + 7, kind);
  };
  spread(errorPlan.status503, "503", 1);
  spread(errorPlan.timeouts, "timeout", 1.5);
  spread(errorPlan.transport, "transport", 2.2);

  const samples: RequestSample[] = [];
  const firstSent: RequestSample[] = [];
  const seqByKey = new Map<string, number>();
  for (let i = 0; i < phase.requests; i++) {
    const dueAt = (i * 1000) / phase.rate;
    const sendLagMs = 0.02 + rand() * 0.3;
    // Truncated at three sigmas: at 50 or 100 samples the P95's upper confidence bound is the maximum itself.
    let latencyMs = median * Math.exp(sigma * Math.max(-3, Math.min(3, normal(rand))));
    if (rand() < stallShare) latencyMs *= 5;
    latencyMs = Math.max(latencyMs, sendLagMs + 0.1);
    const redelivery = i > 10 && rand() < gate.corpus.redeliveryShare && firstSent.length > 0;
    let sample: RequestSample;
    if (redelivery) {
      const original = firstSent[Math.floor(rand() * firstSent.length)]!;
      sample = {
        index: i,
        eventId: original.eventId,
        orderingKey: original.orderingKey,
        seq: original.seq,
        redelivery: true,
        dueAt,
        sentAt: dueAt + sendLagMs,
        doneAt: dueAt + latencyMs,
        latencyMs,
        sendLagMs,
        status: 200,
        outcome: "duplicate",
        requestId: original.requestId,
      };
    } else {
      const key = `${phase.name}/key-${String(Math.floor(rand() * keys)).padStart(3, "0")}`;
      const seq = (seqByKey.get(key) ?? 0) + 1;
      seqByKey.set(key, seq);
      sample = {
        index: i,
        eventId: `msg_${phase.name}_${hex(rand, 20)}`,
        orderingKey: key,
        seq,
        redelivery: false,
        dueAt,
        sentAt: dueAt + sendLagMs,
        doneAt: dueAt + latencyMs,
        latencyMs,
        sendLagMs,
        status: 202,
        outcome: "accepted",
        requestId: `req_${hex(rand, 16)}`,
      };
      const fault = errorAt.get(i);
      if (fault === "503") Object.assign(sample, { status: 503, outcome: "rejected", requestId: `req_${hex(rand, 16)}` });
      // A careless driver might name the URL it posted to, credentials and all.
      const url = plant ? `http://gate:${FIXTURE_SECRETS.bearerKey}@127.0.0.1:8080/webhooks` : "http://127.0.0.1:8080/webhooks";
      if (fault === "timeout")
        Object.assign(sample, {
          status: 0,
          outcome: "timeout",
          requestId: null,
          latencyMs: 5000,
          doneAt: dueAt + 5000,
          error: `no answer within 5000 ms from ${url}`,
        });
      if (fault === "transport")
        Object.assign(sample, { status: 0, outcome: "error", requestId: null, error: `socket hang up (ECONNRESET) posting to ${url}` });
      if (sample.outcome === "accepted") firstSent.push(sample);
    }
    samples.push(sample);
  }

  const errors: ErrorBreakdown = { byStatus: {}, timeouts: 0, transport: 0 };
  for (const s of samples) {
    if (s.outcome === "timeout") errors.timeouts++;
    else if (s.status === 0) errors.transport++;
    else if (s.status >= 300) errors.byStatus[String(s.status)] = (errors.byStatus[String(s.status)] ?? 0) + 1;
  }
  const errorCount = Object.values(errors.byStatus).reduce((a, b) => a + b, 0) + errors.timeouts + errors.transport;
  const distinct = new Set(samples.map((s) => s.eventId)).size;
  const accepted = firstSent.length;
  const latency = summarizeLatency(samples.map((s) => s.latencyMs))!;
  const perKey = [...seqByKey.values()].sort((a, b) => a - b);
  const redeliveries = samples.filter((s) => s.redelivery).length;
  const database: DatabaseConfirmation = {
    rowCount: accepted,
    acceptedCount: accepted,
    constraints: [
      {
        name: "webhook_events_idempotency_key_key",
        definition: "UNIQUE (idempotency_key)",
        present: true,
        enforced: true,
        tested: true,
        detail: "a second INSERT of a stored idempotency_key was refused with 23505 inside a rolled-back transaction",
      },
      {
        name: "webhook_events_pkey",
        definition: "PRIMARY KEY (id)",
        present: true,
        enforced: true,
        tested: true,
        detail: "present in pg_constraint",
      },
      {
        name: "webhook_events_ordering_key_seq_key",
        definition: "UNIQUE (ordering_key, seq)",
        present: true,
        enforced: true,
        tested: true,
        detail: "a duplicate (ordering_key, seq) was refused with 23505 inside a rolled-back transaction",
      },
    ],
    lostEvents: [],
  };

  const latencyBar = Math.min(phase.latencyP95Ms, gate.slos.find((s) => s.name === "latency_p95")!.bar);
  const latencyPass = latency.p95Ci[1] <= latencyBar;
  const acceptance = accepted / distinct;
  const errorRate = errorCount / samples.length;
  const sloResults: SloResult[] = [
    {
      name: "latency_p95",
      measured: latency.p95,
      measuredDisplay: `${latency.p95.toFixed(1)}ms`,
      bar: `<= ${latencyBar}ms`,
      verdict: latencyPass ? "PASS" : "FAIL",
      detail: `95% CI ${latency.p95Ci[0].toFixed(1)}-${latency.p95Ci[1].toFixed(1)}ms over n=${latency.n}`,
    },
    {
      name: "acceptance",
      measured: acceptance,
      measuredDisplay: `${(acceptance * 100).toFixed(2)}%`,
      bar: ">= 99.9%",
      verdict: acceptance >= 0.999 ? "PASS" : "FAIL",
    },
    {
      name: "error_rate",
      measured: errorRate,
      measuredDisplay: `${(errorRate * 100).toFixed(2)}%`,
      bar: "<= 0.10%",
      verdict: errorRate <= 0.001 ? "PASS" : "FAIL",
    },
    { name: "idempotency_violations", measured: 0, measuredDisplay: "0", bar: "== 0", verdict: "PASS" },
    { name: "ordering_violations", measured: 0, measuredDisplay: "0", bar: "== 0", verdict: "PASS" },
    { name: "lost_events", measured: 0, measuredDisplay: "0", bar: "== 0", verdict: "PASS" },
  ];
  const failed = sloResults.filter((s) => s.verdict !== "PASS");
  const verdict: Verdict = failed.length ? "FAIL" : "PASS";
  const last = samples[samples.length - 1]!;
  return {
    t0,
    result: {
      name: phase.name,
      requests: phase.requests,
      rate: phase.rate,
      latencyBarMs: phase.latencyP95Ms,
      ran: true,
      replay: {
        samples,
        startedAt: new Date(t0).toISOString(),
        durationMs: last.doneAt,
        targetRate: phase.rate,
        achievedRate: Math.round(((samples.length * 1000) / last.dueAt) * 10) / 10,
        sendLagP99Ms: 0.31,
        valid: true,
      },
      latency,
      distinctEvents: distinct,
      accepted,
      duplicates: redeliveries,
      errors,
      drainMs: 40 + Math.round(rand() * 200),
      idempotency: {
        redeliveriesSent: redeliveries,
        answeredDuplicate: redeliveries,
        answeredNew: 0,
        storedMoreThanOnce: 0,
        violations: [],
      },
      ordering: {
        keysChecked: perKey.length,
        eventsChecked: accepted,
        eventsPerKey: { min: perKey[0] ?? 0, median: perKey[Math.floor(perKey.length / 2)] ?? 0, max: perKey[perKey.length - 1] ?? 0 },
        gaps: [],
        violations: [],
      },
      database,
      verdict,
      reason: verdict === "PASS" ? "every objective met" : failed.map((s) => `${s.name} ${s.measuredDisplay} vs ${s.bar}`).join("; "),
      slos: sloResults,
    },
  };
}

function iso(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

/** The service's structured logs for a phase (pino lines as src/ingest-service writes them), and the lineages read from them. */
function serviceLogLines(build: PhaseBuild, plant: boolean): { server: string[]; worker: string[] } {
  const server: string[] = [];
  const worker: string[] = [];
  const base = { service: "ingest", namespace: "rg_fixture" };
  const t0 = build.t0;
  const startLine = {
    level: "info",
    time: iso(t0 - 900),
    ...base,
    role: "serve",
    url: "http://127.0.0.1:8080",
    mode: "queue",
    database: plant
      ? `postgres://postgres:${FIXTURE_SECRETS.databasePassword}@127.0.0.1:5432/postgres`
      : "postgres://postgres@127.0.0.1:5432/postgres",
    redis: plant ? `redis://:${FIXTURE_SECRETS.redisPassword}@127.0.0.1:6379` : "redis://127.0.0.1:6379",
    msg: "ingest server listening",
  };
  server.push(JSON.stringify(startLine));
  if (plant) {
    server.push(
      JSON.stringify({
        level: "warn",
        time: iso(t0 - 800),
        ...base,
        role: "serve",
        headers: {
          authorization: `Bearer ${FIXTURE_SECRETS.bearerKey}`,
          "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
          "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        },
        msg: "debug: first request headers",
      }),
    );
    server.push(
      `startup env WEBHOOK_SIGNING_SECRET=${FIXTURE_SECRETS.signingSecret} GITHUB_WEBHOOK_SECRET=${FIXTURE_SECRETS.githubSecret}`,
    );
    server.push(`Authorization: Bearer ${FIXTURE_SECRETS.bearerKey}`);
  }
  const batch: string[] = [];
  let batchNo = 0;
  const flush = (at: number) => {
    if (batch.length === 0) return;
    batchNo++;
    worker.push(
      JSON.stringify({
        level: "info",
        time: iso(at),
        ...base,
        role: "worker",
        hop: "committed",
        batch_id: `b${String(batchNo).padStart(5, "0")}`,
        request_ids: [...batch],
        committed_at: iso(at),
        events: batch.length,
        new_rows: batch.length,
        commit_ms: 1.7,
      }),
    );
    batch.length = 0;
  };
  for (const s of build.result.replay!.samples) {
    if (s.outcome !== "accepted") continue;
    const received = t0 + s.sentAt;
    server.push(
      JSON.stringify({
        level: "info",
        time: iso(t0 + s.doneAt),
        ...base,
        role: "serve",
        hop: "enqueued",
        request_id: s.requestId,
        idempotency_key: s.eventId,
        received_at: iso(received),
        enqueued_at: iso(t0 + s.doneAt),
      }),
    );
    batch.push(s.requestId!);
    if (batch.length === 50) flush(t0 + s.doneAt + 6);
  }
  const samples = build.result.replay!.samples;
  flush(t0 + samples[samples.length - 1]!.doneAt + 6);
  return { server, worker };
}

function lineagesFrom(build: PhaseBuild, count: number, rand: () => number, plant: boolean): Lineage[] {
  const accepted = build.result.replay!.samples.filter((s) => s.outcome === "accepted");
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, accepted.length)) chosen.add(Math.floor(rand() * accepted.length));
  return [...chosen].map((i) => {
    const s = accepted[i]!;
    const t0 = build.t0;
    const batch = `b${String(Math.floor(i / 50) + 1).padStart(5, "0")}`;
    return {
      requestId: s.requestId!,
      eventId: s.eventId,
      hops: [
        { hop: "accepted", at: iso(t0 + s.sentAt), detail: `HTTP 202 (server.log)` },
        {
          hop: "enqueued",
          at: iso(t0 + s.doneAt),
          detail: `queued in Redis (server.log)${plant ? ` via redis://:${FIXTURE_SECRETS.redisPassword}@127.0.0.1:6379` : ""}`,
        },
        { hop: "committed", at: iso(t0 + s.doneAt + 6), detail: `batch ${batch} committed (worker-1.log)` },
        {
          hop: "stored",
          at: iso(t0 + s.doneAt + 7),
          detail: `webhook_events row: request_id ${s.requestId}, batch ${batch}, ordering ${s.orderingKey}#${s.seq}${plant ? `, sent with Authorization: Bearer ${FIXTURE_SECRETS.bearerKey}` : ""}`,
        },
      ],
    };
  });
}

function rbacMatrix(plant: boolean): RbacCase[] {
  const c = (name: string, description: string, expectedStatus: number, actualStatus = expectedStatus): RbacCase => ({
    name,
    description,
    expectedStatus,
    actualStatus,
    verdict: expectedStatus === actualStatus ? "PASS" : "FAIL",
  });
  return [
    c(
      "all_valid",
      plant ? `every configured credential valid (Bearer ${FIXTURE_SECRETS.bearerKey})` : "every configured credential valid",
      202,
    ),
    c("no_credentials", "no Authorization and no signature headers", 401),
    c("bearer_missing", "Authorization header absent", 401),
    c("bearer_wrong", "Authorization: Bearer with a wrong key", 401),
    c("bearer_wrong_scheme", "Authorization: Basic instead of Bearer", 401),
    c("signature_missing", "webhook-signature header absent", 401),
    c(
      "signature_bad",
      plant
        ? `webhook-signature made with another secret than ${FIXTURE_SECRETS.signingSecret}`
        : "webhook-signature made with another secret",
      401,
    ),
    c("signature_malformed", "webhook-signature not in v1,<base64> form", 401),
    c("timestamp_stale", "webhook-timestamp 10 minutes old (tolerance 5 minutes)", 401),
    c("timestamp_future", "webhook-timestamp 10 minutes ahead", 401),
    c("timestamp_missing", "webhook-timestamp header absent", 401),
    c("github_signature_missing", "X-Hub-Signature-256 absent", 401),
    c("github_signature_bad", "X-Hub-Signature-256 over other bytes", 401),
  ];
}

/** A whole run of Gate A as the runner would record it. */
export async function buildGateRun(options: GateRunFixtureOptions = {}): Promise<GateRun> {
  const seed = options.seed ?? "fixture";
  const rand = random(seed);
  const plant = options.plantSecrets ?? false;
  const gate = fixtureGate({ scale: options.scale, plantSecrets: plant });
  const startedAt = options.startedAt ?? "2025-11-13T02:00:00.000Z";
  let clock = Date.parse(startedAt) + 2500;
  const phases: PhaseResult[] = [];
  const builds: PhaseBuild[] = [];
  let blocked: string | null = null;
  for (const phase of gate.phases) {
    if (blocked) {
      phases.push(notRun(phase, `not run: ${blocked}`));
      continue;
    }
    const build = buildPhase(gate, phase, rand, clock, options.failLatencyIn === phase.name, plant);
    builds.push(build);
    phases.push(build.result);
    clock += build.result.replay!.durationMs + (build.result.drainMs ?? 0) + 800;
    if (build.result.verdict !== "PASS") blocked = `${phase.name} did not pass (${build.result.reason})`;
  }
  const finishedAt = iso(clock + 1200);
  const failedPhase = phases.find((p) => p.ran && p.verdict !== "PASS");
  const verdict: Verdict = failedPhase ? "FAIL" : "PASS";
  const reason = failedPhase ? `${failedPhase.name} failed: ${failedPhase.reason}` : "every phase passed every objective";

  const logs: Record<string, string> = {};
  if (options.logDir) {
    await mkdir(options.logDir, { recursive: true });
    const server: string[] = [];
    const worker: string[] = [];
    for (const b of builds) {
      const lines = serviceLogLines(b, plant);
      server.push(...lines.server);
      worker.push(...lines.worker);
    }
    logs.server = join(options.logDir, "server.log");
    logs["worker-1"] = join(options.logDir, "worker-1.log");
    await writeFile(logs.server, `${server.join("\n")}\n`);
    await writeFile(logs["worker-1"], `${worker.join("\n")}\n`);
  }
  const lastRan = builds[builds.length - 1]!;
  const owner = gate.statusOwner;
  const at = (offsetMs: number) => iso(Date.parse(startedAt) + offsetMs);
  const timeline: TimelineEntry[] = [
    { time: at(1500), milestone: "Deploy target", owner, status: "done", blocker: "" },
    { time: at(2400), milestone: "RBAC probe", owner, status: "done", blocker: plant ? `probe used ${FIXTURE_SECRETS.bearerKey}` : "" },
    ...gate.phases.map((p, i) => {
      const r = phases[i]!;
      return {
        time: r.ran ? r.replay!.startedAt : "",
        milestone: `${p.name} replay (${p.requests} @ ${p.rate}/s, P95 ≤ ${p.latencyP95Ms}ms)`,
        owner,
        status: (!r.ran ? "skipped" : r.verdict === "PASS" ? "done" : "failed") as TimelineEntry["status"],
        blocker: r.verdict === "PASS" ? "" : r.reason,
      };
    }),
    {
      time: finishedAt,
      milestone: "PASS/FAIL decision",
      owner: gate.dri,
      status: verdict === "PASS" ? "done" : "failed",
      blocker: verdict === "PASS" ? "" : reason,
    },
  ];
  const update = (time: string, milestone: string, status: WarRoomUpdate["status"], progress: string, next: string): WarRoomUpdate => ({
    time,
    milestone,
    status,
    progress,
    blockers: plant ? `none (bearer ${FIXTURE_SECRETS.bearerKey} rotated)` : "",
    next,
    eta: "N/A",
    owner,
  });
  const updates: WarRoomUpdate[] = [
    update(
      at(1500),
      "Deploy bundled ingest service (queue mode, 2 workers, batch 50)",
      "GREEN",
      "target deployed and ready",
      "start smoke",
    ),
    update(
      finishedAt,
      `Verdict: ${verdict}`,
      verdict === "PASS" ? "GREEN" : "RED",
      reason,
      verdict === "PASS" ? "sign-off on the evidence PR" : "fix and re-run (`/gate-a replay all`)",
    ),
  ];
  return {
    id: `gate-a-20251113-020000-${hex(random(`${seed}/id`), 6)}`,
    gate,
    commit: options.commit ?? createHash("sha1").update(`${seed}/commit`).digest("hex"),
    startedAt,
    finishedAt,
    verdict,
    reason,
    phases,
    rbac: rbacMatrix(plant),
    lineages: lineagesFrom(lastRan, options.lineages ?? 10, rand, plant),
    timeline,
    decisions: [
      {
        time: finishedAt,
        title: `${gate.title}: ${verdict}`,
        authority: `release-gate evaluation for ${gate.dri} (DRI)`,
        decision: verdict === "PASS" ? "PASS recommended; GO pending human sign-off (1 approval)" : `NO-GO: ${verdict}`,
        rationale: plant ? `${reason}; database postgres://postgres:${FIXTURE_SECRETS.databasePassword}@127.0.0.1:5432/postgres` : reason,
      },
    ],
    updates,
    approvals: options.approvals ?? [],
    logs,
    secrets: [
      FIXTURE_SECRETS.bearerKey,
      FIXTURE_SECRETS.signingSecret,
      FIXTURE_SECRETS.githubSecret,
      FIXTURE_SECRETS.databasePassword,
      FIXTURE_SECRETS.redisPassword,
    ],
  };
}

/** What a run built from a commit records of its build (service-source), with `log` as the build's output. */
export function builtSource(run: GateRun, log: string): NonNullable<GateRun["source"]> {
  return {
    commit: run.commit,
    tarballSha256: "0".repeat(64),
    treeSha: "1".repeat(40),
    lockfileSha256: null,
    repository: "acme/widgets",
    builder: "room/1 test",
    cache: { decision: "miss", key: "k" },
    buildCommand: "npm ci",
    exitCode: 0,
    durationMs: 2100,
    builtAt: run.startedAt,
    cached: false,
    log,
  };
}
