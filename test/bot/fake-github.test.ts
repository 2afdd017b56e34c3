// Specifications of the fake GitHub the bot's end-to-end tests run against: driven with the real
// clients (@octokit/rest, Probot's Octokit and Probot itself), so what passes here passes there.

import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { verify as verifyGitHubSignature } from "@octokit/webhooks-methods";
import { createNodeMiddleware, createProbot, ProbotOctokit } from "probot";
import { githubFaults, startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { issueCommentOnPullRequest, pullRequestReview, pullRequestSynchronize, sendWebhook } from "../support/webhook-sender.js";

let fake: FakeGitHub;
let octokit: Octokit;
let appPrivateKey: string;

beforeAll(() => {
  // One key for the app tests: RSA generation is the slowest thing in this file.
  appPrivateKey = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
});

beforeEach(async () => {
  fake = await startFakeGitHub({
    owner: "acme",
    repo: "service",
    files: { "README.md": "# service\n", "gates/gate-a.yaml": "name: gate-a\n" },
    permissions: { alice: "write", bob: "read", mallory: "none", maya: "maintain", tia: "triage" },
  });
  octokit = new Octokit({ baseUrl: fake.apiUrl, auth: "test-token" });
});

afterEach(async () => {
  await fake.close();
});

const where = { owner: "acme", repo: "service" };

async function rejection(promise: Promise<unknown>): Promise<{ status: number; response: { data: any; headers: Record<string, string> } }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error("expected the request to fail, it succeeded");
}

