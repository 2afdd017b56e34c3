// Sign-off on an evidence PR: an allowed approver's approval of the PR's head is recorded in the bundle
// (HOTL log, decision log, manifest chain) in one commit and turns `Gate A sign-off` green for a PASS;
// a dismissal withdraws it; anyone else is refused with the reason and nothing changes. (Approving the
// evidence of a real FAIL is in replay.serial.test.ts, with the other tests that really run a gate.)

import { jest } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { loadGate } from "../../src/gates/gate-definition.js";
import { writeEvidenceBundle } from "../../src/gates/evidence-bundle.js";
import { publishBundle } from "../../src/bot/publish-command.js";
import { buildGateRun } from "../support/gate-run-fixture.js";
import { FIXTURE_GATES, startBotWorld, waitFor, type BotWorld } from "./support/bot-world.js";
import { bundleJson, bundleOnBranch as onBranch, sha256sumCheck } from "./support/evidence-checks.js";

jest.setTimeout(30_000);

let world: BotWorld;
const dirs: string[] = [];

afterEach(async () => {
  await world?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "bot-signoff-"));
  dirs.push(d);
  return d;
}

/** An evidence PR for a PASS of Gate A on `commit`, opened by the bot's own publishing code. */
async function evidencePullRequest(commit: string, approvers?: string[]): Promise<{ number: number; branch: string; runId: string }> {
  const loaded = loadGate(`${FIXTURE_GATES}gate-a.yaml`);
  const gate = approvers ? { ...loaded, signoff: { ...loaded.signoff, approvers } } : loaded;
  const run = { ...(await buildGateRun({ scale: 0.01, commit })), gate, commit };
  const dir = join(tempDir(), "bundle");
  await writeEvidenceBundle(dir, run);
  const github = new Octokit({ auth: "installation-token", baseUrl: world.fake.apiUrl });
  const published = await publishBundle(github, { owner: world.fake.owner, repo: world.fake.repo }, { gate, bundleDir: dir });
  return { number: published.evidencePullRequest.number, branch: published.evidencePullRequest.branch, runId: run.id };
}

const bundleOnBranch = (branch: string, runId: string) => onBranch(world.fake, branch, runId);
const json = bundleJson;
const statuses = (sha: string, context: string) => world.fake.state.statuses.filter((s) => s.sha === sha && s.context === context);
const botReplies = (pr: number) => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);

