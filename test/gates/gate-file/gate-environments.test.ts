// The gate file's `environments:`, `promotion:` and `merge_queue:`: what the deployment protection
// rule, the promotion stages and merge groups read, and the file:line:col errors for getting them wrong.

import { GateDefinitionError, loadGate, parseGate, formatProblem } from "../../../src/gates/gate-file/index.js";

/** A small valid gate (23 lines); the cases append their own sections from line 24. */
const BASE = [
  "gate: gate-x",
  'title: "Gate X"',
  "application: app",
  "dri: Agent3",
  "target:",
  "  bundled:",
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
  "    aliases: [1k]",
  "    requests: 1k",
  "    rate: 500/s",
  '    latency_p95: "<= 20ms"',
  "corpus: { seed: x, ordering_keys: 10, redelivery_share: 2% }",
  "evidence: [replay_logs]",
  "",
].join("\n");

// The variables these files read are on the gate file's env: allow-list, after the lines under test.
const gate = (extra: string, env: Record<string, string> = {}) =>
  parseGate(`${BASE}${extra}${extra.endsWith("\n") || !extra ? "" : "\n"}env: [CANARY_URL, CANARY_SECRET]\n`, "x.yaml", env);

function errors(extra: string): string[] {
  try {
    gate(extra);
  } catch (err) {
    expect(err).toBeInstanceOf(GateDefinitionError);
    return (err as GateDefinitionError).problems.map(formatProblem);
  }
  throw new Error("the gate file was accepted");
}

describe("environments the gate guards", () => {
  it("reads each environment's rule, the run's target, credentials, short phase and soak", () => {
    const g = gate(
      [
        "environments:",
        "  production:",
        "    requires: signoff",
        "    soak: 30min",
        "  canary-10:",
        "    requires: run",
        "    target:",
        "      deployed:",
        '        url: "${CANARY_URL}"',
        '        database_url: "postgres://gate@db.example.com/ingest"',
        "    credentials:",
        '      signing_secret: "${CANARY_SECRET}"',
        '    phase: { requests: 500, rate: 100/s, latency_p95: "<= 50ms" }',
        "promotion: [canary-10, production]",
        "merge_queue: 1k",
        "",
      ].join("\n"),
      { CANARY_URL: "https://canary.example.com", CANARY_SECRET: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=" },
    );
    expect(g.environments).toEqual([
      { name: "production", requires: "signoff", soakMs: 30 * 60_000 },
      {
        name: "canary-10",
        requires: "run",
        target: {
          kind: "deployed",
          url: "https://canary.example.com",
          databaseUrl: "postgres://gate@db.example.com/ingest",
          schema: "public",
        },
        credentials: { signingSecret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=" },
        phase: { name: "canary-10", aliases: [], requests: 500, rate: 100, latencyP95Ms: 50, drainTimeoutMs: 30_000 },
      },
    ]);
    expect(g.promotion).toEqual(["canary-10", "production"]);
    expect(g.mergeQueue).toEqual({ selector: "1k" });
  });

  it("a gate without them guards nothing and is not run by merge queues", () => {
    const g = gate("");
    expect(g.environments).toBeUndefined();
    expect(g.promotion).toBeUndefined();
    expect(g.mergeQueue).toBeUndefined();
    expect(gate("merge_queue: not_required\n").mergeQueue).toEqual({ selector: null });
  });

  it("a wrong requirement, a run with no service to measure, and run-only keys elsewhere are errors at their line", () => {
    expect(errors("environments:\n  production:\n    requires: signed\n")).toEqual([
      'x.yaml:26:15: environments.production.requires: "signed" is not allowed; expected one of signoff, pass, run',
    ]);
    expect(errors("environments:\n  canary:\n    requires: run\n")).toEqual([
      "x.yaml:26:15: environments.canary.requires: requires: run measures the environment's own service, and neither this environment nor the gate names one; expected target: { deployed: { url, database_url } } under environments.canary",
    ]);
    expect(
      errors('environments:\n  production:\n    requires: pass\n    phase: { requests: 10, rate: 10/s, latency_p95: "<= 5ms" }\n'),
    ).toEqual([
      "x.yaml:27:5: environments.production.phase: applies only to requires: run (a run of the gate against the environment); expected no phase with requires: pass",
    ]);
    expect(errors("environments:\n  production:\n    requires: signoff\n    sok: 5min\n")).toEqual([
      'x.yaml:27:5: environments.production.sok: unknown key; expected one of requires, target, credentials, phase, soak (did you mean "soak"?)',
    ]);
  });

  it("promotion stages must be environments of the gate, once each, with no soak on the first", () => {
    const envs = "environments:\n  canary-10: { requires: pass }\n  production: { requires: signoff, soak: 10min }\n";
    expect(errors(`${envs}promotion: [canary-10, prod]\n`)).toEqual([
      'x.yaml:27:24: promotion[1]: "prod" is not an environment of this gate; expected one of canary-10, production',
    ]);
    expect(errors(`${envs}promotion: [canary-10, canary-10]\n`)).toEqual([
      'x.yaml:27:24: promotion[1]: "canary-10" is listed twice; expected each stage once',
    ]);
    expect(errors(`${envs}promotion: [production, canary-10]\n`)).toEqual([
      "x.yaml:27:13: promotion[0]: the first stage, production, has a soak but no stage before it to soak after; expected soak only on later stages",
    ]);
  });

  it("credentials come from the environment: unset is absent, a wrong secret is named but never echoed", () => {
    const run = (secret: string) =>
      `environments:\n  canary:\n    requires: run\n    target: { deployed: { url: "https://c.example.com", database_url: "postgres://db/x" } }\n    credentials:\n      signing_secret: "${secret}"\n`;
    expect(gate(run("${CANARY_SECRET:-}")).environments![0]!.credentials).toEqual({});
    const errs = errors(run("hunter2-not-a-webhook-secret"));
    expect(errs).toEqual([
      expect.stringMatching(/^x\.yaml:29:23: environments\.canary\.credentials\.signing_secret: this is not a Standard Webhooks secret/),
    ]);
    expect(errs.join("")).not.toContain("hunter2");
  });

  it("gates/gate-a.yaml guards the canary (a run) and production (a sign-off), in that order, and runs smoke on merge groups", () => {
    const g = loadGate(new URL("../../../gates/gate-a.yaml", import.meta.url).pathname, {});
    expect(g.environments!.map((e) => [e.name, e.requires, e.soakMs ?? 0])).toEqual([
      ["canary-10", "run", 0],
      ["production", "signoff", 30 * 60_000],
    ]);
    expect(g.promotion).toEqual(["canary-10", "production"]);
    expect(g.mergeQueue).toEqual({ selector: "smoke" });
  });

  it("merge_queue names a phase or not_required", () => {
    expect(errors("merge_queue: 5k\n")).toEqual([
      'x.yaml:24:14: merge_queue: "5k" is not a phase; expected one of smoke, 1k, all (what a merge group runs), or not_required',
    ]);
  });
});