describe("git data", () => {
  test("one commit with many files via the Git Data API keeps the base files and opens a pull request", async () => {
    const { data: ref } = await octokit.rest.git.getRef({ ...where, ref: "heads/main" });
    const { data: parent } = await octokit.rest.git.getCommit({ ...where, commit_sha: ref.object.sha });
    const files: Record<string, Buffer> = {
      "evidence/run-1/SHA256SUMS": Buffer.from("abc  verdict.json\n"),
      "evidence/run-1/verdict.json": Buffer.from('{"verdict":"PASS"}\n'),
      "evidence/run-1/raw/latency.bin": Buffer.from([0, 1, 2, 255, 254]),
    };
    const entries = [];
    for (const [path, content] of Object.entries(files)) {
      const { data: blob } = await octokit.rest.git.createBlob({ ...where, content: content.toString("base64"), encoding: "base64" });
      entries.push({ path, mode: "100644" as const, type: "blob" as const, sha: blob.sha });
    }
    const { data: utf8Blob } = await octokit.rest.git.createBlob({ ...where, content: "plain text\n", encoding: "utf-8" });
    entries.push({ path: "evidence/run-1/notes.txt", mode: "100644" as const, type: "blob" as const, sha: utf8Blob.sha });
    const { data: tree } = await octokit.rest.git.createTree({ ...where, base_tree: parent.tree.sha, tree: entries });
    const { data: commit } = await octokit.rest.git.createCommit({
      ...where,
      message: "Gate A evidence",
      tree: tree.sha,
      parents: [parent.sha],
    });
    await octokit.rest.git.createRef({ ...where, ref: "refs/heads/gate-a/evidence/run-1", sha: commit.sha });
    const { data: pull } = await octokit.rest.pulls.create({ ...where, title: "Gate A PASS", head: "gate-a/evidence/run-1", base: "main" });

    const checkout = fake.readTree(commit.sha);
    expect([...checkout.keys()].sort()).toEqual([
      "README.md",
      "evidence/run-1/SHA256SUMS",
      "evidence/run-1/notes.txt",
      "evidence/run-1/raw/latency.bin",
      "evidence/run-1/verdict.json",
      "gates/gate-a.yaml",
    ]);
    expect(checkout.get("evidence/run-1/raw/latency.bin")).toEqual(files["evidence/run-1/raw/latency.bin"]);
    expect(checkout.get("evidence/run-1/notes.txt")!.toString()).toBe("plain text\n");
    expect(pull.head.sha).toBe(commit.sha);
    expect(pull.base.sha).toBe(parent.sha);
    expect(fake.count("git.createCommit")).toBe(1);
    expect(fake.count("git.createRef")).toBe(1);

    const { data: listed } = await octokit.rest.pulls.list({ ...where, head: "acme:gate-a/evidence/run-1", state: "open" });
    expect(listed.map((p) => p.number)).toEqual([pull.number]);
    // As on GitHub, a head without "owner:" is ignored: every open pull request comes back.
    const other = fake.createPullRequest({ head: "unrelated", files: { "u.txt": "u\n" } });
    const { data: unfiltered } = await octokit.rest.pulls.list({ ...where, head: "gate-a/evidence/run-1" });
    expect(unfiltered.map((p) => p.number)).toEqual([other.number, pull.number]);
    const { data: changed } = await octokit.rest.pulls.listFiles({ ...where, pull_number: pull.number });
    expect(changed.map((f) => `${f.status} ${f.filename}`)).toEqual([
      "added evidence/run-1/SHA256SUMS",
      "added evidence/run-1/notes.txt",
      "added evidence/run-1/raw/latency.bin",
      "added evidence/run-1/verdict.json",
    ]);
    const { data: recursive } = await octokit.rest.git.getTree({ ...where, tree_sha: tree.sha, recursive: "1" });
    expect(recursive.tree.filter((e) => e.type === "tree").map((e) => e.path)).toEqual([
      "evidence",
      "evidence/run-1",
      "evidence/run-1/raw",
      "gates",
    ]);
  });

  test("object SHAs are git's own: the same tree written by git has the same SHA", async () => {
    const { data: blob } = await octokit.rest.git.createBlob({ ...where, content: "hello\n", encoding: "utf-8" });
    // `printf 'hello\n' | git hash-object --stdin`
    expect(blob.sha).toBe("ce013625030ba8dba906f756967f9e9ca394464a");
    const { data: tree } = await octokit.rest.git.createTree({
      ...where,
      tree: [
        { path: "a/b/c.txt", mode: "100644", type: "blob", content: "deep\n" },
        { path: "a.txt", mode: "100644", type: "blob", content: "top\n" },
        { path: "a-b.txt", mode: "100644", type: "blob", sha: blob.sha },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), "fake-github-git-"));
    try {
      const git = (args: string[], input?: string) =>
        execFileSync("git", args, { cwd: dir, input, env: { ...process.env, GIT_DIR: join(dir, ".git") } })
          .toString()
          .trim();
      git(["init", "-q"]);
      git(["hash-object", "-w", "--stdin"], "hello\n");
      const c = git(["hash-object", "-w", "--stdin"], "deep\n");
      const top = git(["hash-object", "-w", "--stdin"], "top\n");
      const b = git(["mktree"], `100644 blob ${c}\tc.txt\n`);
      const a = git(["mktree"], `040000 tree ${b}\tb\n`);
      const root = git(["mktree"], `040000 tree ${a}\ta\n100644 blob ${top}\ta.txt\n100644 blob ${blob.sha}\ta-b.txt\n`);
      expect(tree.sha).toBe(root);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a tree without base_tree holds only the files it lists", async () => {
    const { data: ref } = await octokit.rest.git.getRef({ ...where, ref: "heads/main" });
    const { data: tree } = await octokit.rest.git.createTree({
      ...where,
      tree: [{ path: "only/this.txt", mode: "100644", type: "blob", content: "alone\n" }],
    });
    const { data: commit } = await octokit.rest.git.createCommit({
      ...where,
      message: "replace all",
      tree: tree.sha,
      parents: [ref.object.sha],
    });
    expect([...fake.readTree(commit.sha).keys()]).toEqual(["only/this.txt"]);
    expect([...fake.readTree("main").keys()].sort()).toEqual(["README.md", "gates/gate-a.yaml"]);
  });

  test("a base_tree entry with sha null deletes the file", async () => {
    const { data: parent } = await octokit.rest.git.getCommit({ ...where, commit_sha: fake.state.branchSha("main")! });
    const { data: tree } = await octokit.rest.git.createTree({
      ...where,
      base_tree: parent.tree.sha,
      tree: [{ path: "gates/gate-a.yaml", mode: "100644", type: "blob", sha: null }],
    });
    expect([...fake.readTree(tree.sha).keys()]).toEqual(["README.md"]);
  });

  test("ref paths are percent-decoded: heads%2Fmain and heads/main name the same ref", async () => {
    const headers = { authorization: "token test-token" };
    const encoded = await fetch(`${fake.apiUrl}/repos/acme/service/git/ref/heads%2Fmain`, { headers });
    const plain = await fetch(`${fake.apiUrl}/repos/acme/service/git/ref/heads/main`, { headers });
    expect(encoded.status).toBe(200);
    expect(plain.status).toBe(200);
    const a = (await encoded.json()) as { ref: string; object: { sha: string } };
    const b = (await plain.json()) as { ref: string; object: { sha: string } };
    expect(a.ref).toBe("refs/heads/main");
    expect(a.object.sha).toBe(b.object.sha);

    fake.pushCommit({ branch: "gate-a/evidence/x", files: { "x.txt": "x\n" } });
    const { data } = await octokit.rest.git.getRef({ ...where, ref: "heads/gate-a/evidence/x" });
    expect(data.ref).toBe("refs/heads/gate-a/evidence/x");
    const sent = fake.requests.find((r) => r.route === "git.getRef" && r.path.endsWith("/evidence/x"))!;
    expect(sent.rawPath).toContain("heads%2Fgate-a%2Fevidence%2Fx");
  });

  test("creating a ref that exists is 422 Reference already exists, and unknown SHAs are 404", async () => {
    const sha = fake.state.branchSha("main")!;
    const exists = await rejection(octokit.rest.git.createRef({ ...where, ref: "refs/heads/main", sha }));
    expect(exists.status).toBe(422);
    expect(exists.response.data.message).toBe("Reference already exists");
    const missing = "0123456789abcdef0123456789abcdef01234567";
    expect((await rejection(octokit.rest.git.getCommit({ ...where, commit_sha: missing }))).status).toBe(404);
    expect((await rejection(octokit.rest.git.getBlob({ ...where, file_sha: missing }))).status).toBe(404);
    expect((await rejection(octokit.rest.git.getRef({ ...where, ref: "heads/nope" }))).status).toBe(404);
    expect(fake.count("git.createRef")).toBe(0);
  });

  test("moving a branch backwards without force is refused; a pull request follows its branch", async () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    const first = pr.head.sha;
    const second = fake.pushCommit({ branch: "feature", files: { "f.txt": "2\n" } }).sha;
    expect(fake.pullRequestJson(pr.number).head.sha).toBe(second);
    const backwards = await rejection(octokit.rest.git.updateRef({ ...where, ref: "heads/feature", sha: first }));
    expect(backwards.response.data.message).toBe("Update is not a fast forward");
    await octokit.rest.git.updateRef({ ...where, ref: "heads/feature", sha: first, force: true });
    expect(fake.pullRequestJson(pr.number).head.sha).toBe(first);
  });
});

