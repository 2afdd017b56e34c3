// Pre-flight checks against real Redis and PostgreSQL servers: each check passes where the setting holds
// and fails, saying what to change, where it does not; a run whose pre-flight fails stops before any
// phase as FAIL naming the check, with the results as an evidence file.

import { jest } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisInstance } from "../../../faults/instances.js";
import { runPreflight, type PreflightResult } from "../../../src/gates/run/preflight-checks.js";
import { preflightFailure } from "../../../src/gates/evidence/report/preflight-report.js";
import { parseGate } from "../../../src/gates/gate-file/index.js";
import { executeRun } from "../../../src/gates/run/execute-run.js";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";

jest.setTimeout(60_000);

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

let production: RedisInstance;
let evicting: RedisInstance;
let ready: Server;
let unready: Server;

function listen(status: number): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((req, res) => res.writeHead(req.url === "/readyz" ? status : 404).end(status === 200 ? "ready" : "not ready"));
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}
const base = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

beforeAll(async () => {
  // The production settings the README asks for (AOF on, noeviction), and a Redis that evicts.
  [production, evicting, ready, unready] = await Promise.all([
    RedisInstance.start(),
    RedisInstance.start({ settings: { appendonly: "no", "maxmemory-policy": "allkeys-lru", maxmemory: "2mb" } }),
    listen(200),
    listen(503),
  ]);
});

afterAll(async () => {
  await Promise.all([production?.destroy(), evicting?.destroy()]);
  for (const s of [ready, unready]) {
    s?.closeAllConnections();
    s?.close();
  }
});

const verdicts = (results: PreflightResult[]) => Object.fromEntries(results.map((r) => [r.check, r.verdict]));

test("a production-ready Redis, PostgreSQL with room, the secrets set and a ready service pass every check", async () => {
  const seen: string[] = [];
  const results = await runPreflight(
    {
      redis: { url: production.url, maxmemoryPolicy: "noeviction", aof: "required", freeMemory: { bytes: 1024 * 1024, display: "1MB" } },
      postgres: { maxConnections: { min: 10, display: "10" }, poolSize: 3 },
      secrets: ["RG_PREFLIGHT_SECRET"],
      serviceReady: true,
    },
    {
      redisUrl: production.url,
      databaseUrl: DATABASE_URL,
      serviceBaseUrl: base(ready),
      env: { RG_PREFLIGHT_SECRET: "value-not-shown" },
      poolSize: 3,
    },
    (r) => {
      seen.push(r.check);
    },
  );
  expect(verdicts(results)).toEqual({
    redis_maxmemory_policy: "PASS",
    redis_aof: "PASS",
    redis_free_memory: "PASS",
    postgres_max_connections: "PASS",
    postgres_pool_headroom: "PASS",
    secrets_present: "PASS",
    service_ready: "PASS",
  });
  // Each result is reported as it comes (each is a war-room milestone), in catalogue order.
  expect(seen).toEqual(results.map((r) => r.check));
  expect(results.find((r) => r.check === "redis_aof")?.actual).toBe("appendonly yes");
  expect(results.find((r) => r.check === "postgres_max_connections")?.actual).toMatch(/^max_connections \d+$/);
  expect(JSON.stringify(results)).not.toContain("value-not-shown");
  expect(preflightFailure(results)).toBeNull();
});

test("an evicting Redis without AOF, too few connections, a missing secret and an unready service each fail, saying what to change", async () => {
  const results = await runPreflight(
    {
      redis: {
        url: evicting.url,
        maxmemoryPolicy: "noeviction",
        aof: "required",
        freeMemory: { bytes: 64 * 1024 * 1024, display: "64MB" },
      },
      postgres: { maxConnections: { min: 1_000_000, display: "1000000" }, poolSize: 1_000_000 },
      secrets: ["RG_PREFLIGHT_SECRET", "RG_PREFLIGHT_MISSING"],
      serviceReady: true,
    },
    {
      redisUrl: evicting.url,
      databaseUrl: DATABASE_URL,
      serviceBaseUrl: base(unready),
      env: { RG_PREFLIGHT_SECRET: "x" },
      poolSize: 1_000_000,
    },
  );
  expect(Object.values(verdicts(results))).toEqual(["FAIL", "FAIL", "FAIL", "FAIL", "FAIL", "FAIL", "FAIL"]);
  const by = (c: string) => results.find((r) => r.check === c)!;
  expect(by("redis_maxmemory_policy")).toMatchObject({
    actual: "maxmemory-policy allkeys-lru",
    detail: expect.stringContaining("set `maxmemory-policy noeviction`"),
  });
  expect(by("redis_aof")).toMatchObject({ actual: "appendonly no", detail: expect.stringContaining("appendonly yes") });
  expect(by("redis_free_memory").actual).toMatch(/free \(maxmemory − used_memory\)$/);
  expect(by("secrets_present")).toMatchObject({ actual: "missing: RG_PREFLIGHT_MISSING" });
  expect(by("service_ready")).toMatchObject({ actual: "GET /readyz → 503" });
  expect(preflightFailure(results)).toMatch(
    /^pre-flight failed: redis_maxmemory_policy \(expected maxmemory-policy noeviction, found maxmemory-policy allkeys-lru\); redis_aof /,
  );
});

