// The gate file's war-room settings (updates, deadline, escalation, preflight, capacity) and replay: go through the
// same schema as the rest: read into the Gate when right; an unknown key or a wrong value is an error
// naming file:line:col and what was expected, and nothing of the gate is returned.

import { GateDefinitionError, loadGate, parseGate, type GateProblem } from "../../../src/gates/gate-file/index.js";

/** A small valid gate (the war-room settings are appended below line 25). */
const BASE = [
  "gate: gate-x",
  'title: "Gate X"',
  "application: app",
  "dri: Agent3",
  "target:",
  "  bundled:",
  "    workers: 3",
  '    redis_url: "redis://127.0.0.1:6379"',
  '    database_url: "postgres://postgres@127.0.0.1:5432/postgres"',
  "objectives:",
  '  latency_p95: "<= 120ms"',
  '  acceptance: ">= 99.9%"',
  '  error_rate: "<= 0.10%"',
  '  idempotency_violations: "== 0"',
  '  ordering_violations: "== 0"',
  '  lost_events: "== 0"',
  "phases:",
  "  - name: smoke",
  "    requests: 1k",
  "    rate: 500/s",
  '    latency_p95: "<= 20ms"',
  "corpus:",
  "  seed: x",
  "  ordering_keys: 10",
  "  redelivery_share: 2%",
  "evidence: [replay_logs]",
].join("\n");
const FIRST = BASE.split("\n").length + 1; // line number of the first appended line

function problems(extra: string[]): string[] {
  try {
    parseGate(`${BASE}\n${extra.join("\n")}\n`, "x.yaml", {});
  } catch (err) {
    expect(err).toBeInstanceOf(GateDefinitionError);
    return (err as GateDefinitionError).problems.map((p: GateProblem) => `${p.line}:${p.column}: ${p.path}: ${p.message}`);
  }
  throw new Error("expected the gate to be refused");
}

test("every setting is read into the gate", () => {
  const gate = parseGate(
    `${BASE}\n${[
      "updates: { every: 30min }",
      'deadline: "02:00 UTC"',
      'escalation: [Agent3, "@acme/release-captains"]',
      "preflight:",
      '  redis: { maxmemory_policy: noeviction, aof: required, free_memory: ">= 64MB" }',
      '  postgres: { max_connections: ">= 100" }',
      "  secrets: [WEBHOOK_SIGNING_SECRET]",
      "  service_ready: true",
      "capacity: { duration: 10s, connections: 50 }",
    ].join("\n")}\n`,
    "x.yaml",
    {},
  );
  expect(gate.updates).toEqual({ everyMs: 30 * 60_000, display: "30min" });
  expect(gate.deadline).toEqual({ kind: "time_of_day", hour: 2, minute: 0, zone: "UTC", display: "02:00 UTC" });
  expect(gate.escalation).toEqual(["Agent3", "@acme/release-captains"]);
  expect(gate.preflight).toEqual({
    redis: {
      url: "redis://127.0.0.1:6379",
      maxmemoryPolicy: "noeviction",
      aof: "required",
      freeMemory: { bytes: 64 * 1024 * 1024, display: "64MB" },
    },
    // The bundled service's pools: the server's one connection and two per worker.
    postgres: { maxConnections: { min: 100, display: "100" }, poolSize: 1 + 3 * 2 },
    secrets: ["WEBHOOK_SIGNING_SECRET"],
    serviceReady: true,
  });
  expect(gate.capacity).toEqual({ durationMs: 10_000, connections: 50, display: { duration: "10s" } });
});

test("without them a gate has none of them (gate-a's runs are not slowed)", () => {
  const gate = parseGate(`${BASE}\n`, "x.yaml", {});
  for (const k of ["updates", "deadline", "escalation", "preflight", "capacity"] as const) expect(gate[k]).toBeUndefined();
  expect(loadGate("gates/gate-a.yaml").capacity).toBeUndefined();
});

test("an unknown key names its line and column and the keys allowed", () => {
  expect(problems(["preflight:", "  redis:", "    max_memory_policy: noeviction"])).toEqual([
    `${FIRST + 2}:5: preflight.redis.max_memory_policy: unknown key; expected one of url, maxmemory_policy, aof, free_memory (did you mean "maxmemory_policy"?)`,
  ]);
  expect(problems(["capacity: { duration: 10s, conections: 50 }"])).toEqual(
    [
      `${FIRST}:28: capacity.conections: unknown key; expected one of duration, connections (did you mean "connections"?)`,
      `${FIRST}:1: capacity.connections: missing required key "connections"; expected it in the capacity probe`,
    ].sort(),
  );
});