describe("contents", () => {
  test("createOrUpdateFileContents makes one commit per file and needs the current sha to update", async () => {
    const before = fake.state.branchSha("main")!;
    const { data: created } = await octokit.rest.repos.createOrUpdateFileContents({
      ...where,
      path: "docs/decisions.md",
      message: "add decisions",
      content: Buffer.from("# Decisions\n").toString("base64"),
    });
    expect(created.commit.parents![0].sha).toBe(before);
    const stale = await rejection(
      octokit.rest.repos.createOrUpdateFileContents({
        ...where,
        path: "docs/decisions.md",
        message: "again",
        content: Buffer.from("x").toString("base64"),
      }),
    );
    expect(stale.status).toBe(422);
    await octokit.rest.repos.createOrUpdateFileContents({
      ...where,
      path: "docs/decisions.md",
      message: "append",
      content: Buffer.from("# Decisions\n- GO\n").toString("base64"),
      sha: created.content!.sha!,
    });
    const { data: file } = await octokit.rest.repos.getContent({ ...where, path: "docs/decisions.md" });
    expect(Buffer.from((file as { content: string }).content, "base64").toString()).toBe("# Decisions\n- GO\n");
    expect(fake.count("repos.createOrUpdateFileContents")).toBe(2);
    expect(fake.state.git.commit(fake.state.branchSha("main")!)!.parents[0]).toBe(created.commit.sha);
  });
});

