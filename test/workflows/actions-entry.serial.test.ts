// `gate ci`, the GitHub Actions entry point, run as a workflow step runs it: the built CLI as a child
// process with the environment and event payload files Actions provides, against the real local Redis and
// PostgreSQL and the fake GitHub, which must end up with the evidence PR.

import { jest } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { loadGate } from "../../src/gates/gate-file/index.js";
import { phaseSelector } from "../../src/cli/actions-command.js";
import { verdictIcon } from "../../src/gates/verdict/verdict-meaning.js";
import type { Verdict } from "../../src/gates/model/gate-run-record.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { bundleOnBranch, sha256sumCheck } from "../bot/support/evidence-checks.js";
import { untilVerdict } from "../support/until-verdict.js";

jest.setTimeout(60_000);

const root = fileURLToPath(new URL("../../", import.meta.url));
const GATE_BIN = join(root, "bin", "gate.js");
const FIXTURES = join(root, "test", "bot", "fixtures", "gates");
const GATE_A = join(FIXTURES, "gate-a.yaml");
const GATE_F = join(FIXTURES, "gate-f.yaml");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "gate-ci-"));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function fakeGitHub(): Promise<FakeGitHub> {
  const fake = await startFakeGitHub({ permissions: { "dri-alice": "write" } });
  cleanups.push(() => fake.close());
  return fake;
}

interface Step {
  dir: string;
  out: string;
  outputFile: string;
  summaryFile: string;
  env: Record<string, string>;
}

