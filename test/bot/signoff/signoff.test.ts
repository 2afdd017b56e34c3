// Sign-off on an evidence PR, decided from the bot's own run record: an allowed approver who neither
// asked for the run nor wrote the code approves the bot's evidence commit; the signed entry is recorded,
// `release-gate/gate-a` turns green on the gated commit, and the bundle's copy of the sign-off is
// committed by the bot after the decision (verifiable with `gate verify --key`). A dismissal withdraws it.

import { jest } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { verifyCommand } from "../../../src/cli/verify-command.js";
import { promotionState } from "../../../src/bot/signoff/promotion.js";
import { startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { bundleJson, bundleOnBranch, sha256sumCheck } from "../support/evidence-checks.js";
import { finishedRunWithEvidence } from "../support/finished-run.js";

jest.setTimeout(90_000);

let world: BotWorld;
const dirs: string[] = [];

afterEach(async () => {
  await world?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const statuses = (sha: string) => world.fake.state.statuses.filter((s) => s.sha === sha && s.context === "release-gate/gate-a");
const botReplies = (pr: number) => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);

/** `gate verify DIR --key PUB.pem` over the bundle as it is on `branch`. */
async function verifyOnBranch(branch: string, runId: string): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "bot-verify-"));
  dirs.push(dir);
  for (const [path, bytes] of bundleOnBranch(world.fake, branch, runId)) {
    mkdirSync(dirname(join(dir, "b", path)), { recursive: true });
    writeFileSync(join(dir, "b", path), bytes);
  }
  writeFileSync(join(dir, "pub.pem"), world.publicKeyPem);
  const lines: string[] = [];
  const code = await verifyCommand([join(dir, "b"), "--key", join(dir, "pub.pem")], {
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  return { code, out: lines.join("\n") };
}

describe("sign-off on an evidence PR", () => {
  test("a full PASS approved by an allowed approver is a signed GO: release-gate/gate-a green, the bundle's copy committed by the bot", async () => {
    world = await startBotWorld("signoff");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
    const { run, evidence, branch } = await finishedRunWithEvidence(world, { pull: source, requestedBy: "octocat" });
    const pr = world.fake.pullRequestJson(evidence);
    expect(pr.base.ref).toBe("release-gate/evidence");
    expect(statuses(source.head.sha).map((s) => [s.state, s.creator])).toEqual([["pending", world.fake.botLogin]]);
    const evidenceHead = pr.head.sha;

    const { answer } = await world.review(evidence, "dri-alice", "approved");
    expect(answer.status).toBe(200);
    const reply = await waitFor("the recorded reply", () =>
      botReplies(evidence).find((c) => c.body.includes("Recorded @dri-alice's approval")),
    );
    expect(reply.body).toContain("(1 of 1 required approval)");
    expect(reply.body).toContain("Gate A GO: GO for production promotion");
    expect(statuses(source.head.sha).at(-1)).toMatchObject({ state: "success", creator: world.fake.botLogin });
    expect(statuses(source.head.sha).at(-1)!.description).toContain("signed off by @dri-alice");

    const recorded = (await world.bot.queue.state.get(run.id))!;
    expect(promotionState(recorded, world.bot.queue.state.approvalKey)).toBe("go");
    expect(recorded.signoff?.approvals).toEqual([expect.objectContaining({ login: "dri-alice", commitId: evidenceHead })]);
    expect(recorded.signoffLog).toHaveLength(1);

    // The bundle's copy: one bot commit on the bot's evidence commit, after the decision.
    const head = await waitFor("the sign-off commit", () => {
      const h = world.fake.pullRequestJson(evidence).head.sha;
      return h !== evidenceHead && h;
    });
    expect(world.fake.state.git.commit(head)?.parents).toEqual([evidenceHead]);
    const files = bundleOnBranch(world.fake, branch, run.id);
    expect(sha256sumCheck(files)).not.toMatch(/FAILED/);
    expect(bundleJson(files, "09-approvals/approval-log.json")).toMatchObject({
      status: "complete",
      approved: 1,
      commit: source.head.sha,
      verdict: "PASS",
    });
    expect(files.get("09-approvals/signed-approvals.jsonl")!.toString().trim().split("\n")).toHaveLength(1);
    const verified = await verifyOnBranch(branch, run.id);
    expect(verified.out).toContain("signed by the given key");
    expect(verified.code).toBe(0);

    // The approval on the older bot commit still counts; dismissing it withdraws the GO.
    const reviewId = recorded.signoff!.approvals[0]!.reviewId;
    expect((await world.dismiss(evidence, reviewId, "dri-alice")).status).toBe(200);
    await waitFor("the dismissal reply", () =>
      botReplies(evidence).find((c) => c.body.includes("Recorded the dismissal of @dri-alice's approval")),
    );
    expect(statuses(source.head.sha).at(-1)).toMatchObject({
      state: "pending",
      description: "approval withdrawn by @dri-alice: 0 of 1 approval",
    });
    expect((await world.bot.queue.state.get(run.id))!.signoff?.status).toBe("withdrawn");
    await waitFor("the withdrawal in the bundle", () => {
      const log = bundleJson(bundleOnBranch(world.fake, branch, run.id), "09-approvals/approval-log.json");
      return log.history.length === 2 && log;
    });
    expect((await verifyOnBranch(branch, run.id)).code).toBe(0);
  });

  test("an approved FAIL is a NO-GO acknowledged, and the status stays red", async () => {
    world = await startBotWorld("signoff-fail");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { evidence } = await finishedRunWithEvidence(world, { pull: source, fail: true });
    expect(statuses(source.head.sha).at(-1)).toMatchObject({ state: "failure" });
    await world.review(evidence, "dri-alice", "approved");
    const reply = await waitFor("the reply", () => botReplies(evidence).find((c) => c.body.includes("Recorded @dri-alice's approval")));
    expect(reply.body).toContain("NO-GO acknowledged");
    expect(statuses(source.head.sha).at(-1)).toMatchObject({ state: "failure", description: "NO-GO (FAIL) acknowledged by @dri-alice" });
    expect(statuses(source.head.sha).some((s) => s.state === "success")).toBe(false);
  });

  test("a member of an @org/team named by the policy may approve", async () => {
    world = await startBotWorld("signoff-team", { permissions: { carol: "write", dave: "write" } });
    world.fake.setTeamMembers("acme/release-captains", ["carol"]);
    const gate = world.bot.catalog.byName("gate-a")!;
    const policy = gate.signoff;
    (gate as { signoff: typeof policy }).signoff = { ...policy, approvers: ["@acme/release-captains"] };
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { evidence } = await finishedRunWithEvidence(world, { pull: source });
    await world.review(evidence, "dave", "approved");
    const refused = await waitFor("dave's refusal", () =>
      botReplies(evidence).find((c) => c.body.includes("@dave, your approval is not recorded")),
    );
    expect(refused.body).toContain("not one of the approvers the gate's sign-off policy names (@acme/release-captains)");
    await world.review(evidence, "carol", "approved");
    await waitFor("carol's approval", () => botReplies(evidence).find((c) => c.body.includes("Recorded @carol's approval")));
    expect(statuses(source.head.sha).at(-1)).toMatchObject({ state: "success" });
  });
});