describe("comments, reactions, reviews and permissions", () => {
  test("a comment of 65,536 characters is accepted and one of 65,537 is 422 with GitHub's message", async () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    const { data: ok } = await octokit.rest.issues.createComment({ ...where, issue_number: pr.number, body: "x".repeat(65_536) });
    const tooLong = await rejection(octokit.rest.issues.createComment({ ...where, issue_number: pr.number, body: "x".repeat(65_537) }));
    expect(tooLong.status).toBe(422);
    expect(tooLong.response.data.message).toBe("Validation Failed");
    expect(tooLong.response.data.errors[0].message).toBe("Body is too long (maximum is 65536 characters)");
    const editTooLong = await rejection(octokit.rest.issues.updateComment({ ...where, comment_id: ok.id, body: "y".repeat(65_537) }));
    expect(editTooLong.status).toBe(422);
    await octokit.rest.issues.updateComment({ ...where, comment_id: ok.id, body: "edited in place" });
    expect(fake.count("issues.createComment")).toBe(1);
    expect(fake.count("issues.updateComment")).toBe(1);
    expect(fake.state.commentsOn(pr.number).map((c) => c.body)).toEqual(["edited in place"]);
    expect(ok.user!.login).toBe(fake.botLogin);
  });

  test("reactions are validated and a repeated reaction is not a second one", async () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    const comment = fake.addComment({ issueNumber: pr.number, user: "alice", body: "/gate-a replay 1k" });
    const first = await octokit.rest.reactions.createForIssueComment({ ...where, comment_id: comment.id, content: "eyes" });
    const again = await octokit.rest.reactions.createForIssueComment({ ...where, comment_id: comment.id, content: "eyes" });
    expect([first.status, again.status]).toEqual([201, 200]);
    const invalid = await rejection(
      octokit.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {
        ...where,
        comment_id: comment.id,
        content: "party" as "eyes",
      }),
    );
    expect(invalid.status).toBe(422);
    expect(fake.state.reactionsOn(comment.id).map((r) => r.content)).toEqual(["eyes"]);
    expect((await rejection(octokit.rest.reactions.createForIssueComment({ ...where, comment_id: 1, content: "eyes" }))).status).toBe(404);
  });

  test("review states are upper case in REST and a review names the commit it approved", async () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    await octokit.rest.pulls.requestReviewers({ ...where, pull_number: pr.number, reviewers: ["alice"] });
    const notCollaborator = await rejection(
      octokit.rest.pulls.requestReviewers({ ...where, pull_number: pr.number, reviewers: ["mallory"] }),
    );
    expect(notCollaborator.status).toBe(422);
    const approval = fake.submitReview({ pullNumber: pr.number, reviewer: "alice", state: "approved" });
    const newHead = fake.pushCommit({ branch: "feature", files: { "f.txt": "2\n" } }).sha;
    const asBob = new Octokit({ baseUrl: fake.apiUrl, auth: fake.tokenFor("bob") });
    await asBob.rest.pulls.createReview({ ...where, pull_number: pr.number, event: "REQUEST_CHANGES", body: "no" });
    fake.dismissReview(pr.number, approval.id);
    const { data: reviews } = await octokit.rest.pulls.listReviews({ ...where, pull_number: pr.number });
    expect(reviews.map((r) => [r.user!.login, r.state, r.commit_id])).toEqual([
      ["alice", "DISMISSED", pr.head.sha],
      ["bob", "CHANGES_REQUESTED", newHead],
    ]);
    expect(() => fake.submitReview({ pullNumber: pr.number, reviewer: "contributor", state: "approved" })).toThrow(/approve your own/);
  });

  test("the permission endpoint reports admin, write, read or none (maintain is write, triage is read)", async () => {
    fake.setPermission("late", "admin");
    const level = async (username: string) =>
      (await octokit.rest.repos.getCollaboratorPermissionLevel({ ...where, username })).data.permission;
    expect(await level("acme")).toBe("admin");
    expect(await level("late")).toBe("admin");
    expect(await level("alice")).toBe("write");
    expect(await level("maya")).toBe("write");
    expect(await level("tia")).toBe("read");
    expect(await level("bob")).toBe("read");
    expect(await level("mallory")).toBe("none");
    expect(await level("stranger")).toBe("none");
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...where, username: "maya" });
    expect(data.role_name).toBe("maintain");
    expect(data.user!.login).toBe("maya");
  });

  test("lists paginate with Link headers under /api/v3", async () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    for (let i = 0; i < 35; i++) fake.addComment({ issueNumber: pr.number, user: "alice", body: `comment ${i}` });
    const all = await octokit.paginate(octokit.rest.issues.listComments, { ...where, issue_number: pr.number });
    expect(all.map((c) => c.body)).toEqual(Array.from({ length: 35 }, (_, i) => `comment ${i}`));
    expect(fake.requests.filter((r) => r.route === "issues.listComments")).toHaveLength(2);
  });
});

