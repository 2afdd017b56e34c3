// Sign-off follows GitHub's truth, tried as a reviewer and a committer with bad intent would: deliveries
// replayed or out of order, a policy changed on one side only, duties dodged through co-authors, unlinked
// emails and force pushes, a named approver without access. Each has no effect, asserted against the fake
// GitHub's state: statuses (and who set them), reviews, comments.

import { jest } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { promotionState } from "../../../src/bot/signoff/promotion.js";
import { readGateFileAt } from "../../../src/bot/events/repository-gates.js";
import { issueCommentOnPullRequest, mergeGroupChecksRequested, pullRequestReview, sendWebhook } from "../../support/webhook-sender.js";
import { FIXTURE_GATES, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { DEPLOY_GATES, deployTo } from "../support/deployments.js";
import { finishedRunWithEvidence } from "../support/finished-run.js";

jest.setTimeout(90_000);

let world: BotWorld;
afterEach(async () => {
  await world?.close();
});

const CONTEXT = "release-gate/gate-a";
const appStatuses = (sha: string) =>
  world.fake.state.statuses.filter((s) => s.sha === sha && s.context === CONTEXT && s.creator === world.fake.botLogin);
const botReplies = (pr: number) => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);
const refusalOf = (pr: number, who: string) =>
  waitFor(`@${who}'s refusal`, () => botReplies(pr).find((c) => c.body.includes(`@${who}, your approval is not recorded`)));
const localPolicy = () => {
  const gate = world.bot.catalog.byName("gate-a")!;
  return (patch: Partial<typeof gate.signoff>) => ((gate as { signoff: typeof gate.signoff }).signoff = { ...gate.signoff, ...patch });
};

/** A review event as GitHub would deliver it, for a review the fake already holds. */
function reviewPayload(pr: number, reviewer: string, reviewId: number, state: "approved" | "dismissed") {
  const review = world.fake.state.reviews.get(reviewId)!;
  return pullRequestReview({
    ...world.fake.webhookContext(),
    prNumber: pr,
    reviewer,
    state,
    commitId: review.commitId,
    reviewId,
    pullRequest: world.fake.pullRequestJson(pr),
  });
}
const deliver = (payload: unknown, deliveryId?: string) =>
  sendWebhook(world.bot.webhookUrl, { event: "pull_request_review", payload, secret: world.secret, ...(deliveryId ? { deliveryId } : {}) });

