// The bot's commands as people and workflows run them: `gate publish DIR` (GitHub Actions, with
// GITHUB_TOKEN / GITHUB_API_URL / GITHUB_REPOSITORY) and `gate bot` (npm start), as child processes of
// the built CLI against the fake GitHub.

import { jest } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadGate } from "../../../src/gates/gate-file/index.js";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { startFakeGitHub, type FakeGitHub } from "../../support/fake-github.js";
import { issueCommentOnPullRequest, sendWebhook } from "../../support/webhook-sender.js";
import { freePort } from "../../../src/process-supervisor.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";
import { appKey, deleteKeys, FIXTURE_GATES, newPrefix, REDIS_URL, waitFor } from "../support/bot-world.js";

jest.setTimeout(60_000);

const GATE_BIN = fileURLToPath(new URL("../../../bin/gate.js", import.meta.url));
let fake: FakeGitHub;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await fake?.close();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "bot-cli-"));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function bundle(verdict: "PASS" | "FAIL", commit: string): Promise<{ dir: string; runId: string }> {
  const gate = loadGate(`${FIXTURE_GATES}gate-a.yaml`);
  const run = { ...(await buildGateRun({ scale: 0.01, commit, failLatencyIn: verdict === "FAIL" ? "smoke" : undefined })), gate, commit };
  const dir = join(tempDir(), run.id);
  await writeEvidenceBundle(dir, run);
  return { dir, runId: run.id };
}

/** Runs `gate publish` without blocking this process, which serves the fake GitHub it talks to. */
function publish(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [GATE_BIN, "publish", ...args], {
    env: { PATH: process.env.PATH ?? "", GATES_DIR: FIXTURE_GATES, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

describe("gate publish DIR", () => {
  test("opens the evidence PR in one commit and posts the war-room comment, as the Actions workflow runs it", async () => {
    fake = await startFakeGitHub({ permissions: { "dri-alice": "write" } });
    const gated = fake.createPullRequest({ head: "feature", files: { "a.ts": "1\n" } });
    const { dir, runId } = await bundle("PASS", gated.head.sha);
    const env = { GITHUB_TOKEN: "ghs_workflowtoken", GITHUB_API_URL: fake.apiUrl, GITHUB_REPOSITORY: `${fake.owner}/${fake.repo}` };

    const first = await publish([dir, "--pr", String(gated.number), "--json"], env);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ runId, verdict: "PASS", evidencePullRequest: { branch: `gate-a/evidence/${runId}` } });

    const pr = fake.pullRequestJson(result.evidencePullRequest.number);
    expect(pr.title).toMatch(/^Gate A PASS: final replay evidence, 2025-11-13$/);
    expect(fake.state.pulls.get(pr.number)?.requestedReviewers).toEqual(["dri-alice"]);
    // One commit starts the evidence base (release-gate/evidence, never the default branch), one holds the bundle.
    expect(pr.base.ref).toBe("release-gate/evidence");
    expect(fake.count("git.createCommit")).toBe(2);
    const files = [...fake.readTree(pr.head.ref).keys()].filter((p) => p.startsWith(`evidence/${runId}/`));
    expect(files).toContain(`evidence/${runId}/SHA256SUMS`);
    // The war-room comment, on the evidence PR and on the PR named by --pr.
    for (const issue of [pr.number, gated.number]) {
      const comments = [...fake.state.comments.values()].filter((c) => c.issueNumber === issue);
      expect(comments).toHaveLength(1);
      expect(comments[0].body).toContain(`<!-- release-gate:war-room run=${runId} -->`);
      expect(comments[0].body).toContain("✅ Gate A PASS on");
      expect(comments[0].body).toContain("MILESTONE:");
      expect(comments[0].body).toContain(`[evidence PR](${pr.html_url})`);
    }
    expect([...fake.state.checkRuns.values()].map((c) => [c.name, c.headSha, c.conclusion])).toEqual([
      ["Gate A (gate publish)", gated.head.sha, "success"],
    ]);
    // Only the App sets the promotion status, from its own record of a run.
    expect(fake.state.statuses).toEqual([]);

    // Publishing the same bundle again (a re-run workflow) finds the branch, PR and comments: no duplicates.
    const again = await publish([dir, "--pr", String(gated.number)], env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`evidence PR ${pr.html_url}`);
    expect(fake.count("git.createCommit")).toBe(2);
    expect(fake.count("pulls.create")).toBe(1);
    expect(fake.count("issues.createComment")).toBe(2);
    expect(fake.count("issues.updateComment")).toBe(2);
  });

  test("refuses a bundle that does not match its manifest, and missing settings, with what to fix", async () => {
    fake = await startFakeGitHub();
    const { dir } = await bundle("FAIL", "unknown");
    const env = { GITHUB_TOKEN: "t", GITHUB_API_URL: fake.apiUrl, GITHUB_REPOSITORY: `${fake.owner}/${fake.repo}` };
    writeFileSync(join(dir, "summary.md"), "tampered\n");
    const tampered = await publish([dir], env);
    expect(tampered.status).toBe(2);
    expect(tampered.stderr).toContain("does not match its manifest (changed summary.md)");
    expect(tampered.stderr).toContain("Nothing was published");
    const unset = await publish([dir], { GITHUB_API_URL: fake.apiUrl });
    expect(unset.status).toBe(2);
    expect(unset.stderr).toContain("GITHUB_TOKEN is not set");
    expect(unset.stderr).toContain("GITHUB_REPOSITORY must be owner/repo");
    expect(fake.mutations).toHaveLength(0);
  });

  test("a FAIL is published with a red check run and no promotion status", async () => {
    fake = await startFakeGitHub();
    const gated = fake.createPullRequest({ head: "feature", files: { "a.ts": "1\n" } });
    const { dir } = await bundle("FAIL", gated.head.sha);
    const env = { GITHUB_TOKEN: "t", GITHUB_API_URL: fake.apiUrl, GITHUB_REPOSITORY: `${fake.owner}/${fake.repo}` };
    const out = await publish([dir], env);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^Gate A FAIL: evidence PR /);
    expect(fake.state.statuses).toEqual([]);
    expect([...fake.state.checkRuns.values()][0].conclusion).toBe("failure");
  });
});