test("a check that cannot look (Redis not there) is a FAIL saying why, and the others still run", async () => {
  const results = await runPreflight(
    { redis: { url: "redis://127.0.0.1:1", maxmemoryPolicy: "noeviction" }, secrets: ["PATH"] },
    {
      redisUrl: "redis://127.0.0.1:1",
      databaseUrl: DATABASE_URL,
      serviceBaseUrl: base(ready),
      env: { PATH: "/bin" },
      poolSize: 1,
      timeoutMs: 1000,
    },
  );
  expect(results.map((r) => [r.check, r.verdict, r.actual])).toEqual([
    ["redis_maxmemory_policy", "FAIL", "could not check"],
    ["secrets_present", "PASS", "all set"],
  ]);
  expect(results[0]!.detail).toMatch(
    /^Redis at redis:\/\/127\.0\.0\.1:1 did not answer \(.+\); check the target's redis_url or preflight\.redis\.url$/,
  );
});

test("a run whose pre-flight fails stops as FAIL naming the check before any phase, and its bundle keeps the results", async () => {
  const gate = parseGate(
    [
      "gate: gate-pf",
      'title: "Gate PF"',
      "application: app",
      "dri: Agent3",
      "target:",
      "  bundled:",
      "    workers: 1",
      `    redis_url: "${REDIS_URL}"`,
      `    database_url: "${DATABASE_URL}"`,
      "objectives:",
      '  latency_p95: "<= 500ms"',
      '  acceptance: ">= 99%"',
      '  error_rate: "<= 1%"',
      '  idempotency_violations: "== 0"',
      '  ordering_violations: "== 0"',
      '  lost_events: "== 0"',
      "phases:",
      '  - { name: smoke, requests: 200, rate: 100/s, latency_p95: "<= 500ms" }',
      "corpus: { seed: pf, ordering_keys: 10, redelivery_share: 0% }",
      "evidence: [replay_logs, sha256_manifest]",
      "escalation: [Agent3]",
      "preflight:",
      '  postgres: { max_connections: ">= 1000000" }',
      "  service_ready: true",
    ].join("\n"),
    "gate-pf.yaml",
    {},
  );
  const updates: string[] = [];
  const run = await executeRun(gate, {
    phases: gate.phases,
    commit: "c".repeat(40),
    observer: { update: (u) => void updates.push(`${u.status} ${u.milestone}${u.escalation ? " ESCALATE" : ""}`) },
  });
  expect(run.verdict).toBe("FAIL");
  expect(run.reason).toMatch(
    /^pre-flight failed: postgres_max_connections \(expected max_connections ≥ 1000000, found max_connections \d+\)$/,
  );
  expect(run.phases).toHaveLength(1);
  expect(run.phases[0]).toMatchObject({
    ran: false,
    reason: expect.stringContaining("not run: pre-flight failed: postgres_max_connections"),
  });
  expect(run.timeline.map((t) => [t.milestone, t.status])).toEqual([
    ["Deploy target, warm up (200 requests, not measured)", "done"],
    ["Pre-flight: postgres_max_connections", "failed"],
    ["Pre-flight: postgres_pool_headroom", "done"],
    ["Pre-flight: service_ready", "done"],
    ["RBAC probe", "done"],
    ["smoke replay (200 @ 100/s, P95 ≤ 500ms)", "skipped"],
    ["PASS/FAIL decision", "failed"],
  ]);
  // Each check was a milestone; the first RED one called the escalation list, and only that one.
  expect(updates).toEqual([
    expect.stringMatching(/^GREEN Deploy /),
    "RED Pre-flight 1/3 FAIL: postgres_max_connections ESCALATE",
    "GREEN Pre-flight 2/3 PASS: postgres_pool_headroom",
    "GREEN Pre-flight 3/3 PASS: service_ready",
    "RED Gate PF: PASS/FAIL decision: FAIL",
  ]);

  const dir = await mkdtemp(join(tmpdir(), "preflight-bundle-"));
  try {
    const bundle = join(dir, "b");
    const { files } = await writeEvidenceBundle(bundle, run);
    expect(files).toEqual(expect.arrayContaining(["00-preflight/preflight.json", "00-preflight/preflight.md"]));
    const doc = JSON.parse(await readFile(join(bundle, "00-preflight/preflight.json"), "utf8"));
    expect(doc.failure).toBe(run.reason);
    expect(doc.checks.map((c: PreflightResult) => c.verdict)).toEqual(["FAIL", "PASS", "PASS"]);
    const summary = await readFile(join(bundle, "summary.md"), "utf8");
    expect(summary).toContain("## Pre-flight checks");
    expect(summary).toContain("| postgres_max_connections | max_connections ≥ 1000000 |");
    expect(await readFile(join(bundle, "SHA256SUMS"), "utf8")).toContain("  00-preflight/preflight.json\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