describe("checks and statuses", () => {
  test("check runs enforce GitHub's summary, annotation and action limits and complete with a conclusion", async () => {
    const sha = fake.state.branchSha("main")!;
    const base = { ...where, name: "Gate A / replay 1k", head_sha: sha };
    const summary = await rejection(octokit.rest.checks.create({ ...base, output: { title: "t", summary: "s".repeat(65_536) } }));
    expect(summary.status).toBe(422);
    expect(summary.response.data.errors[0].message).toBe("summary exceeds a maximum bytesize of 65535");
    // 65,535 bytes of 3-byte characters is only 21,845 characters: the limit is bytes.
    const multibyte = await rejection(octokit.rest.checks.create({ ...base, output: { title: "t", summary: "€".repeat(21_846) } }));
    expect(multibyte.status).toBe(422);
    const annotation = { path: "README.md", start_line: 1, end_line: 1, annotation_level: "failure" as const, message: "m" };
    const annotations = await rejection(
      octokit.rest.checks.create({ ...base, output: { title: "t", summary: "s", annotations: Array(51).fill(annotation) } }),
    );
    expect(annotations.status).toBe(422);
    const action = { label: "Abort", description: "Stop the replay", identifier: "abort" };
    const actions = await rejection(octokit.rest.checks.create({ ...base, actions: [action, action, action, action] }));
    expect(actions.status).toBe(422);
    expect(fake.count("checks.create")).toBe(0);

    const { data: run } = await octokit.rest.checks.create({
      ...base,
      status: "in_progress",
      output: { title: "Running", summary: "s".repeat(65_535), annotations: Array(50).fill(annotation) },
      actions: [action],
    });
    expect(run.status).toBe("in_progress");
    await octokit.rest.checks.update({
      ...where,
      check_run_id: run.id,
      conclusion: "failure",
      output: { title: "FAIL", summary: "| SLO |" },
    });
    const { data: list } = await octokit.rest.checks.listForRef({ ...where, ref: sha });
    expect(list.total_count).toBe(1);
    expect(list.check_runs[0]).toMatchObject({ status: "completed", conclusion: "failure", name: "Gate A / replay 1k" });
    expect(list.check_runs[0].output.annotations_count).toBe(50);
  });

  test("commit statuses combine per context, and a 141-character description is refused", async () => {
    const sha = fake.state.branchSha("main")!;
    await octokit.rest.repos.createCommitStatus({ ...where, sha, state: "pending", context: "Gate A sign-off" });
    await octokit.rest.repos.createCommitStatus({
      ...where,
      sha,
      state: "success",
      context: "Gate A sign-off",
      description: "approved by alice",
    });
    const { data: combined } = await octokit.rest.repos.getCombinedStatusForRef({ ...where, ref: sha });
    expect(combined.state).toBe("success");
    expect(combined.statuses.map((s) => [s.context, s.state])).toEqual([["Gate A sign-off", "success"]]);
    const { data: all } = await octokit.rest.repos.listCommitStatusesForRef({ ...where, ref: "main" });
    expect(all.map((s) => s.state)).toEqual(["success", "pending"]);
    const long = await rejection(octokit.rest.repos.createCommitStatus({ ...where, sha, state: "success", description: "d".repeat(141) }));
    expect(long.status).toBe(422);
  });
});

