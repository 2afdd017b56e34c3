// Where a run's gate file comes from: the repository's default branch, through the contents API, when
// the command arrives (or when a workflow is dispatched on a branch). A PR or branch that edits the gate
// file is still judged by the default branch's version, and is told so.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { startFakeGitHub, type FakeGitHub } from "../../support/fake-github.js";
import {
  gateFileChangeOnPull,
  gateOfRecord,
  pinnedFileOf,
  readRepositoryGates,
  RepositoryGateError,
} from "../../../src/bot/events/repository-gates.js";
import { gateForEvent } from "../../../src/cli/actions-command.js";
import { gateCatalog } from "../../../src/bot/boot/gate-catalog.js";

const GATE_A = readFileSync("gates/gate-a.yaml", "utf8");
const LOWERED = GATE_A.replace(`latency_p95: "<= 20ms"`, `latency_p95: "<= 5s"`);
let fake: FakeGitHub;
let github: Octokit;
const where = () => ({ owner: fake.owner, repo: fake.repo });

afterEach(async () => {
  await fake?.close();
});

async function repository(files: Record<string, string>): Promise<void> {
  fake = await startFakeGitHub({ files });
  github = new Octokit({ baseUrl: fake.apiUrl, auth: fake.tokenFor("octocat") });
}

const smokeBar = (g: { phases: { latencyP95Ms: number }[] }) => g.phases[0]!.latencyP95Ms;

describe("gate files from the default branch", () => {
  test(".github/gates/ is read before gates/, and each gate names its path and blob SHA", async () => {
    await repository({ ".github/gates/gate-a.yaml": GATE_A, "gates/gate-a.yaml": LOWERED, "README.md": "#\n" });
    const found = await readRepositoryGates(github, where(), "main");
    expect(found?.folder).toBe(".github/gates");
    const gate = found!.catalog.byName("gate-a")!;
    expect(smokeBar(gate)).toBe(20);
    expect(gate.source.file).toBe(".github/gates/gate-a.yaml");
    const main = fake.state.git.commit(fake.state.branchSha("main")!)!;
    expect(gate.source.blobSha).toBe(fake.state.git.flatten(main.tree).get(".github/gates/gate-a.yaml")!.sha);
    expect(pinnedFileOf(found!, gate)).toMatchObject({ path: ".github/gates/gate-a.yaml", ref: "main", text: GATE_A });
  });

  test("a repository with no gate files falls back to the runner's GATES_DIR", async () => {
    await repository({ "README.md": "#\n", "gates/notes.txt": "not a gate\n" });
    expect(await readRepositoryGates(github, where(), "main")).toBeNull();
  });

  test("a broken gate file on the default branch is an error naming its file, line and column", async () => {
    await repository({ "gates/gate-a.yaml": GATE_A.replace("workers: 2", "workerz: 2") });
    const err = await readRepositoryGates(github, where(), "main").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepositoryGateError);
    expect((err as Error).message).toMatch(/gates\/gate-a\.yaml:\d+:\d+: target\.bundled\.workerz: unknown key/);
  });

  test("a gate file cannot pull the runner's secrets into its values", async () => {
    const stealing = GATE_A.replace(`"\${REDIS_URL:-redis://127.0.0.1:6379}"`, `"redis://:\${PRIVATE_KEY}@127.0.0.1:6379"`);
    // Not on the file's env: list: a schema error.
    await repository({ "gates/gate-a.yaml": stealing });
    const unlisted = await readRepositoryGates(github, where(), "main", { ...process.env, PRIVATE_KEY: "app-private-key" }).catch(
      (e: unknown) => e,
    );
    expect((unlisted as Error).message).toContain("${PRIVATE_KEY} is not in the gate file's env: allow-list");
    // Listed by the file: the bot still hands a repository's gate file none of its own secrets.
    await repository({ "gates/gate-a.yaml": stealing.replace(/^env: \[/m, "env: [PRIVATE_KEY, ") });
    const err = await readRepositoryGates(github, where(), "main", { ...process.env, PRIVATE_KEY: "app-private-key" }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain("environment variable PRIVATE_KEY is not set");
  });

  test("a PR that lowers the bar is told its gate file applies after merge; the run keeps the default branch's bar", async () => {
    await repository({ "gates/gate-a.yaml": GATE_A });
    const pr = fake.createPullRequest({ head: "looser", files: { "gates/gate-a.yaml": LOWERED } });
    const found = (await readRepositoryGates(github, where(), "main"))!;
    const file = pinnedFileOf(found, found.catalog.byName("gate-a")!)!;
    expect(await gateFileChangeOnPull(github, where(), file, pr.head.sha)).toBe(
      `\`gates/gate-a.yaml\` differs on this PR: its changes apply after merge. This run is judged by the version on \`main\` (blob ${file.blobSha.slice(0, 7)}).`,
    );
    const same = fake.createPullRequest({ head: "other", files: { "README.md": "changed\n" } });
    expect(await gateFileChangeOnPull(github, where(), file, same.head.sha)).toBeNull();
    // The runner parses the pinned text, not the PR's file and not its own GATES_DIR.
    const gate = gateOfRecord({ gate: "gate-a", gateFile: file }, gateCatalog([]))!;
    expect(smokeBar(gate)).toBe(20);
  });
});

describe("gate ci dispatched on a branch", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gate-for-event-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const envFor = (ref: string) => ({
    event: "workflow_dispatch" as const,
    payload: { ref, repository: { default_branch: "main" }, inputs: { phase: "smoke" } },
    publish: { token: fake.tokenFor("octocat"), repository: where(), apiUrl: fake.apiUrl } as never,
  });

  test("reads the gate file from the default branch, not the checked-out branch's lowered bar", async () => {
    await repository({ "gates/gate-a.yaml": GATE_A });
    const previous = process.cwd();
    process.chdir(dir);
    try {
      // The checkout's file sits at gates/gate-a.yaml relative to the working directory, as in a workflow.
      mkdirSync("gates");
      writeFileSync("gates/gate-a.yaml", LOWERED);
      const { gate, note } = await gateForEvent("gates/gate-a.yaml", envFor("refs/heads/looser"));
      expect(smokeBar(gate)).toBe(20);
      expect(note).toMatch(
        /^gates\/gate-a\.yaml differs on looser: its changes apply after merge; this run is judged by the version on main/,
      );
      // On the default branch, the checkout is the default branch's file.
      const onMain = await gateForEvent("gates/gate-a.yaml", envFor("refs/heads/main"));
      expect(smokeBar(onMain.gate)).toBe(5000);
      expect(onMain.note).toBeNull();
    } finally {
      process.chdir(previous);
    }
  });

  test("a gate file the default branch does not have cannot be dispatched from a branch", async () => {
    await repository({ "README.md": "#\n" });
    const previous = process.cwd();
    process.chdir(dir);
    try {
      mkdirSync("gates");
      writeFileSync("gates/gate-z.yaml", LOWERED);
      await expect(gateForEvent("gates/gate-z.yaml", envFor("refs/heads/new-gate"))).rejects.toThrow(
        "gates/gate-z.yaml is not on the default branch main: a dispatch on refs/heads/new-gate is judged by the default branch's gate file; merge the gate file first, or dispatch on main",
      );
    } finally {
      process.chdir(previous);
    }
  });
});
