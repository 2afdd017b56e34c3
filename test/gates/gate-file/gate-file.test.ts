import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVIDENCE_ITEM_IDS } from "../../../src/gates/evidence/items/index.js";
import { SLO_NAMES } from "../../../src/gates/verdict/slos/index.js";
import {
  GateDefinitionError,
  loadGate,
  MAX_GATE_FILE_BYTES,
  parseGate,
  PhaseSelectionError,
  phasesUpTo,
  substituteEnv,
  type GateProblem,
} from "../../../src/gates/gate-file/index.js";

/** A small valid gate; tests break one thing at a time. Line numbers matter: see the comments. */
const BASE = [
  "gate: gate-x", // 1
  'title: "Gate X"', // 2
  "application: app", // 3
  "dri: Agent3", // 4
  "target:", // 5
  "  bundled:", // 6
  '    redis_url: "redis://127.0.0.1:6379"', // 7
  '    database_url: "postgres://postgres@127.0.0.1:5432/postgres"', // 8
  "objectives:", // 9
  '  latency_p95: "<= 120ms"', // 10
  '  acceptance: ">= 99.9%"', // 11
  '  error_rate: "<= 0.10%"', // 12
  '  idempotency_violations: "== 0"', // 13
  '  ordering_violations: "== 0"', // 14
  '  lost_events: "== 0"', // 15
  "phases:", // 16
  "  - name: smoke", // 17
  "    requests: 1k", // 18
  "    rate: 500/s", // 19
  '    latency_p95: "<= 20ms"', // 20
  "corpus:", // 21
  "  seed: x", // 22
  "  ordering_keys: 10", // 23
  "  redelivery_share: 2%", // 24
  "evidence: [replay_logs]", // 25
  "",
].join("\n");

function withLine(line: number, text: string, text2?: string): string {
  const lines = BASE.split("\n");
  lines[line - 1] = text;
  if (text2 !== undefined) lines.splice(line, 0, text2);
  return lines.join("\n");
}

function problems(text: string, env: Record<string, string | undefined> = {}): GateProblem[] {
  try {
    parseGate(text, "x.yaml", env);
  } catch (err) {
    expect(err).toBeInstanceOf(GateDefinitionError);
    expect((err as GateDefinitionError).code).toBe("GATE_INVALID");
    return (err as GateDefinitionError).problems;
  }
  throw new Error("expected the gate to be invalid");
}

function brief(ps: GateProblem[]): string[] {
  return ps.map((p) => `${p.line}:${p.column} ${p.path}`);
}