/** The files and variables GitHub Actions gives a step, for one event. */
function actionsStep(fake: FakeGitHub, event: string, payload: unknown, sha: string): Step {
  const dir = tempDir();
  const eventPath = join(dir, "event.json");
  writeFileSync(eventPath, JSON.stringify(payload));
  const outputFile = join(dir, "github_output");
  const summaryFile = join(dir, "step_summary.md");
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  return {
    dir,
    out: join(dir, "evidence", "bundle"),
    outputFile,
    summaryFile,
    env: {
      GITHUB_EVENT_NAME: event,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: `${fake.owner}/${fake.repo}`,
      GITHUB_TOKEN: "ghs_workflowtoken",
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_SHA: sha,
      GITHUB_SERVER_URL: "https://github.example",
      GITHUB_RUN_ID: "4242",
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
    },
  };
}

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gate ci` without blocking this process, which serves the fake GitHub it talks to. */
function gateCi(args: string[], env: Record<string, string>, cwd = root): Promise<Exit> {
  const child = spawn(process.execPath, [GATE_BIN, "ci", ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 45_000,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

function outputs(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function bundleVerdict(step: Step): { verdict: Verdict; reason: string; run_id: string; commit: string; phases: { name: string }[] } {
  return JSON.parse(readFileSync(join(step.out, "verdict.json"), "utf8"));
}

/**
 * A real run, as a workflow step. On this shared 2-core machine the replay driver sometimes falls behind
 * its schedule and the gate (rightly) cannot tell: INCONCLUSIVE. Such a run is done again, each time
 * against a fresh fake GitHub, up to three times, so the test is about `gate ci` and not the machine's
 * load; but only the `expected` verdict passes (untilVerdict), and the tries it took are reported.
 */
async function measuredCi(
  expected: Verdict,
  gateFile: string,
  event: string,
  payload: unknown,
  args: string[] = [],
  prepare: (fake: FakeGitHub) => void = () => {},
): Promise<{ fake: FakeGitHub; step: Step; exit: Exit; sha: string; tries: number }> {
  const { result, tries } = await untilVerdict(
    expected,
    3,
    async () => {
      const fake = await fakeGitHub();
      prepare(fake);
      const sha = fake.state.refs.get("refs/heads/main")!;
      const step = actionsStep(fake, event, payload, sha);
      const exit = await gateCi([gateFile, "--out", step.out, ...args], step.env);
      if (!existsSync(join(step.out, "verdict.json"))) throw new Error(`gate ci wrote no bundle (exit ${exit.status}):\n${exit.stderr}`);
      return { fake, step, exit, sha, ...bundleVerdict(step) };
    },
    { discard: (r) => r.fake.close() },
  );
  const { fake, step, exit, sha } = result;
  return { fake, step, exit, sha, tries };
}

/** The one evidence PR the run opened, with its bundle as committed. */
function evidenceOf(fake: FakeGitHub, runId: string) {
  expect(fake.count("pulls.create")).toBe(1);
  const number = [...fake.state.pulls.keys()][0]!;
  const pr = fake.pullRequestJson(number);
  return { pr, files: bundleOnBranch(fake, pr.head.ref, runId) };
}

describe("gate ci, as a workflow_dispatch step", () => {
  test("runs up to the dispatched phase, opens the evidence PR in one commit, comments, and reports to the workflow", async () => {
    // --phase is what the workflow passes for events without a choice; the person's dispatch input wins.
    const { fake, step, exit, sha } = await measuredCi(
      "PASS",
      GATE_A,
      "workflow_dispatch",
      { inputs: { phase: "smoke" }, ref: "refs/heads/main" },
      ["--phase", "load"],
    );
    const verdict = bundleVerdict(step);
    const v = verdict.verdict;
    // A PASS (the fixture gate takes a partial run as PASS) within three tries.
    expect(exit.status).toBe(v === "PASS" ? 0 : 2);
    expect(verdict.phases.map((p) => p.name)).toEqual(["smoke"]);
    expect(verdict.commit).toBe(sha);

    // The evidence PR, in ONE commit whose tree holds the bundle exactly as written, manifest included.
    const { pr, files } = evidenceOf(fake, verdict.run_id);
    expect(pr.head.ref).toBe(`gate-a/evidence/${verdict.run_id}`);
    expect(pr.title).toMatch(new RegExp(`^Gate A ${v}: 1K replay evidence, \\d{4}-\\d{2}-\\d{2}$`));
    // Plus the one commit that starts the evidence base (release-gate/evidence, never the default branch).
    expect(pr.base.ref).toBe("release-gate/evidence");
    expect(fake.count("git.createCommit")).toBe(2);
    expect(files.get("SHA256SUMS")?.toString()).toBe(readFileSync(join(step.out, "SHA256SUMS"), "utf8"));
    expect(sha256sumCheck(files)).not.toMatch(/FAILED/);
    expect(exit.stdout).toContain(`Gate A ${v}: evidence PR ${pr.html_url}`);

    // The war-room comment on the evidence PR; a check run on the commit under test, never the promotion status.
    const comments = [...fake.state.comments.values()].filter((c) => c.issueNumber === pr.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`<!-- release-gate:war-room run=${verdict.run_id} -->`);
    expect(comments[0]!.body).toContain(`Gate A ${v} on ${sha.slice(0, 7)}`);
    expect(comments[0]!.body).toContain("MILESTONE:");
    expect([...fake.state.checkRuns.values()].map((c) => [c.name, c.headSha, c.conclusion])).toEqual([
      ["Gate A (gate publish)", sha, v === "PASS" ? "success" : "failure"],
    ]);
    expect(fake.state.statuses).toEqual([]);

    // The step's outputs and job summary.
    expect(outputs(step.outputFile)).toEqual({ verdict: v, run_id: verdict.run_id, bundle: step.out, evidence_pr: pr.html_url });
    const summary = readFileSync(step.summaryFile, "utf8");
    expect(summary).toContain(`## ${verdictIcon(v)} Gate A: ${v}`);
    expect(summary).toContain(`Evidence PR: ${pr.html_url}`);
    expect(summary).toContain("Workflow run: https://github.example/acme/service/actions/runs/4242");
    expect(summary).toContain(`**Gate verdict: ${verdictIcon(v)} ${v}**`);
    expect(summary).toContain("| Phase | Requests | Rate | Verdict | Reason |");
    expect(summary).toMatch(/\| smoke \| 200 \|/);
  });

  test("a dispatched phase the gate does not have exits 2 naming the valid choices, before anything runs", async () => {
    const fake = await fakeGitHub();
    const step = actionsStep(fake, "workflow_dispatch", { inputs: { phase: "final" } }, "a".repeat(40));
    const exit = await gateCi([GATE_A, "--out", step.out], step.env);
    expect(exit.status).toBe(2);
    expect(exit.stderr).toContain('unknown phase "final" for gate gate-a; expected one of smoke (1k), load (5k), all');
    expect(exit.stderr).toContain('the workflow_dispatch input "phase"');
    expect(existsSync(step.out)).toBe(false);
    expect(readFileSync(step.outputFile, "utf8")).toBe("");
    expect(fake.mutations).toHaveLength(0);
  });
});