describe("sign-off on an evidence PR", () => {
  test("an allowed approver's approval is recorded in one commit and the sign-off goes green; a dismissal withdraws it", async () => {
    world = await startBotWorld("signoff");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const evidence = await evidencePullRequest(source.head.sha);
    const evidenceHead = world.fake.pullRequestJson(evidence.number).head.sha;

    const { answer, reviewId } = await world.review(evidence.number, "dri-alice", "approved");
    expect(answer.status).toBe(200);
    const reply = await waitFor("the recorded reply", () => botReplies(evidence.number).find((c) => c.body.includes("Recorded @dri-alice's approval")));
    expect(reply.body).toContain("(1 of 1 required approval)");
    expect(reply.body).toContain("The sign-off policy's approvals are complete: Gate A GO");

    // One commit on top of the evidence commit, changing only what the sign-off records.
    const head = world.fake.pullRequestJson(evidence.number).head.sha;
    expect(world.fake.state.git.commit(head)?.parents).toEqual([evidenceHead]);
    const files = bundleOnBranch(evidence.branch, evidence.runId);
    expect(sha256sumCheck(files)).not.toMatch(/FAILED/);
    const approvals = json(files, "09-approvals/approval-log.json");
    expect(approvals).toMatchObject({ status: "complete", approved: 1, commit: source.head.sha, verdict: "PASS" });
    expect(approvals.history).toEqual([expect.objectContaining({ reviewer: "dri-alice", state: "approved", commit: source.head.sha })]);
    const decisions = json(files, "09-approvals/decision-log.json").decisions as { title: string }[];
    expect(decisions.at(-1)?.title).toBe("Gate A GO");
    expect(files.get("manifest-history.txt")!.toString()).toMatch(/^[0-9a-f]{64} /m);
    expect(files.has("manifest-history/0001.SHA256SUMS")).toBe(true);

    const green = statuses(source.head.sha, "Gate A sign-off");
    expect(green.at(-1)).toMatchObject({ state: "success", description: "GO: signed off by @dri-alice" });

    // A redelivered review changes nothing.
    const commitsBefore = world.fake.count("git.createCommit");
    await world.review(evidence.number, "dri-alice", "changes_requested");
    expect(world.fake.count("git.createCommit")).toBe(commitsBefore);

    // Dismissing the approval is recorded too, and withdraws the green status.
    expect((await world.dismiss(evidence.number, reviewId, "dri-alice")).status).toBe(200);
    await waitFor("the dismissal reply", () => botReplies(evidence.number).find((c) => c.body.includes("Recorded the dismissal of @dri-alice's approval")));
    const after = bundleOnBranch(evidence.branch, evidence.runId);
    expect(sha256sumCheck(after)).not.toMatch(/FAILED/);
    expect(json(after, "09-approvals/approval-log.json")).toMatchObject({ status: "pending", approved: 0 });
    expect(json(after, "09-approvals/approval-log.json").history.map((a: { state: string }) => a.state)).toEqual(["approved", "dismissed"]);
    expect((json(after, "09-approvals/decision-log.json").decisions as { title: string }[]).at(-1)?.title).toBe("Gate A GO withdrawn");
    expect(statuses(source.head.sha, "Gate A sign-off").at(-1)).toMatchObject({ state: "pending", description: "approval withdrawn by @dri-alice: 0 of 1 approval" });
  });

  test("a reviewer who is not an allowed approver, or who approved an older commit, is refused and nothing is recorded", async () => {
    world = await startBotWorld("signoff-refused");
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const evidence = await evidencePullRequest(source.head.sha);
    const head = world.fake.pullRequestJson(evidence.number).head.sha;

    await world.review(evidence.number, "mallory", "approved");
    const refused = await waitFor("the refusal", () => botReplies(evidence.number).find((c) => c.body.includes("@mallory, your approval is not recorded")));
    expect(refused.body).toContain("@mallory is not one of the approvers the gate's sign-off policy names (dri-alice)");
    expect(refused.body).toContain("still needs 1 more approval(s)");

    const older = world.fake.state.refs.get("refs/heads/main")!;
    await world.review(evidence.number, "dri-alice", "approved", older);
    const stale = await waitFor("the stale-commit refusal", () => botReplies(evidence.number).find((c) => c.body.includes("@dri-alice, your approval is not recorded")));
    expect(stale.body).toContain(`the approval is for ${older.slice(0, 7)}, but the evidence PR's head is ${head.slice(0, 7)}`);

    expect(world.fake.pullRequestJson(evidence.number).head.sha).toBe(head);
    expect(json(bundleOnBranch(evidence.branch, evidence.runId), "09-approvals/approval-log.json")).toMatchObject({ status: "pending", approved: 0, history: [] });
    expect(statuses(source.head.sha, "Gate A sign-off").map((s) => s.state)).toEqual(["pending"]);
  });

  test("a member of an @org/team named by the policy may approve; the team is asked to review", async () => {
    world = await startBotWorld("signoff-team");
    world.fake.setTeamMembers("acme/release-captains", ["carol"]);
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const evidence = await evidencePullRequest(source.head.sha, ["@acme/release-captains"]);
    expect(world.fake.state.pulls.get(evidence.number)?.requestedTeams).toEqual(["release-captains"]);

    await world.review(evidence.number, "dave", "approved");
    const refused = await waitFor("dave's refusal", () => botReplies(evidence.number).find((c) => c.body.includes("@dave, your approval is not recorded")));
    expect(refused.body).toContain("not one of the approvers the gate's sign-off policy names (@acme/release-captains)");

    await world.review(evidence.number, "carol", "approved");
    await waitFor("carol's approval", () => botReplies(evidence.number).find((c) => c.body.includes("Recorded @carol's approval")));
    expect(bundleJson(bundleOnBranch(evidence.branch, evidence.runId), "09-approvals/approval-log.json")).toMatchObject({ status: "complete", approved: 1 });
    expect(statuses(source.head.sha, "Gate A sign-off").at(-1)).toMatchObject({ state: "success", description: "GO: signed off by @carol" });
  });
});