describe("failures, authentication and routing", () => {
  test("failNext injects a 500, a 429 with Retry-After and a 403 rate limit, and leaves state untouched", async () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    const create = () => octokit.rest.issues.createComment({ ...where, issue_number: pr.number, body: "war room" });
    fake.failNext("issues.createComment", githubFaults.serverError());
    fake.failNext("POST /repos/acme/service/issues/*", githubFaults.secondaryRateLimited(7));
    fake.failNext(/^POST .*\/comments$/, githubFaults.rateLimited(30));
    const e500 = await rejection(create());
    const e429 = await rejection(create());
    const e403 = await rejection(create());
    expect(e500.status).toBe(500);
    expect(e429.status).toBe(429);
    expect(e429.response.headers["retry-after"]).toBe("7");
    expect(e403.status).toBe(403);
    expect(e403.response.headers["x-ratelimit-remaining"]).toBe("0");
    expect(Number(e403.response.headers["x-ratelimit-reset"])).toBeGreaterThan(Date.now() / 1000);
    expect(fake.state.commentsOn(pr.number)).toHaveLength(0);
    await create();
    expect(fake.count("issues.createComment")).toBe(1);
    expect(fake.pendingFaults()).toBe(0);
    expect(fake.requests.filter((r) => r.injected)).toHaveLength(3);
  });

  test("Probot's Octokit retries after the injected secondary rate limit, as it will against GitHub", async () => {
    const retried: number[] = [];
    const probotOctokit = new ProbotOctokit({
      auth: { token: "test-token" },
      baseUrl: fake.apiUrl,
      throttle: {
        enabled: true,
        retryAfterBaseValue: 10,
        onRateLimit: () => false,
        onSecondaryRateLimit: (retryAfter: number) => {
          retried.push(retryAfter);
          return true;
        },
      },
      retry: { enabled: false },
    });
    // A read: Octokit's throttling also spaces writes at least a second apart, which would only slow this down.
    fake.failNext("repos.get", githubFaults.secondaryRateLimited(1));
    const { data } = await probotOctokit.rest.repos.get(where);
    expect(data.default_branch).toBe("main");
    expect(retried).toEqual([1]);
    expect(fake.requests.filter((r) => r.route === "repos.get").map((r) => r.status)).toEqual([429, 200]);
  });

  test("requests without Authorization are 401; unknown routes and paths outside /api/v3 are 404", async () => {
    const bare = await fetch(`${fake.apiUrl}/repos/acme/service`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { message: string }).message).toBe("Requires authentication");
    const unknown = await fetch(`${fake.apiUrl}/repos/acme/service/nothing-here`, { headers: { authorization: "token t" } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: "Not Found" });
    const outside = await fetch(`${fake.url}/repos/acme/service`, { headers: { authorization: "token t" } });
    expect(outside.status).toBe(404);
    const otherRepo = await fetch(`${fake.apiUrl}/repos/acme/other`, { headers: { authorization: "token t" } });
    expect(otherRepo.status).toBe(404);
    // The app's JWT opens only app endpoints, and a token opens none of them, as on GitHub.
    const jwtOnRepo = await fetch(`${fake.apiUrl}/repos/acme/service`, { headers: { authorization: "Bearer a.b.c" } });
    expect(jwtOnRepo.status).toBe(401);
    const tokenOnApp = await fetch(`${fake.apiUrl}/app/installations`, { headers: { authorization: "token t" } });
    expect(tokenOnApp.status).toBe(401);
  });

  test("a GitHub App authenticates with a verified JWT and acts through an installation token", async () => {
    const privateKey = appPrivateKey;
    const appFake = await startFakeGitHub({ app: { id: 99, privateKey }, installationId: 5, strictTokens: true });
    try {
      const app = new Octokit({ baseUrl: appFake.apiUrl, authStrategy: createAppAuth, auth: { appId: 99, privateKey, installationId: 5 } });
      const pr = appFake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
      const { data: comment } = await app.rest.issues.createComment({
        owner: appFake.owner,
        repo: appFake.repo,
        issue_number: pr.number,
        body: "hi",
      });
      expect(comment.user!.login).toBe("release-gate[bot]");
      expect(comment.performed_via_github_app!.id).toBe(99);
      expect(appFake.requests.map((r) => [r.route, r.actor])).toEqual([
        ["apps.createInstallationAccessToken", "app"],
        ["issues.createComment", "installation:5"],
      ]);
      const unknownToken = new Octokit({ baseUrl: appFake.apiUrl, auth: "ghp_not-issued-by-the-fake" });
      expect((await rejection(unknownToken.rest.repos.get({ owner: appFake.owner, repo: appFake.repo }))).status).toBe(401);
      const wrongApp = new Octokit({ baseUrl: appFake.apiUrl, authStrategy: createAppAuth, auth: { appId: 100, privateKey } });
      expect((await rejection(wrongApp.rest.apps.getAuthenticated())).status).toBe(401);
    } finally {
      await appFake.close();
    }
  });
});