describe("gates/gate-a.yaml", () => {
  const gate = loadGate("gates/gate-a.yaml", {});

  it("carries the war room's identity, DRI and status owner", () => {
    expect(gate.name).toBe("gate-a");
    expect(gate.title).toBe("Gate A: Production Promotion");
    expect(gate.application).toBe("auto_com_center");
    expect(gate.dri).toBe("Agent3");
    expect(gate.statusOwner).toBe("Agent3");
  });

  it("targets the bundled 202-then-queue service on the local Redis and PostgreSQL by default", () => {
    expect(gate.target).toEqual({
      kind: "bundled",
      mode: "queue",
      workers: 2,
      batchSize: 50,
      batchLingerMs: 5,
      redisUrl: "redis://127.0.0.1:6379",
      databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
    });
  });

  it("takes the Redis and database URLs from the environment when set", () => {
    const g = loadGate("gates/gate-a.yaml", { REDIS_URL: "redis://10.0.0.5:6380", DATABASE_URL: "postgres://gate@db:5432/gates" });
    expect(g.target).toMatchObject({ redisUrl: "redis://10.0.0.5:6380", databaseUrl: "postgres://gate@db:5432/gates" });
  });

  it("demands the six success criteria of the war room", () => {
    expect(gate.slos.map((s) => [s.name, s.comparator, s.bar, s.display])).toEqual([
      ["latency_p95", "<=", 120, "120ms"],
      ["acceptance", ">=", 0.999, "99.9%"],
      ["error_rate", "<=", 0.001, "0.10%"],
      ["idempotency_violations", "==", 0, "0"],
      ["ordering_violations", "==", 0, "0"],
      ["lost_events", "==", 0, "0"],
    ]);
  });

  it("runs smoke 1K, load 5K and final 30K in that order with their own latency bars", () => {
    expect(gate.phases).toEqual([
      { name: "smoke", aliases: ["1k"], requests: 1000, rate: 500, latencyP95Ms: 20, drainTimeoutMs: 10_000 },
      { name: "load", aliases: ["5k"], requests: 5000, rate: 1000, latencyP95Ms: 50, drainTimeoutMs: 20_000 },
      { name: "final", aliases: ["30k"], requests: 30000, rate: 1000, latencyP95Ms: 120, drainTimeoutMs: 30_000 },
    ]);
  });

  it("replays a seeded corpus over 500 ordering keys with 2% redeliveries", () => {
    expect(gate.corpus).toEqual({ seed: "gate-a", orderingKeys: 500, redeliveryShare: 0.02 });
  });

  it("asks for all ten evidence items of the war room", () => {
    expect(gate.evidence).toEqual(EVIDENCE_ITEM_IDS);
    expect(gate.evidence).toHaveLength(10);
  });

  it("needs the DRI's approval, answers to /gate-a from writers, and runs nightly", () => {
    expect(gate.signoff).toEqual({
      approvals: 1,
      approvers: ["Agent3"],
      permission: "write",
      allowSelf: false,
      evidenceBase: "release-gate/evidence",
      unlinkedIdentities: "refuse",
    });
    expect(gate.command).toEqual({ prefix: "/gate-a", permission: "write" });
    expect(gate.schedule).toBe("0 2 * * *");
  });

  it("records the SHA-256 of the file's bytes", () => {
    const sha = createHash("sha256").update(readFileSync("gates/gate-a.yaml")).digest("hex");
    expect(gate.source).toEqual({ file: "gates/gate-a.yaml", sha256: sha });
  });
});

describe("gates/gate-b.yaml", () => {
  it("is a second, stricter gate with its own command, phases and sign-off", () => {
    const b = loadGate("gates/gate-b.yaml", {});
    expect(b.name).toBe("gate-b");
    expect(b.command.prefix).toBe("/gate-b");
    expect(b.phases.map((p) => [p.name, p.requests, p.rate, p.latencyP95Ms])).toEqual([
      ["smoke", 500, 250, 15],
      ["canary", 2000, 500, 40],
    ]);
    expect(b.slos.find((s) => s.name === "acceptance")!.bar).toBe(0.9999);
    expect(b.signoff).toEqual({
      approvals: 2,
      approvers: ["@auto-com/release-captains"],
      permission: "admin",
      allowSelf: false,
      evidenceBase: "release-gate/evidence",
      unlinkedIdentities: "refuse",
    });
    expect(b.schedule).toBeUndefined();
    expect(phasesUpTo(b, "2k").map((p) => p.name)).toEqual(["smoke", "canary"]);
  });
});

describe("a valid gate", () => {
  it("fills the documented defaults for what it leaves out", () => {
    const g = parseGate(BASE, "x.yaml", {});
    expect(g.target).toMatchObject({ mode: "queue", workers: 2, batchSize: 50, batchLingerMs: 5 });
    expect(g.statusOwner).toBe("Agent3");
    expect(g.phases[0]).toMatchObject({ aliases: [], drainTimeoutMs: 30_000 });
    expect(g.signoff).toEqual({
      approvals: 1,
      approvers: [],
      permission: "write",
      allowSelf: false,
      evidenceBase: "release-gate/evidence",
      unlinkedIdentities: "refuse",
    });
    expect(g.command).toEqual({ prefix: "/gate-x", permission: "write" });
  });

  it("may target an already deployed service by URL with its database and schema", () => {
    const text = BASE.replace(
      '  bundled:\n    redis_url: "redis://127.0.0.1:6379"\n',
      '  deployed:\n    url: "https://ingest.example.com"\n    schema: ingest\n',
    );
    expect(parseGate(text, "x.yaml", {}).target).toEqual({
      kind: "deployed",
      url: "https://ingest.example.com",
      databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
      schema: "ingest",
    });
  });
});

