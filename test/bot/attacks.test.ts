// Attacks on the sign-off, tried as a user with write access and bad intent would, against the bot on the
// fake GitHub. Each is refused or has no effect, asserted against the fake's state: statuses (and who set
// them), reviews, comments, refs. The bot's record in Redis, not any file on a branch, decides.

import { jest } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Octokit } from "@octokit/rest";
import { promotionState } from "../../src/bot/signoff/promotion.js";
import { publishBundle } from "../../src/bot/github/publish-run.js";
import { guardForGitHub } from "../../src/bot/github/redact-for-github.js";
import { generateSigningKeyPair, signEnvelope, IN_TOTO_PAYLOAD_TYPE } from "../../src/gates/evidence/dsse.js";
import { verifyCommand } from "../../src/cli/verify-command.js";
import { issueCommentOnPullRequest, sendWebhook } from "../support/webhook-sender.js";
import { startBotWorld, waitFor, type BotWorld } from "./support/bot-world.js";
import { bundleOnBranch } from "./support/evidence-checks.js";
import { finishedRunWithEvidence } from "./support/finished-run.js";

jest.setTimeout(90_000);

let world: BotWorld;
const dirs: string[] = [];

afterEach(async () => {
  await world?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const CONTEXT = "release-gate/gate-a";
const appStatuses = (sha: string) =>
  world.fake.state.statuses.filter((s) => s.sha === sha && s.context === CONTEXT && s.creator === world.fake.botLogin);
const allStatuses = (sha: string) => world.fake.state.statuses.filter((s) => s.sha === sha && s.context === CONTEXT);
const botReplies = (pr: number) => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);
const refusalOf = (pr: number, who: string) =>
  waitFor(`@${who}'s refusal`, () => botReplies(pr).find((c) => c.body.includes(`@${who}, your approval is not recorded`)));
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "bot-attacks-"));
  dirs.push(d);
  return d;
}