test("wrong types and values say what was expected, at their position", () => {
  expect(problems(["capacity: { duration: 10s, connections: many }"])).toEqual([
    `${FIRST}:41: capacity.connections: "many" is not a count; expected a number such as "1000", "30k" or "1.5k"`,
  ]);
  expect(problems(['deadline: "02:00"'])).toEqual([
    `${FIRST}:11: deadline: "02:00" names no time zone; expected "02:00 UTC" or "02:00 Europe/Berlin"`,
  ]);
  expect(problems(['escalation: ["not a login!"]'])).toEqual([
    `${FIRST}:14: escalation[0]: "not a login!" is not a GitHub login or team; expected a login such as Agent3 or a team such as @acme/release-captains`,
  ]);
  expect(problems(["updates: { every: 10ms }"])).toEqual([`${FIRST}:19: updates.every: "10ms" is too short; expected at least 1000ms`]);
  expect(problems(["preflight:", '  redis: { free_memory: "64MB" }'])).toEqual([
    `${FIRST + 1}:25: preflight.redis.free_memory: "64MB" is not a lower bar; expected ">=" and a value, such as ">= 64MB"`,
  ]);
  expect(problems(["preflight:", '  secrets: ["ghp_abc=def"]'])).toEqual([
    `${FIRST + 1}:13: preflight.secrets[0]: "ghp_abc=def" is not an environment variable name; expected a name such as WEBHOOK_SIGNING_SECRET (the name, never the value)`,
  ]);
  expect(problems(["preflight:", "  service_ready: yes please"])).toEqual([
    `${FIRST + 1}:18: preflight.service_ready: "yes please" is not true or false; expected service_ready: true`,
  ]);
});

test("a deployed target's pre-flight must name its Redis and its pool size", () => {
  const deployed = BASE.replace(
    /target:\n[\s\S]*?objectives:/,
    'target:\n  deployed:\n    url: "https://ingest.example.com"\n    database_url: "postgres://gate@db.example.com:5432/ingest"\nobjectives:',
  );
  let found: string[] = [];
  try {
    parseGate(
      `${deployed}\npreflight:\n  redis: { maxmemory_policy: noeviction }\n  postgres: { max_connections: ">= 100" }\n`,
      "x.yaml",
      {},
    );
  } catch (err) {
    found = (err as GateDefinitionError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  expect(found).toEqual([
    "preflight.redis.url: a deployed target names no Redis; expected url: the Redis the service queues in",
    "preflight.postgres.pool_size: a deployed target's pool is unknown; expected pool_size: the PostgreSQL connections the service opens",
  ]);
});

test("replay: how many runners drive each phase, their lead and clock bound; wrong values are refused where they stand", () => {
  const gate = parseGate(`${BASE}\nreplay: { runners: 3, lead: 20s, clock_bound: 2ms }\n`, "x.yaml", {});
  expect(gate.replay).toEqual({ runners: 3, leadMs: 20_000, clockBoundMs: 2 });
  expect(parseGate(`${BASE}\nreplay: { runners: 1 }\n`, "x.yaml", {}).replay).toEqual({ runners: 1 });
  expect(parseGate(`${BASE}\n`, "x.yaml", {}).replay).toBeUndefined();
  const found = (extra: string) => problems([extra]).map((p) => p.replace(/^\d+:\d+: /, ""));
  expect(found("replay: { runners: 0 }")[0]).toMatch(/^replay\.runners: .*0/);
  expect(found("replay: { runners: 257 }")[0]).toMatch(/^replay\.runners: /);
  expect(found("replay: { runers: 3 }").join("\n")).toMatch(
    /replay\.runers: unknown key; expected one of runners, lead, clock_bound \(did you mean "runners"\?\)/,
  );
  expect(found("replay: { runners: 2, lead: 10ms }")).toEqual(['replay.lead: "10ms" is too short; expected at least 1000ms']);
  expect(found("replay: { runners: 2, clock_bound: 2s }")).toEqual(['replay.clock_bound: "2s" is too long; expected at most 1s']);
  expect(found("replay: 3")[0]).toMatch(/^replay: /);
});