describe("schema errors name the file, line and column", () => {
  it("an unknown key says which keys are allowed and suggests the nearest", () => {
    const ps = problems(withLine(7, "    worker: 2", '    redis_url: "redis://127.0.0.1:6379"'));
    expect(brief(ps)).toEqual(["7:5 target.bundled.worker"]);
    expect(ps[0]!.message).toBe(
      'unknown key; expected one of redis_url, database_url, mode, workers, batch_size, batch_linger, source, build, source_limits (did you mean "workers"?)',
    );
  });

  it("a wrong type says what was found and what was expected", () => {
    const ps = problems(withLine(18, "    requests: [1000]"));
    expect(brief(ps)).toEqual(["18:15 phases[0].requests"]);
    expect(ps[0]!.message).toBe("found a list; expected a single value");
    const ps2 = problems(BASE.replace(/target:\n {2}bundled:\n.*\n.*\n/, "target: queue\n"));
    expect(ps2.map((p) => `${p.line}:${p.column} ${p.message}`)[0]).toBe(
      '5:9 the target is the text "queue"; expected a mapping with keys bundled, deployed',
    );
  });

  it("a negative P95 bar is impossible", () => {
    const ps = problems(withLine(20, '    latency_p95: "<= -3ms"'));
    expect(brief(ps)).toEqual(["20:18 phases[0].latency_p95"]);
    expect(ps[0]!.message).toMatch(/"-3ms" is negative/);
  });

  it("a zero P95 bar can never be met", () => {
    expect(problems(withLine(10, '  latency_p95: "<= 0ms"'))[0]!.message).toMatch(/a P95 bar of 0ms can never be met/);
  });

  it("a share over 100% is impossible", () => {
    const ps = problems(withLine(11, '  acceptance: ">= 150%"'));
    expect(brief(ps)).toEqual(["11:15 objectives.acceptance"]);
    expect(ps[0]!.message).toMatch(/"150%" is over 100%/);
  });

  it("zero or negative rates and requests are impossible", () => {
    const ps = problems(withLine(18, "    requests: 0", "    rate: -5/s").replace("    rate: 500/s\n", ""));
    expect(brief(ps)).toEqual(["18:15 phases[0].requests", "19:11 phases[0].rate"]);
    expect(ps[0]!.message).toMatch(/too small; expected at least 1/);
    expect(ps[1]!.message).toMatch(/is not more than 0/);
  });

  it("a phase too small to bound its P95 is refused: it could never PASS", () => {
    const ps = problems(withLine(18, "    requests: 50"));
    expect(brief(ps)).toEqual(["18:15 phases[0].requests"]);
    expect(ps[0]!.message).toBe(
      "50 requests can never PASS latency_p95: under 72 samples there is no 95% upper bound on P95; expected at least 200",
    );
  });

  it("a phase too small for the windowed interval (under 200 requests) is refused too: it could never PASS", () => {
    const ps = problems(withLine(18, "    requests: 199"));
    expect(brief(ps)).toEqual(["18:15 phases[0].requests"]);
    expect(ps[0]!.message).toBe(
      "199 requests can never PASS latency_p95: under 200 samples there is no windowed interval on P95 (10 windows of 20); expected at least 200",
    );
    expect(parseGate(withLine(18, "    requests: 200"), "x.yaml", {}).phases[0]!.requests).toBe(200);
  });

  it("partial_runs takes PARTIAL or PASS, and nothing else", () => {
    expect(parseGate(BASE + "partial_runs: PASS\n", "x.yaml", {}).partialRuns).toBe("PASS");
    expect(parseGate(BASE + "partial_runs: PARTIAL\n", "x.yaml", {}).partialRuns).toBe("PARTIAL");
    expect(parseGate(BASE, "x.yaml", {}).partialRuns).toBeUndefined();
    const ps = problems(BASE + "partial_runs: yes\n");
    expect(ps[0]!.path).toBe("partial_runs");
    expect(ps[0]!.message).toMatch(/^"yes" is not allowed; expected one of PARTIAL, PASS/);
  });

  it("a unit written apart from its number is refused with the fix", () => {
    const ps = problems(withLine(20, '    latency_p95: "<= 20 ms"'));
    expect(ps[0]!.message).toBe('"20 ms" contains spaces; expected "20ms"');
  });

  it("a comparator that points the wrong way is refused", () => {
    const ps = problems(withLine(10, '  latency_p95: ">= 120ms"'));
    expect(ps[0]!.message).toBe('latency_p95 cannot be held to ">="; expected "<= 120ms"');
    expect(problems(withLine(13, "  idempotency_violations: 0"))[0]!.message).toMatch(/0 is not a comparison/);
  });

  it("an objective left out is simply not stated; the others keep the catalogue's order", () => {
    const gate = parseGate(BASE.replace('  ordering_violations: "== 0"\n', ""), "x.yaml", {});
    expect(gate.slos.map((s) => s.name)).toEqual(["latency_p95", "acceptance", "error_rate", "idempotency_violations", "lost_events"]);
    const reordered = parseGate(
      withLine(10, '  lost_events: "<= 2"', '  latency_p95: "<= 120ms"').replace('  lost_events: "== 0"\n', ""),
      "x.yaml",
      {},
    );
    expect(reordered.slos.map((s) => s.name)).toEqual([
      "latency_p95",
      "acceptance",
      "error_rate",
      "idempotency_violations",
      "ordering_violations",
      "lost_events",
    ]);
    expect(reordered.slos.at(-1)).toEqual({ name: "lost_events", comparator: "<=", bar: 2, display: "2" });
  });

  it("an objective the catalogue does not know is refused with the nearest name", () => {
    const ps = problems(withLine(14, '  ordering_violation: "== 0"'));
    expect(brief(ps)).toEqual(["14:3 objectives.ordering_violation"]);
    // The list is the catalogue's, in its order: a new SLO appears here without a change to this test.
    expect(ps[0]!.message).toBe(`unknown key; expected one of ${SLO_NAMES.join(", ")} (did you mean "ordering_violations"?)`);
  });

  it("a missing required key is reported at the mapping that lacks it", () => {
    const ps = problems(withLine(19, "    aliases: [1k]"));
    expect(brief(ps)).toEqual(["17:5 phases[0].rate"]);
    expect(ps[0]!.message).toBe('missing required key "rate"; expected it in a phase');
    const top = problems(BASE.replace("dri: Agent3\n", ""));
    expect(brief(top)).toEqual(["1:1 dri"]);
  });

  it("duplicate phase names and aliases, and the reserved word all, are refused", () => {
    const text = BASE.replace(
      "corpus:",
      [
        "  - name: smoke",
        "    requests: 1k",
        "    rate: 1k/s",
        '    latency_p95: "<= 50ms"',
        "  - name: final",
        "    aliases: [all]",
        "    requests: 1k",
        "    rate: 1k/s",
        '    latency_p95: "<= 50ms"',
        "corpus:",
      ].join("\n"),
    );
    const ps = problems(text);
    expect(brief(ps)).toEqual(["21:11 phases[1].name", "26:15 phases[2].aliases[0]"]);
    expect(ps[0]!.message).toBe('"smoke" already selects phases[0]; expected names and aliases unique across phases');
    expect(ps[1]!.message).toMatch(/"all" is reserved/);
  });

  it("a duplicate key is reported where it repeats", () => {
    const ps = problems(withLine(19, "    rate: 500/s", "    rate: 600/s"));
    expect(brief(ps)).toEqual(["20:5 "]);
    expect(ps[0]!.message).toMatch(/this key appears twice/);
  });

  it("a YAML syntax error is reported at its position", () => {
    const ps = problems(withLine(3, "application: app: auto"));
    expect(ps).toHaveLength(1);
    expect(brief(ps)).toEqual(["3:14 "]);
    expect(ps[0]!.message).toBe("YAML syntax: Nested mappings are not allowed in compact mappings");
    expect(brief(problems(withLine(2, '\ttitle: "Gate X"')))).toEqual(["2:1 "]);
  });

  it("an unquoted >= comparison gets the quoting hint", () => {
    const ps = problems(withLine(11, "  acceptance: >= 99.9%"));
    expect(ps[0]!.line).toBe(11);
    expect(ps[0]!.column).toBe(16); // where YAML noticed the characters after ">"
    expect(ps[0]!.message).toMatch(/expected a quoted comparison such as ">= 99.9%"/);
  });

  it("an unset ${VAR} with no default is an error at the value that uses it", () => {
    const ps = problems(withLine(7, '    redis_url: "${GATE_TEST_REDIS}"') + "env: [GATE_TEST_REDIS]\n");
    expect(brief(ps)).toEqual(["7:16 target.bundled.redis_url"]);
    expect(ps[0]!.message).toBe(
      "environment variable GATE_TEST_REDIS is not set and has no default; set GATE_TEST_REDIS, or write ${GATE_TEST_REDIS:-default}",
    );
  });

  it("every problem is collected, sorted, and listed in the error message", () => {
    const text = BASE.replace("gate: gate-x", "gate: Gate X")
      .replace('  acceptance: ">= 99.9%"', '  acceptance: ">= 150%"')
      .replace("  seed: x", "  sed: x")
      .replace("evidence: [replay_logs]", "evidence: [replay_log]");
    let err: GateDefinitionError | undefined;
    try {
      parseGate(text, "gates/x.yaml", {});
    } catch (e) {
      err = e as GateDefinitionError;
    }
    expect(brief(err!.problems)).toEqual([
      "1:7 gate",
      "11:15 objectives.acceptance",
      "21:1 corpus.seed",
      "22:3 corpus.sed",
      "25:12 evidence[0]",
    ]);
    const lines = err!.message.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe(
      'gates/x.yaml:21:1: corpus.seed: missing required key "seed"; expected it in the corpus, or "file:" for a recorded corpus',
    );
    expect(lines[0]).toBe('gates/x.yaml:1:7: gate: "Gate X" is not valid; expected a lowercase name such as gate-a');
    expect(lines[3]).toMatch(/^gates\/x\.yaml:22:3: corpus\.sed: unknown key; .*did you mean "seed"\?/);
  });
});