/** The bundle on `branch` written to a folder, and `gate verify DIR --key` over it with `publicKeyPem`. */
async function verifyFiles(files: Map<string, Buffer>, publicKeyPem: string): Promise<{ code: number; out: string }> {
  const dir = tempDir();
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, "b", path)), { recursive: true });
    writeFileSync(join(dir, "b", path), bytes);
  }
  writeFileSync(join(dir, "pub.pem"), publicKeyPem);
  const lines: string[] = [];
  const code = await verifyCommand([join(dir, "b"), "--key", join(dir, "pub.pem")], {
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  return { code, out: lines.join("\n") };
}

/** SHA256SUMS regenerated over the files, as an attacker would after editing them. */
function regenerateManifest(files: Map<string, Buffer>): Map<string, Buffer> {
  const lines = [...files.keys()]
    .filter((p) => p !== "SHA256SUMS")
    .sort()
    .map((p) => `${sha256(files.get(p)!)}  ${p}`);
  return new Map([...files, ["SHA256SUMS", Buffer.from(`${lines.join("\n")}\n`)]]);
}

describe("attacks on the sign-off", () => {
  test("a forged approval log pushed to the evidence branch, then approved: refused naming the foreign commit, nothing turns green", async () => {
    world = await startBotWorld("attack-forged-log");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence, branch } = await finishedRunWithEvidence(world, { pull: source, fail: true });
    const files = bundleOnBranch(world.fake, branch, run.id);
    const log = JSON.parse(files.get("09-approvals/approval-log.json")!.toString());
    const forged = { ...log, verdict: "PASS", status: "complete", approvers: ["mallory"], required: 0, commit: source.head.sha };
    files.set("09-approvals/approval-log.json", Buffer.from(JSON.stringify(forged)));
    const sums = regenerateManifest(files);
    const { sha: foreign } = world.fake.pushCommit({
      branch,
      author: "mallory",
      files: {
        [`evidence/${run.id}/09-approvals/approval-log.json`]: files.get("09-approvals/approval-log.json")!,
        [`evidence/${run.id}/SHA256SUMS`]: sums.get("SHA256SUMS")!,
      },
    });

    await world.review(evidence, "mallory", "approved");
    const refused = await refusalOf(evidence, "mallory");
    expect(refused.body).toContain(foreign);
    expect(refused.body).toContain("not a commit the bot made");
    await world.review(evidence, "dri-alice", "approved");
    expect((await refusalOf(evidence, "dri-alice")).body).toContain(foreign);

    expect(allStatuses(source.head.sha).map((s) => s.state)).toEqual(["failure"]);
    expect((await world.bot.queue.state.get(run.id))!.signoff).toEqual({ status: "pending", approvals: [] });
    // The bot never writes on top of a stranger's commit.
    expect(world.fake.pullRequestJson(evidence).head.sha).toBe(foreign);
    // Offline, the forged log does not match the signed chain.
    const check = await verifyFiles(bundleOnBranch(world.fake, branch, run.id), world.publicKeyPem);
    expect(check.code).toBe(1);
    expect(check.out).toContain("approval-log.json says the verdict is PASS, but the signed attestation says FAILED");
  });

  test("a smoke-only PASS approved is 'partial: not a promotion decision' and never sets the promotion status", async () => {
    world = await startBotWorld("attack-partial");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: source, full: false });
    expect(promotionState(run, world.bot.queue.state.approvalKey)).toBe("partial");
    await world.review(evidence, "dri-alice", "approved");
    const reply = await refusalOf(evidence, "dri-alice");
    expect(reply.body).toContain("partial: not a promotion decision");
    expect(allStatuses(source.head.sha)).toEqual([]);
    expect(promotionState((await world.bot.queue.state.get(run.id))!, world.bot.queue.state.approvalKey)).toBe("partial");
  });

  test("an older PASS is superseded by a newer FAIL on the same commit: its PR is commented and closed, approving it is refused", async () => {
    world = await startBotWorld("attack-superseded");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const older = await finishedRunWithEvidence(world, { pull: source });
    const newer = await finishedRunWithEvidence(world, { pull: source, fail: true });
    expect(world.fake.pullRequestJson(older.evidence).state).toBe("closed");
    expect(botReplies(older.evidence).at(-1)?.body).toContain(`Superseded: run \`${newer.run.id}\``);

    await world.review(older.evidence, "dri-alice", "approved");
    expect((await refusalOf(older.evidence, "dri-alice")).body).toContain(`superseded by run \`${newer.run.id}\``);
    expect(appStatuses(source.head.sha).at(-1)).toMatchObject({ state: "failure" });
    expect(appStatuses(source.head.sha).some((s) => s.state === "success")).toBe(false);
    const runs = await world.bot.queue.state.runsForCommit(world.fake.owner, world.fake.repo, "gate-a", source.head.sha);
    expect(runs.map((r) => [r.id, promotionState(r, world.bot.queue.state.approvalKey)])).toEqual([
      [newer.run.id, "no-go"],
      [older.run.id, "superseded"],
    ]);
  });

  test("the requester of the run, the gated PR's author and the authors of its commits cannot sign off; bots never count", async () => {
    world = await startBotWorld("attack-self", { permissions: { "dev-bob": "write", "dev-carl": "write" } });
    const gate = world.bot.catalog.byName("gate-a")!;
    (gate as { signoff: typeof gate.signoff }).signoff = { ...gate.signoff, approvers: [], approvals: 1, permission: "write" };
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "dev-bob" });
    world.fake.pushCommit({ branch: "feature", files: { "src/b.ts": "b\n" }, author: "dev-carl" });
    const pull = world.fake.pullRequestJson(source.number);
    const { run, evidence } = await finishedRunWithEvidence(world, { pull, requestedBy: "octocat" });

    await world.review(evidence, "octocat", "approved");
    expect((await refusalOf(evidence, "octocat")).body).toContain("requested run");
    await world.review(evidence, "dev-bob", "approved");
    expect((await refusalOf(evidence, "dev-bob")).body).toContain("opened the gated pull request");
    await world.review(evidence, "dev-carl", "approved");
    expect((await refusalOf(evidence, "dev-carl")).body).toMatch(
      /@dev-carl is the author of commit [0-9a-f]{7} \(one of the 2 commit\(s\) measured/,
    );
    // A bot's approval is not even answered (no reply loops between bots), and never counted.
    world.fake.setPermission("helper[bot]", "write");
    await world.review(evidence, "helper[bot]", "approved");

    expect(appStatuses(pull.head.sha).map((s) => s.state)).toEqual(["pending"]);
    expect((await world.bot.queue.state.get(run.id))!.signoff?.approvals).toEqual([]);
    // Someone who is none of them may.
    await world.review(evidence, "mallory", "approved");
    await waitFor("mallory's approval", () => botReplies(evidence).find((c) => c.body.includes("Recorded @mallory's approval")));
    expect(appStatuses(pull.head.sha).at(-1)).toMatchObject({ state: "success" });
    expect((await world.bot.queue.state.get(run.id))!.signoff?.approvals.map((a) => a.login)).toEqual(["mallory"]);
    expect(botReplies(evidence).some((c) => c.body.includes("helper[bot]"))).toBe(false);
  });

  test("a user without the approver role is refused; application code pushed onto the evidence branch cannot be approved into anything", async () => {
    world = await startBotWorld("attack-role");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { evidence, branch } = await finishedRunWithEvidence(world, { pull: source });
    await world.review(evidence, "mallory", "approved");
    expect((await refusalOf(evidence, "mallory")).body).toContain(
      "@mallory is not one of the approvers the gate's sign-off policy names (dri-alice)",
    );

    // The evidence PR targets the evidence base, never the default branch, and code pushed onto it is a foreign head.
    expect(world.fake.pullRequestJson(evidence).base.ref).toBe("release-gate/evidence");
    const { sha } = world.fake.pushCommit({ branch, files: { "src/backdoor.ts": "export const x = 1;\n" }, author: "mallory" });
    await world.review(evidence, "dri-alice", "approved");
    const refused = await refusalOf(evidence, "dri-alice");
    expect(refused.body).toContain(sha);
    expect(appStatuses(source.head.sha).map((s) => s.state)).toEqual(["pending"]);
    expect(world.fake.state.refs.get("refs/heads/main")).toBe(world.fake.pullRequestJson(source.number).base.sha);
  });

  test("an approval dismissed after a push and given again on the pushed head is refused; the GO stays withdrawn", async () => {
    world = await startBotWorld("attack-reapprove");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence, branch } = await finishedRunWithEvidence(world, { pull: source });
    const { reviewId } = await world.review(evidence, "dri-alice", "approved");
    await waitFor("the GO", () => appStatuses(source.head.sha).find((s) => s.state === "success"));

    const { sha: foreign } = world.fake.pushCommit({
      branch,
      files: { [`evidence/${run.id}/summary.md`]: "all good, trust me\n" },
      author: "mallory",
    });
    // Dismiss-stale-approvals: GitHub dismisses the approval when the branch moves.
    await world.dismiss(evidence, reviewId, "dri-alice");
    await waitFor("the withdrawal", () => appStatuses(source.head.sha).at(-1)?.state === "pending");
    await world.review(evidence, "dri-alice", "approved");
    expect((await refusalOf(evidence, "dri-alice")).body).toContain(foreign);
    expect(appStatuses(source.head.sha).at(-1)).toMatchObject({
      state: "pending",
      description: "approval withdrawn by @dri-alice: 0 of 1 approval",
    });
    expect(promotionState((await world.bot.queue.state.get(run.id))!, world.bot.queue.state.approvalKey)).toBe("pending");
  });

  test("a status set by someone else does not count, and a re-run sets the App's own; gate publish never sets one", async () => {
    world = await startBotWorld("attack-status");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const mallory = new Octokit({ auth: world.fake.tokenFor("mallory"), baseUrl: world.fake.apiUrl });
    await mallory.rest.repos.createCommitStatus({
      owner: world.fake.owner,
      repo: world.fake.repo,
      sha: source.head.sha,
      state: "success",
      context: CONTEXT,
      description: "GO",
    });
    expect(allStatuses(source.head.sha).map((s) => s.creator)).toEqual(["mallory"]);

    const { run } = await finishedRunWithEvidence(world, { pull: source });
    expect(appStatuses(source.head.sha).map((s) => s.state)).toEqual(["pending"]);
    expect(promotionState((await world.bot.queue.state.get(run.id))!, world.bot.queue.state.approvalKey)).toBe("pending");

    // gate publish of a local bundle opens a PR and a check run only; one whose approval log was edited
    // after it was sealed publishes nothing at all.
    const before = world.fake.state.statuses.length;
    const { bundleDir } = await finishedRunWithEvidence(world, { pull: source });
    const statusesAfterRun = world.fake.state.statuses.length;
    expect(statusesAfterRun).toBe(before + 1);
    const gate = world.bot.catalog.byName("gate-a")!;
    const github = new Octokit({ auth: world.fake.tokenFor("octocat"), baseUrl: world.fake.apiUrl });
    const where = { owner: world.fake.owner, repo: world.fake.repo };
    const published = await publishBundle(github, where, { gate, bundleDir });
    expect(published.evidencePullRequest.number).toBeGreaterThan(0);
    expect(world.fake.state.statuses.length).toBe(statusesAfterRun);
    const approvalLog = join(bundleDir, "09-approvals/approval-log.json");
    writeFileSync(approvalLog, readFileSync(approvalLog, "utf8").replace(/"required":\s*1/, '"required": 0'));
    await expect(publishBundle(github, where, { gate, bundleDir })).rejects.toThrow(/does not match its SHA256SUMS/);
    expect(world.fake.state.statuses.length).toBe(statusesAfterRun);
    expect([...world.fake.state.checkRuns.values()].map((c) => c.name)).toContain("Gate A (gate publish)");
  });

  test("a forged DSSE signature and a bundle with one byte changed after signing fail gate verify --key, naming the cause", async () => {
    world = await startBotWorld("attack-dsse");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, branch } = await finishedRunWithEvidence(world, { pull: source });
    const files = bundleOnBranch(world.fake, branch, run.id);
    expect((await verifyFiles(files, world.publicKeyPem)).code).toBe(0);

    // Forged: the statement re-signed with the attacker's own key, manifest regenerated.
    const attacker = generateSigningKeyPair();
    const statement = JSON.parse(files.get("attestation.intoto.json")!.toString());
    const { createPrivateKey } = await import("node:crypto");
    const forgedEnvelope = signEnvelope(
      IN_TOTO_PAYLOAD_TYPE,
      Buffer.from(JSON.stringify(statement)),
      createPrivateKey(attacker.privateKeyPem),
    );
    const forged = regenerateManifest(new Map([...files, ["attestation.intoto.dsse.json", Buffer.from(JSON.stringify(forgedEnvelope))]]));
    const forgedCheck = await verifyFiles(forged, world.publicKeyPem);
    expect(forgedCheck.code).toBe(1);
    expect(forgedCheck.out).toContain("attestation.intoto.dsse.json: no signature by the given key");

    // One byte changed after signing.
    const verdict = Buffer.from(files.get("verdict.json")!);
    verdict[10] = verdict[10] === 0x20 ? 0x21 : 0x20;
    const changed = await verifyFiles(new Map([...files, ["verdict.json", verdict]]), world.publicKeyPem);
    expect(changed.code).toBe(1);
    expect(changed.out).toMatch(/CHANGED\s+verdict\.json/);
  });

  test("echoed text has its @-mentions neutralised, errors are not posted raw, tokens never leave the bot; strangers on a public repo get one reply", async () => {
    world = await startBotWorld("attack-echo");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    await world.comment(source.number, "octocat", "/gate-a @acme/everyone please");
    const help = await waitFor("the help reply", () => botReplies(source.number).find((c) => c.body.includes("did not understand")));
    expect(help.body).not.toMatch(/@acme\/everyone/);
    expect(help.body).toContain("@\u200bacme/everyone");

    const token = `ghp_${"A1b2C3d4".repeat(5)}`;
    world.fake.failNext("pulls.get", { status: 422, body: { message: `upstream said Authorization: token ${token}` } });
    await world.comment(source.number, "octocat", "/gate-a replay 1k");
    const failed = await waitFor("the failure reply", () => botReplies(source.number).find((c) => c.body.includes("Something went wrong")));
    expect(failed.body).not.toContain(token);
    expect(failed.body).not.toContain("upstream said");

    // Anything the bot posts through its guarded client is redacted.
    const guarded = guardForGitHub(new Octokit({ auth: "installation-token", baseUrl: world.fake.apiUrl }), ["run-secret-123456"]);
    const pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----";
    const { data } = await guarded.rest.issues.createComment({
      owner: world.fake.owner,
      repo: world.fake.repo,
      issue_number: source.number,
      body: `${token} github_pat_${"x".repeat(30)} ${pem} postgres://u:hunter2@db/x run-secret-123456 Authorization: Bearer abcdef1234567890`,
    });
    const stored = world.fake.commentJson(data.id).body;
    for (const leaked of [token, "github_pat_x", "MC4CAQAw", "hunter2", "run-secret-123456", "abcdef1234567890"])
      expect(stored).not.toContain(leaked);

    // A stranger on a public repository: one reply an hour, nothing else.
    const repository = { ...(world.fake.webhookContext().repository as Record<string, unknown>), private: false, visibility: "public" };
    const stranger = async (body: string) => {
      const comment = world.fake.addComment({ issueNumber: source.number, user: "stranger", body });
      const payload = issueCommentOnPullRequest({
        ...world.fake.webhookContext(),
        repository,
        prNumber: source.number,
        commenter: "stranger",
        body,
        comment,
        pullRequest: world.fake.pullRequestJson(source.number),
      });
      (payload as { comment: { author_association: string } }).comment.author_association = "NONE";
      return sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: world.secret });
    };
    const before = botReplies(source.number).length;
    for (let i = 0; i < 5; i++) await stranger(`/gate-a status ${i === 0 ? "" : "@everyone"}`.trim());
    await waitFor("the stranger's one reply", () => botReplies(source.number).length > before);
    await new Promise((r) => setTimeout(r, 500));
    const replies = botReplies(source.number).slice(before);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toContain("commands are for collaborators");
    expect(world.fake.count("reactions.createForIssueComment")).toBeGreaterThan(0);
  });
});