describe("webhooks", () => {
  test("sendWebhook posts the raw signed body with GitHub's headers", async () => {
    let seen: { headers: Record<string, string | string[] | undefined>; body: string } | undefined;
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const payload = issueCommentOnPullRequest({ ...fake.webhookContext(), prNumber: 1, commenter: "alice", body: "/gate-a help" });
      const answer = await sendWebhook(`http://127.0.0.1:${port}/api/github/webhooks`, {
        event: "issue_comment",
        payload,
        secret: "s3cret",
      });
      expect(answer.status).toBe(202);
      expect(seen!.headers["x-github-event"]).toBe("issue_comment");
      expect(seen!.headers["x-github-delivery"]).toBe(answer.deliveryId);
      expect(seen!.headers["x-github-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen!.headers["content-type"]).toBe("application/json");
      expect(String(seen!.headers["user-agent"])).toMatch(/^GitHub-Hookshot\//);
      expect(await verifyGitHubSignature("s3cret", seen!.body, String(seen!.headers["x-hub-signature-256"]))).toBe(true);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  test("payload builders describe the fake's repository, installation, pull request and commit", () => {
    const pr = fake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
    const ctx = fake.webhookContext();
    const comment = fake.addComment({ issueNumber: pr.number, user: "alice", body: "/gate-a status" });
    const onPr = issueCommentOnPullRequest({
      ...ctx,
      prNumber: pr.number,
      commenter: "alice",
      body: comment.body,
      comment,
      pullRequest: pr,
    });
    expect(onPr).toMatchObject({
      action: "created",
      installation: { id: fake.installationId },
      repository: { full_name: "acme/service", default_branch: "main" },
      issue: { number: pr.number, pull_request: { url: `${fake.apiUrl}/repos/acme/service/pulls/${pr.number}` } },
      comment: { id: comment.id, body: "/gate-a status" },
      sender: { login: "alice", type: "User" },
    });
    const fromBot = issueCommentOnPullRequest({
      ...ctx,
      prNumber: pr.number,
      commenter: fake.botLogin,
      body: "x",
      senderType: "Bot",
      action: "edited",
      previousBody: "w",
    });
    expect(fromBot).toMatchObject({ action: "edited", sender: { type: "Bot" }, changes: { body: { from: "w" } } });

    const review = pullRequestReview({
      ...ctx,
      prNumber: pr.number,
      reviewer: "alice",
      state: "approved",
      commitId: pr.head.sha,
      pullRequest: pr,
    });
    expect(review).toMatchObject({
      action: "submitted",
      review: { state: "approved", commit_id: pr.head.sha },
      pull_request: { number: pr.number },
    });
    const dismissed = pullRequestReview({ ...ctx, prNumber: pr.number, reviewer: "alice", state: "dismissed", commitId: pr.head.sha });
    expect(dismissed.action).toBe("dismissed");

    const pushed = fake.pushCommit({ branch: "feature", files: { "f.txt": "2\n" } });
    const sync = pullRequestSynchronize({
      ...ctx,
      prNumber: pr.number,
      headSha: pushed.sha,
      before: pr.head.sha,
      pullRequest: fake.pullRequestJson(pr.number),
    });
    expect(sync).toMatchObject({
      action: "synchronize",
      before: pr.head.sha,
      after: pushed.sha,
      pull_request: { head: { sha: pushed.sha } },
    });
  });

  test("Probot started with GHE_HOST and GHE_PROTOCOL=http receives a signed webhook and answers through the fake", async () => {
    const privateKey = appPrivateKey;
    const appFake = await startFakeGitHub({ app: { id: 77, privateKey }, permissions: { alice: "write" } });
    const probot = createProbot({
      env: {
        APP_ID: "77",
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: "hook-secret",
        GHE_HOST: appFake.host,
        GHE_PROTOCOL: "http",
        LOG_LEVEL: "fatal",
      },
    });
    const middleware = await createNodeMiddleware(
      (app) => {
        app.on("issue_comment.created", async (context) => {
          if (context.isBot) return;
          await context.octokit.rest.reactions.createForIssueComment(
            context.repo({ comment_id: context.payload.comment.id, content: "eyes" }),
          );
          const { data } = await context.octokit.rest.repos.getCollaboratorPermissionLevel(
            context.repo({ username: context.payload.sender.login }),
          );
          await context.octokit.rest.issues.createComment(context.issue({ body: `permission: ${data.permission}` }));
        });
      },
      { probot },
    );
    const server = createServer((req, res) => {
      void middleware(req, res, () => res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
      const pr = appFake.createPullRequest({ head: "feature", files: { "f.txt": "1\n" } });
      const comment = appFake.addComment({ issueNumber: pr.number, user: "alice", body: "/gate-a help" });
      const ctx = appFake.webhookContext();
      const payload = issueCommentOnPullRequest({
        ...ctx,
        prNumber: pr.number,
        commenter: "alice",
        body: comment.body,
        comment,
        pullRequest: pr,
      });
      const answer = await sendWebhook(url, { event: "issue_comment", payload, secret: "hook-secret" });
      expect(answer.status).toBe(200);
      const forged = await sendWebhook(url, { event: "issue_comment", payload, secret: "wrong-secret" });
      expect(forged.status).toBeGreaterThanOrEqual(400);
      const fromBot = issueCommentOnPullRequest({ ...ctx, prNumber: pr.number, commenter: appFake.botLogin, body: "x", senderType: "Bot" });
      expect((await sendWebhook(url, { event: "issue_comment", payload: fromBot, secret: "hook-secret" })).status).toBe(200);

      const deadline = Date.now() + 5_000;
      while (appFake.count("issues.createComment") < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(appFake.state.reactionsOn(comment.id).map((r) => [r.user, r.content])).toEqual([["release-gate[bot]", "eyes"]]);
      expect(appFake.state.commentsOn(pr.number).map((c) => [c.user, c.body])).toEqual([
        ["alice", "/gate-a help"],
        ["release-gate[bot]", "permission: write"],
      ]);
      expect(appFake.requests[0]).toMatchObject({ route: "apps.createInstallationAccessToken", actor: "app" });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await appFake.close();
    }
  });
});