describe("environment substitution", () => {
  it("uses the default when the variable is unset or empty, and the value when set", () => {
    expect(substituteEnv("${A:-x}", {})).toEqual({ value: "x" });
    expect(substituteEnv("${A:-x}", { A: "" })).toEqual({ value: "x" });
    expect(substituteEnv("${A:-x}/${B}", { A: "a", B: "b" })).toEqual({ value: "a/b" });
  });

  it("keeps $${ as a literal and refuses malformed references", () => {
    expect(substituteEnv("$${A}", {})).toEqual({ value: "${A}" });
    expect(substituteEnv("${A", {})).toEqual({ errors: [expect.stringMatching(/no closing "}"/)] });
    expect(substituteEnv("${1A}", {})).toEqual({ errors: [expect.stringMatching(/is not a variable reference/)] });
  });

  it("never lets a variable's value be read as YAML", () => {
    // The value stays one string of the one field: it is judged as a URL, and no key "gate" appears.
    const ps = problems(withLine(7, '    redis_url: "${R}"') + "env: [R]\n", { R: "redis://h:6379\ngate: evil" });
    expect(brief(ps)).toEqual(["7:16 target.bundled.redis_url"]);
    expect(ps[0]!.message).toMatch(/is not a URL/);
  });

  it("reads only the variables the file's env: allow-list names, and only in URL and credential fields", () => {
    const unlisted = problems(withLine(7, '    redis_url: "${HOME}"'), { HOME: "/root" });
    expect(brief(unlisted)).toEqual(["7:16 target.bundled.redis_url"]);
    expect(unlisted[0]!.message).toBe(
      "${HOME} is not in the gate file's env: allow-list; add HOME to env: (a list of variable names at the top level) or write the value itself",
    );
    const outside = problems(withLine(3, 'application: "${APP}"') + "env: [APP]\n", { APP: "x" });
    expect(brief(outside)).toEqual(["3:14 application"]);
    expect(outside[0]!.message).toMatch(/^\$\{APP\} is allowed only in URL, schema and credential fields/);
    expect(brief(problems(BASE + "env: [REDIS_URL, 1bad]\n"))).toEqual([expect.stringMatching(/ env\[1\]$/)]);
  });
});