describe("gate ci, as a scheduled step", () => {
  test("a FAIL exits 1 and still writes and publishes the evidence, with a red check run", async () => {
    const { fake, step, exit, sha } = await measuredCi("FAIL", GATE_F, "schedule", { schedule: "0 2 * * *" });
    const verdict = bundleVerdict(step);
    const v = verdict.verdict;
    expect(exit.status).toBe(v === "FAIL" ? 1 : 2);
    // A schedule runs every phase of the gate (Gate F has one).
    expect(verdict.phases.map((p) => p.name)).toEqual(["smoke"]);

    const { pr, files } = evidenceOf(fake, verdict.run_id);
    expect(pr.title).toMatch(new RegExp(`^Gate F ${v}: 1K replay evidence, `));
    expect(fake.count("git.createCommit")).toBe(2);
    expect(files.has("SHA256SUMS")).toBe(true);
    expect(sha256sumCheck(files)).not.toMatch(/FAILED/);
    const comments = [...fake.state.comments.values()].filter((c) => c.issueNumber === pr.number);
    expect(comments.map((c) => c.body.includes(`Gate F ${v} on ${sha.slice(0, 7)}`))).toEqual([true]);
    expect([...fake.state.checkRuns.values()].map((c) => c.conclusion)).toEqual(["failure"]);
    expect(fake.state.statuses).toEqual([]);

    expect(outputs(step.outputFile)).toMatchObject({ verdict: v, evidence_pr: pr.html_url });
    expect(readFileSync(step.summaryFile, "utf8")).toContain(`Gate F: ${v}`);
  });
});

describe("gate ci refuses what it cannot run", () => {
  test("GitHub refusing the evidence PR fails the step with what to fix, after the evidence is written", async () => {
    const refusal = { status: 403, body: { message: "GitHub Actions is not permitted to create or approve pull requests." } };
    const { fake, step, exit } = await measuredCi("PASS", GATE_A, "workflow_dispatch", { inputs: { phase: "smoke" } }, [], (f) =>
      f.failNext("pulls.create", refusal),
    );
    const verdict = bundleVerdict(step);
    expect(exit.status).toBe(2);
    expect(exit.stderr).toContain("GitHub Actions is not permitted to create or approve pull requests");
    expect(exit.stderr).toContain("allow GitHub Actions to create pull requests");
    expect(exit.stderr).toContain(`\`gate publish ${step.out}\` publishes it again`);
    expect(fake.pendingFaults()).toBe(0);
    expect(fake.count("pulls.create")).toBe(0);
    // The verdict still reaches the workflow; there is no evidence PR to link.
    expect(outputs(step.outputFile)).toEqual({ verdict: verdict.verdict, run_id: verdict.run_id, bundle: step.out });
    expect(readFileSync(step.summaryFile, "utf8")).toContain("Evidence PR: not opened (could not publish to");
  });

  test("a schedule that fired on another cron than the gate file's is pointed out; unreachable services exit 2", async () => {
    const fake = await fakeGitHub();
    const step = actionsStep(fake, "schedule", { schedule: "0 3 * * *" }, "a".repeat(40));
    const gateFile = join(step.dir, "gate-a.yaml");
    writeFileSync(gateFile, `${readFileSync(GATE_A, "utf8")}\nschedule: "0 2 * * *"\n`);
    // Nothing listens on port 1 of this machine: the services check fails before any deployment.
    const exit = await gateCi([gateFile, "--out", step.out], { ...step.env, REDIS_URL: "redis://127.0.0.1:1" });
    expect(exit.stderr).toContain('the workflow fired on cron "0 3 * * *" but');
    expect(exit.stderr).toContain('says schedule: "0 2 * * *"');
    expect(exit.status).toBe(2);
    expect(exit.stderr).toContain("127.0.0.1:1");
    expect(existsSync(step.out)).toBe(false);
    expect(fake.mutations).toHaveLength(0);
  });

  test("an event other than schedule or workflow_dispatch exits 2 and says which events it runs on", async () => {
    const fake = await fakeGitHub();
    const step = actionsStep(fake, "push", { ref: "refs/heads/main" }, "a".repeat(40));
    const exit = await gateCi([GATE_A, "--out", step.out], step.env);
    expect(exit.status).toBe(2);
    expect(exit.stderr).toContain('GITHUB_EVENT_NAME is "push"; `gate ci` runs on schedule and workflow_dispatch only');
    expect(existsSync(step.out)).toBe(false);
    expect(fake.mutations).toHaveLength(0);
  });

  test("missing publishing settings exit 2 before the gate runs, naming each one", async () => {
    const fake = await fakeGitHub();
    const step = actionsStep(fake, "schedule", { schedule: "0 2 * * *" }, "a".repeat(40));
    const { GITHUB_TOKEN: _token, GITHUB_REPOSITORY: _repo, ...env } = step.env;
    const exit = await gateCi([GATE_A, "--out", step.out], env);
    expect(exit.status).toBe(2);
    expect(exit.stderr).toContain("GITHUB_TOKEN is not set");
    expect(exit.stderr).toContain("GITHUB_REPOSITORY must be owner/repo");
    expect(existsSync(step.out)).toBe(false);
  });

  test("--help lists its flags and the environment it reads", async () => {
    const exit = await gateCi(["--help"], {});
    expect(exit.status).toBe(0);
    expect(exit.stdout).toMatch(/^Usage: gate ci GATE_FILE/);
    for (const word of [
      "--out",
      "--phase",
      "GITHUB_EVENT_NAME",
      "GITHUB_EVENT_PATH",
      "GITHUB_SHA",
      "GITHUB_REPOSITORY",
      "GITHUB_TOKEN",
      "GITHUB_API_URL",
      "GITHUB_RUN_ID",
      "GITHUB_OUTPUT",
      "GITHUB_STEP_SUMMARY",
    ]) {
      expect(exit.stdout).toContain(word);
    }
  });
});