describe("sign-off follows GitHub's reviews", () => {
  test("an approval delivery replayed after its dismissal (same X-GitHub-Delivery, or a new one) has no effect; the GO stays withdrawn", async () => {
    world = await startBotWorld("truth-replay");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: source });
    const review = world.fake.submitReview({ pullNumber: evidence, reviewer: "dri-alice", state: "approved" });
    const approval = reviewPayload(evidence, "dri-alice", review.id, "approved");
    const first = await deliver(approval);
    expect(first.status).toBe(200);
    await waitFor("the GO", () => appStatuses(source.head.sha).find((s) => s.state === "success"));

    world.fake.dismissReview(evidence, review.id);
    await deliver(reviewPayload(evidence, "dri-alice", review.id, "dismissed"));
    await waitFor("the withdrawal", () => appStatuses(source.head.sha).at(-1)?.state === "pending");
    const statusesBefore = world.fake.state.statuses.length;
    const repliesBefore = botReplies(evidence).length;

    expect((await deliver(approval, first.deliveryId)).status).toBe(200);
    // A captured approval under a fresh delivery id is only a prompt to look again: GitHub says DISMISSED.
    expect((await deliver(approval)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(world.fake.state.reviews.get(review.id)!.state).toBe("DISMISSED");
    expect(world.fake.state.statuses.length).toBe(statusesBefore);
    expect(botReplies(evidence).length).toBe(repliesBefore);
    expect(appStatuses(source.head.sha).filter((s) => s.state === "success")).toHaveLength(1);
    expect(appStatuses(source.head.sha).at(-1)).toMatchObject({
      state: "pending",
      description: "approval withdrawn by @dri-alice: 0 of 1 approval",
    });
    expect(promotionState((await world.bot.queue.state.get(run.id))!, world.bot.queue.state.approvalKey)).toBe("pending");
  });

  test("approve and dismiss 30 ms apart converge to GitHub's state whichever is handled first", async () => {
    world = await startBotWorld("truth-race");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: source });

    // Delivered out of order: the dismissal arrives first and finds nothing; the approval then finds it dismissed.
    const early = world.fake.submitReview({ pullNumber: evidence, reviewer: "dri-alice", state: "approved" });
    const earlyApproval = reviewPayload(evidence, "dri-alice", early.id, "approved");
    world.fake.dismissReview(evidence, early.id);
    await deliver(reviewPayload(evidence, "dri-alice", early.id, "dismissed"));
    await deliver(earlyApproval);
    expect(appStatuses(source.head.sha).map((s) => s.state)).toEqual(["pending"]);
    expect((await world.bot.queue.state.get(run.id))!.signoff?.approvals).toEqual([]);

    // In order, 30 ms apart, handled concurrently: whatever lands in between, the end is GitHub's state.
    const late = world.fake.submitReview({ pullNumber: evidence, reviewer: "dri-alice", state: "approved" });
    const approving = deliver(reviewPayload(evidence, "dri-alice", late.id, "approved"));
    await new Promise((r) => setTimeout(r, 30));
    world.fake.dismissReview(evidence, late.id);
    const dismissing = deliver(reviewPayload(evidence, "dri-alice", late.id, "dismissed"));
    expect((await Promise.all([approving, dismissing])).map((a) => a.status)).toEqual([200, 200]);
    expect(appStatuses(source.head.sha).at(-1)?.state).toBe("pending");
    const recorded = (await world.bot.queue.state.get(run.id))!;
    expect(recorded.signoff?.approvals).toEqual([]);
    expect(promotionState(recorded, world.bot.queue.state.approvalKey)).toBe("pending");
    expect(world.fake.state.reviews.get(late.id)!.state).toBe("DISMISSED");
  });

  test("the policy pinned for the run decides (2 approvals, production guarded), not the bot's GATES_DIR copy (1, nothing guarded)", async () => {
    const local = readFileSync(join(FIXTURE_GATES, "gate-a.yaml"), "utf8");
    const pinned = local.replace(
      /signoff:\n(?: {2}.*\n)+/,
      "signoff:\n  approvals: 2\n  approvers: [dri-alice, carol]\n  permission: write\n\nenvironments:\n  production:\n    requires: signoff\n",
    );
    expect(pinned).not.toBe(local);
    world = await startBotWorld("truth-policy", { files: { "gates/gate-a.yaml": pinned }, permissions: { carol: "write" } });
    const github = new Octokit({ auth: "installation-token", baseUrl: world.fake.apiUrl });
    const gateFile = (await readGateFileAt(github, { owner: world.fake.owner, repo: world.fake.repo }, "gates/gate-a.yaml", "main"))!;
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: source, gateFile });
    expect(world.bot.catalog.byName("gate-a")!.signoff.approvals).toBe(1);

    await world.review(evidence, "dri-alice", "approved");
    const first = await waitFor("dri-alice's recorded approval", () =>
      botReplies(evidence).find((c) => c.body.includes("Recorded @dri-alice's approval")),
    );
    expect(first.body).toContain("(1 of 2 required approvals)");
    expect(appStatuses(source.head.sha).at(-1)).toMatchObject({
      state: "pending",
      description: `awaiting sign-off of run ${run.id}: 1 of 2 approvals`,
    });
    expect(appStatuses(source.head.sha).some((s) => s.state === "success")).toBe(false);
    const early = await deployTo(world, "production", source.head.sha, { pr: source.number });
    expect(early.decided.state).toBe("rejected");
    expect(early.decided.comment).toContain("2 approval(s) from dri-alice, carol");
    expect(early.decided.comment).toContain("gates/gate-a.yaml (blob");

    await world.review(evidence, "carol", "approved");
    await waitFor("the GO", () => appStatuses(source.head.sha).find((s) => s.state === "success"));
    expect(appStatuses(source.head.sha).at(-1)!.description).toContain("signed off by @dri-alice, @carol");
    expect((await deployTo(world, "production", source.head.sha, { pr: source.number })).decided.state).toBe("approved");
  });

  test("a co-author (Co-authored-by) of a measured commit cannot sign off; the reply names the commit", async () => {
    world = await startBotWorld("truth-coauthor");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const alice = world.fake.state.user("dri-alice");
    const { sha } = world.fake.pushCommit({
      branch: "feature",
      files: { "src/b.ts": "b\n" },
      author: "contributor",
      message: `Speed up the accept path\n\nCo-authored-by: Alice <${alice.id}+dri-alice@users.noreply.github.com>\n`,
    });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: world.fake.pullRequestJson(source.number) });
    await world.review(evidence, "dri-alice", "approved");
    const refused = await refusalOf(evidence, "dri-alice");
    expect(refused.body).toContain(`@dri-alice is a co-author (\`Co-authored-by\`) of commit ${sha.slice(0, 7)}`);
    expect(appStatuses(run.headSha).map((s) => s.state)).toEqual(["pending"]);
    expect((await world.bot.queue.state.get(run.id))!.signoff?.approvals).toEqual([]);
  });

  test("an author linked to no account makes approvals not count unless the gate file allows unlinked identities", async () => {
    world = await startBotWorld("truth-unlinked");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { sha } = world.fake.pushCommit({
      branch: "feature",
      files: { "src/b.ts": "b\n" },
      author: { name: "A. Lice", email: "alice@laptop.local" },
    });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: world.fake.pullRequestJson(source.number) });
    await world.review(evidence, "dri-alice", "approved");
    const refused = await refusalOf(evidence, "dri-alice");
    expect(refused.body).toContain(`the author of commit ${sha.slice(0, 7)}`);
    expect(refused.body).toContain("`A. Lice <alice@laptop.local>`, is linked to no GitHub account");
    expect(refused.body).toContain("signoff.unlinked_identities: allow");
    expect(appStatuses(run.headSha).map((s) => s.state)).toEqual(["pending"]);

    localPolicy()({ unlinkedIdentities: "allow" });
    await world.review(evidence, "dri-alice", "approved");
    await waitFor("the GO", () => appStatuses(run.headSha).find((s) => s.state === "success"));
  });

  test("a commit by the approver force-pushed out after the run: the run is stale and nobody can approve it", async () => {
    world = await startBotWorld("truth-force-push");
    localPolicy()({ approvers: [] });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    world.fake.pushCommit({ branch: "feature", files: { "src/backdoor.ts": "x\n" }, author: "mallory" });
    const measured = world.fake.pullRequestJson(source.number);
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: measured });
    // mallory's commit is force-pushed away (no webhook reaches the bot): the PR's commits now look clean.
    const { sha: now } = world.fake.pushCommit({ branch: "feature", parent: source.head.sha, files: { "src/c.ts": "c\n" } });
    expect(world.fake.pullRequestJson(source.number).head.sha).toBe(now);

    await world.review(evidence, "mallory", "approved");
    const refused = await refusalOf(evidence, "mallory");
    expect(refused.body).toContain(
      `measured ${measured.head.sha.slice(0, 7)}, but the head of pull request #${source.number} is now ${now.slice(0, 7)}`,
    );
    expect(refused.body).toContain("stale");
    await world.review(evidence, "dri-alice", "approved");
    expect((await refusalOf(evidence, "dri-alice")).body).toContain("stale");
    expect(appStatuses(run.headSha).map((s) => s.state)).toEqual(["pending"]);
  });

  test("a named approver without the policy's permission on the repository is refused", async () => {
    world = await startBotWorld("truth-named");
    localPolicy()({ approvers: ["dri-alice", "zed"] });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { run, evidence } = await finishedRunWithEvidence(world, { pull: source });
    await world.review(evidence, "zed", "approved");
    expect((await refusalOf(evidence, "zed")).body).toContain(
      "@zed is a named approver, but the sign-off policy needs **write** permission on this repository (`signoff.permission`) and @zed has **none**",
    );
    expect(appStatuses(run.headSha).map((s) => s.state)).toEqual(["pending"]);
  });

  test("a command comment is handled once: its delivery replayed, or delivered again under a new id, answers nothing", async () => {
    world = await startBotWorld("truth-command");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { comment, answer } = await world.comment(source.number, "octocat", "/gate-a status");
    await waitFor("the status reply", () => botReplies(source.number).length > 0);
    const payload = issueCommentOnPullRequest({
      ...world.fake.webhookContext(),
      prNumber: source.number,
      commenter: "octocat",
      body: "/gate-a status",
      comment,
      pullRequest: world.fake.pullRequestJson(source.number),
    });
    const again = (deliveryId?: string) =>
      sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: world.secret, ...(deliveryId ? { deliveryId } : {}) });
    expect((await again(answer.deliveryId)).status).toBe(200);
    expect((await again()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(botReplies(source.number)).toHaveLength(1);
    expect(world.fake.count("reactions.createForIssueComment")).toBe(1);
  });

  test("a branch squatted under the run's evidence name is never adopted: the bot makes its own, says so, and only its commits count", async () => {
    world = await startBotWorld("truth-squat");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const id = "gate-a-test-squatted";
    const squat = world.fake.pushCommit({
      branch: `gate-a/evidence/${id}`,
      files: { [`evidence/${id}/summary.md`]: "PASS, trust me\n" },
      author: "mallory",
    });
    const { run, evidence, branch } = await finishedRunWithEvidence(world, { pull: source, id });

    expect(branch).toBe(`gate-a/evidence-2/${id}`);
    expect(world.fake.state.refs.get(`refs/heads/gate-a/evidence/${id}`)).toBe(squat.sha);
    const pr = world.fake.pullRequestJson(evidence);
    expect(pr.head.ref).toBe(branch);
    expect(pr.head.sha).not.toBe(squat.sha);
    expect(run.evidenceCommits).toEqual([pr.head.sha]);
    expect(pr.body).toContain(`\`gate-a/evidence/${id}\` already existed and was not made by the bot`);

    // A PR from the squatted branch is not the run's evidence PR, whoever approves it.
    const fake = world.fake.createPullRequest({ head: `gate-a/evidence/${id}`, base: "release-gate/evidence", author: "mallory" });
    await world.review(fake.number, "dri-alice", "approved");
    expect((await refusalOf(fake.number, "dri-alice")).body).toContain(
      `this is not the evidence PR of run \`${id}\` (that is #${evidence})`,
    );
    expect(appStatuses(source.head.sha).map((s) => s.state)).toEqual(["pending"]);

    await world.review(evidence, "dri-alice", "approved");
    await waitFor("the GO on the bot's own branch", () => appStatuses(source.head.sha).find((s) => s.state === "success"));
  });

  test("a merge group holding a fork PR's code runs nothing without /gate-a approve-run of that head", async () => {
    world = await startBotWorld("truth-fork-queue", { gatesDir: DEPLOY_GATES });
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, fork: "mallory/service" });
    const base = world.fake.state.refs.get("refs/heads/main")!;
    const group = world.fake.pushCommit({ branch: `gh-readonly-queue/main/pr-${pr.number}-${base}`, files: { "src/a.ts": "a\n" } });
    const payload = mergeGroupChecksRequested({
      ...world.fake.webhookContext(),
      headSha: group.sha,
      baseSha: base,
      prNumber: pr.number,
      sender: "octocat",
    });
    expect((await sendWebhook(world.bot.webhookUrl, { event: "merge_group", payload, secret: world.secret })).status).toBe(200);
    const check = await waitFor("Gate A's refusal", () =>
      [...world.fake.state.checkRuns.values()].find((c) => c.headSha === group.sha && c.name === "Gate A"),
    );
    expect(check).toMatchObject({ status: "completed", conclusion: "action_required" });
    expect(check.output.summary).toContain("`/gate-a approve-run`");
    expect(await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number)).toEqual([]);
  });
});