describe("hostile input", () => {
  it("a file over the size cap is refused before parsing", () => {
    const huge = BASE + "#".repeat(MAX_GATE_FILE_BYTES);
    const ps = problems(huge);
    expect(ps).toHaveLength(1);
    expect(ps[0]!.message).toMatch(/expected a gate file of at most 262144 bytes/);
  });

  it("an alias bomb is never expanded: only the aliases a gate field reads are followed", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]",
      "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]",
      "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]",
    ].join("\n");
    const text = BASE.replace("evidence: [replay_logs]", `${bomb}\nevidence: *i`);
    const started = Date.now();
    const ps = problems(text);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(ps.find((p) => p.path === "a")!.message).toMatch(/^unknown key/);
    expect(ps.find((p) => p.path === "evidence[0]")!.message).toBe("found a list; expected a single value");
  });

  it("more than 100 alias references are refused", () => {
    const refs = Array.from({ length: 101 }, () => "*e").join(", ");
    const text = BASE.replace(
      "evidence: [replay_logs]",
      `x: &e replay_logs
evidence: [${refs}]`,
    );
    const ps = problems(text);
    expect(ps.filter((p) => /more than 100 alias references/.test(p.message))).toHaveLength(1);
  });

  it("aliases within reason are followed", () => {
    const text = BASE.replace("    rate: 500/s", "    rate: &r 500/s").replace(
      "corpus:",
      ["  - name: load", "    requests: 2k", "    rate: *r", '    latency_p95: "<= 50ms"', "corpus:"].join("\n"),
    );
    expect(parseGate(text, "x.yaml", {}).phases.map((p) => p.rate)).toEqual([500, 500]);
  });

  it("a top level that is not a mapping is refused", () => {
    expect(problems("- gate: x\n")[0]!.message).toMatch(/^the gate file is a list; expected a mapping with keys gate, title/);
    expect(problems("just text\n")[0]!.message).toMatch(/^the gate file is the text "just text"; expected a mapping/);
    expect(problems("")[0]!.message).toMatch(/^the file is empty; expected a gate/);
    expect(problems("# only a comment\n")[0]!.message).toMatch(/^the file is empty/);
  });

  it("a second YAML document in the file is an error", () => {
    const ps = problems(BASE + "---\ngate: other\n");
    expect(ps[0]!.line).toBe(26);
    expect(ps[0]!.message).toMatch(/multiple documents/);
  });
});