describe("gate bot", () => {
  test("starts from the Probot environment with its runner, answers a signed command, and stops on SIGTERM", async () => {
    const privateKey = appKey();
    fake = await startFakeGitHub({ app: { id: 4242, privateKey }, permissions: { octocat: "write" } });
    const pr = fake.createPullRequest({ head: "feature", files: { "a.ts": "1\n" } });
    const prefix = newPrefix("cli");
    cleanups.push(() => deleteKeys(prefix));
    const keyFile = join(tempDir(), "app.pem");
    writeFileSync(keyFile, privateKey);
    const port = await freePort();
    const secret = "cli-secret";
    const child: ChildProcess = spawn(process.execPath, [GATE_BIN, "bot"], {
      env: {
        PATH: process.env.PATH ?? "",
        APP_ID: String(fake.appId),
        PRIVATE_KEY_PATH: keyFile,
        WEBHOOK_SECRET: secret,
        GHE_HOST: fake.host,
        GHE_PROTOCOL: "http",
        HOST: "127.0.0.1",
        PORT: String(port),
        REDIS_URL,
        RELEASE_GATE_PREFIX: prefix,
        GATES_DIR: FIXTURE_GATES,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await waitFor(
      "the bot and its runner to be ready",
      () => stderr.includes("gate bot: ready") && stderr.includes("gate runner: ready"),
      20_000,
    );
    expect(stderr).toContain(`webhooks at http://127.0.0.1:${port}/api/github/webhooks`);
    expect(stderr).toContain("/gate-a");

    const comment = fake.addComment({ issueNumber: pr.number, user: "octocat", body: "/gate-a help" });
    const payload = issueCommentOnPullRequest({
      ...fake.webhookContext(),
      prNumber: pr.number,
      commenter: "octocat",
      body: "/gate-a help",
      comment,
    });
    const answer = await sendWebhook(`http://127.0.0.1:${port}/api/github/webhooks`, { event: "issue_comment", payload, secret });
    expect(answer.status).toBe(200);
    const reply = await waitFor("the help reply", () => [...fake.state.comments.values()].find((c) => c.user === fake.botLogin), 15_000);
    expect(reply.body).toContain("`/gate-a replay <phase>`");
    // The App authenticated with a JWT signed by its key, then an installation token.
    expect(fake.requests.some((r) => r.route === "apps.createInstallationAccessToken" && r.status === 201)).toBe(true);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("gate bot: SIGTERM: stopping");
    expect(stderr).toContain("gate runner: SIGTERM: stopping");
  });

  test("refuses to start without the App's settings, naming each one", () => {
    const out = spawnSync(process.execPath, [GATE_BIN, "bot"], {
      env: { PATH: process.env.PATH ?? "", GATES_DIR: FIXTURE_GATES },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("APP_ID must be the GitHub App's numeric id");
    expect(out.stderr).toContain("set PRIVATE_KEY (the .pem contents) or PRIVATE_KEY_PATH");
    expect(out.stderr).toContain("set WEBHOOK_SECRET");
  });
});