describe("which phases an event runs", () => {
  test("a dispatch runs up to its phase input, which wins over --phase", () => {
    expect(phaseSelector("workflow_dispatch", { inputs: { phase: "load" } }, "smoke")).toBe("load");
  });

  test("a schedule, or a dispatch without the input, runs --phase, else every phase", () => {
    expect(phaseSelector("schedule", { schedule: "0 2 * * *" }, undefined)).toBe("all");
    expect(phaseSelector("schedule", { schedule: "0 2 * * *" }, "smoke")).toBe("smoke");
    expect(phaseSelector("workflow_dispatch", { inputs: {} }, undefined)).toBe("all");
  });

  test("a phase input that is not text is refused", () => {
    expect(phaseSelector("workflow_dispatch", { inputs: { phase: 5 } }, undefined)).toEqual({
      code: "event_payload",
      message: 'the workflow_dispatch input "phase" is 5; expected a phase name or "all"',
    });
  });
});

describe("the gate file drives the Gate A workflow", () => {
  const wf = YAML.parse(readFileSync(join(root, ".github", "workflows", "gate-a.yml"), "utf8"));
  const gate = loadGate(join(root, "gates", "gate-a.yaml"));

  test("the workflow's cron is the gate file's schedule", () => {
    expect(gate.schedule).toBeDefined();
    expect(wf.on.schedule.map((s: { cron: string }) => s.cron)).toEqual([gate.schedule]);
  });

  test("the workflow runs gate ci on gates/gate-a.yaml, and offers exactly its phases to dispatch", () => {
    const job = wf.jobs.gate;
    expect(job.env.GATE_FILE).toBe("gates/gate-a.yaml");
    const runs = job.steps.map((s: { run?: string }) => s.run).filter(Boolean);
    expect(runs).toContain('npx gate ci "$GATE_FILE" --out evidence/bundle');
    expect(wf.on.workflow_dispatch.inputs.phase.options).toEqual([...gate.phases.map((p) => p.name), "all"]);
    const upload = job.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/upload-artifact"));
    expect(upload.if).toBe("always()");
    expect(upload.with.path).toBe("evidence/bundle");
  });
});