describe("other rules", () => {
  it("the target is bundled or deployed, never both", () => {
    const text = BASE.replace(
      "objectives:",
      '  deployed:\n    url: "https://x.example.com"\n    database_url: "postgres://db/x"\nobjectives:',
    );
    const ps = problems(text);
    expect(brief(ps)).toEqual(["9:3 target"]);
    expect(ps[0]!.message).toBe("both bundled and deployed are set; expected exactly one of them");
  });

  it("a database URL must be PostgreSQL", () => {
    const ps = problems(withLine(8, '    database_url: "mysql://db/x"'));
    expect(ps[0]!.message).toMatch(/"mysql:\/\/" is the wrong kind of URL; expected a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it("more approvals than approvers can never be met", () => {
    const ps = problems(BASE + "signoff:\n  approvals: 2\n  approvers: [Agent3]\n");
    expect(brief(ps)).toEqual(["27:14 signoff.approvals"]);
  });

  it("a sign-off policy of zero approvals is refused: a GO needs a person", () => {
    const ps = problems(BASE + "signoff:\n  approvals: 0\n");
    expect(brief(ps)).toEqual(["27:14 signoff.approvals"]);
  });

  it("allow_self is true or false, and evidence_base a branch name", () => {
    expect(brief(problems(BASE + "signoff:\n  allow_self: sometimes\n"))).toEqual(["27:15 signoff.allow_self"]);
    expect(brief(problems(BASE + 'signoff:\n  evidence_base: "../main"\n'))).toEqual(["27:18 signoff.evidence_base"]);
    expect(parseGate(BASE + "signoff:\n  allow_self: true\n  evidence_base: gates/evidence\n", "gates/x.yaml", {}).signoff).toMatchObject({
      allowSelf: true,
      evidenceBase: "gates/evidence",
    });
  });

  it("unlinked_identities is refuse (the default) or allow, and a wrong word says both", () => {
    const ps = problems(BASE + "signoff:\n  unlinked_identities: maybe\n");
    expect(brief(ps)).toEqual(["27:24 signoff.unlinked_identities"]);
    expect(ps[0]!.message).toContain('"maybe" is not one of refuse, allow');
    expect(parseGate(BASE + "signoff:\n  unlinked_identities: allow\n", "x.yaml", {}).signoff.unlinkedIdentities).toBe("allow");
  });

  it("a schedule must be a five-field cron in range", () => {
    expect(problems(BASE + 'schedule: "0 25 * * *"')[0]!.message).toMatch(/the hour field "25" is not valid/);
    expect(problems(BASE + 'schedule: "@daily"')[0]!.message).toMatch(/has 1 fields; expected five cron fields/);
  });

  it("a recorded corpus file must exist next to the gate file, and excludes the generator's keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-def-"));
    try {
      const withFile = BASE.replace("  seed: x\n  ordering_keys: 10\n  redelivery_share: 2%\n", "  file: corpus.ndjson\n");
      writeFileSync(join(dir, "g.yaml"), withFile);
      expect(() => loadGate(join(dir, "g.yaml"), {})).toThrow(/corpus\.file: "corpus\.ndjson" does not exist/);
      writeFileSync(join(dir, "corpus.ndjson"), "{}\n");
      expect(loadGate(join(dir, "g.yaml"), {}).corpus).toEqual({ seed: "", orderingKeys: 0, redeliveryShare: 0, file: "corpus.ndjson" });
      const both = BASE.replace("  seed: x\n", "  seed: x\n  file: corpus.ndjson\n");
      expect(problems(both)[0]!.message).toMatch(/applies only to the generated corpus/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unreadable gate file is an error naming it", () => {
    expect(() => loadGate("gates/no-such-gate.yaml", {})).toThrow("gates/no-such-gate.yaml: cannot read the gate file (no such file)");
  });
});

describe("phase selection", () => {
  const gate = loadGate("gates/gate-a.yaml", {});

  it("a phase runs with every phase before it", () => {
    expect(phasesUpTo(gate, "smoke").map((p) => p.name)).toEqual(["smoke"]);
    expect(phasesUpTo(gate, "5k").map((p) => p.name)).toEqual(["smoke", "load"]);
    expect(phasesUpTo(gate, "FINAL").map((p) => p.name)).toEqual(["smoke", "load", "final"]);
    expect(phasesUpTo(gate, "all")).toHaveLength(3);
  });

  it("an unknown selector lists the valid choices", () => {
    expect(() => phasesUpTo(gate, "2k")).toThrow(PhaseSelectionError);
    expect(() => phasesUpTo(gate, "2k")).toThrow(
      'unknown phase "2k" for gate gate-a; expected one of smoke (1k), load (5k), final (30k), all',
    );
  });
});

describe("which code is gated, and who may run it", () => {
  test("source and build are read when stated and left unset otherwise (the caller picks the default)", () => {
    const unset = parseGate(BASE, "x.yaml", {});
    expect(unset.target).not.toHaveProperty("source");
    expect(unset.target).not.toHaveProperty("build");
    expect(unset.command).toEqual({ prefix: "/gate-x", permission: "write" });
    const stated = parseGate(
      withLine(7, "    source: installed", '    redis_url: "redis://127.0.0.1:6379"').replace(
        "evidence: [replay_logs]",
        "evidence: [replay_logs]\ncommands:\n  allow_forks: true",
      ),
      "x.yaml",
      {},
    );
    expect(stated.target).toMatchObject({ kind: "bundled", source: "installed" });
    expect(stated.command.allowForks).toBe(true);
    const built = parseGate(
      withLine(7, '    build: "npm ci && npm run build:service"', '    redis_url: "redis://127.0.0.1:6379"'),
      "x.yaml",
      {},
    );
    expect(built.target).toMatchObject({ build: "npm ci && npm run build:service" });
  });

  test("a wrong source or a non-boolean allow_forks names the line and what is allowed", () => {
    const ps = problems(withLine(7, "    source: head", '    redis_url: "redis://127.0.0.1:6379"'));
    expect(brief(ps)).toEqual(["7:13 target.bundled.source"]);
    expect(ps[0]!.message).toBe('"head" is not allowed; expected one of commit, installed');
    const forks = problems(`${BASE}commands:\n  allow_forks: "yes please"\n`);
    expect(brief(forks)).toEqual(["27:16 commands.allow_forks"]);
    expect(forks[0]!.message).toBe('"yes please" is not true or false; expected true or false');
  });
});
