// Every bot test that really runs a gate (real Redis, real PostgreSQL, the bundled ingest service), in
// one file so that jest runs them one after another and they do not starve each other of CPU:
// - a full `/gate-a replay 1k`: a check run, one war-room comment edited in place, and the evidence in
//   ONE commit on an evidence PR whose tree passes `sha256sum -c --strict`; a push makes it stale;
// - one run at a time: a command during a run waits, a newer one replaces it, a duplicate is refused,
//   and `/gate-s abort` stops the running replay (teardown included);
// - approving the evidence of a FAIL records NO-GO acknowledged and the sign-off stays red.

import { jest } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { decidedRun, measuredRun, reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { bundleJson, bundleOnBranch, sha256sumCheck } from "../support/evidence-checks.js";
import { warRoomMarker } from "../../../src/bot/github/war-room-comment.js";
import { verdictIcon } from "../../../src/gates/verdict/verdict-meaning.js";

jest.setTimeout(90_000);

let world: BotWorld;

afterEach(async () => {
  await world?.close();
});

const runsOf = (pr: number) => world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr);
const botReplies = (pr: number) => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);

describe("a replay requested on a PR", () => {
  test("a /gate-a replay 1k (smoke only: partial) ends in an evidence PR whose committed tree passes sha256sum -c", async () => {
    world = await startBotWorld("replay", { childRunner: true });
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "export const fast = true;\n" } });
    const mainBefore = world.fake.state.refs.get("refs/heads/main")!;

    const { run, tries, commentId, answeredInMs } = await decidedRun(world, pr.number, "octocat", "/gate-a replay 1k", "PASS");
    // The webhook is answered at once; the run (seconds) happens afterwards, in the runner.
    expect(answeredInMs).toBeLessThan(Date.parse(run.finishedAt!) - Date.parse(run.requestedAt));
    expect(answeredInMs).toBeLessThan(2_000);
    expect(run).toMatchObject({ phase: "finished", headSha: pr.head.sha, requestedBy: "octocat", label: "replay 1k" });
    // A PASS within three tries (a loaded machine may keep the driver from its schedule: INCONCLUSIVE, tried again).
    const v = run.verdict!;
    const icon = verdictIcon(v);
    const reactions = [...world.fake.state.reactions.values()].filter((r) => r.commentId === commentId).map((r) => r.content);
    expect(reactions).toEqual(["eyes", "rocket"]);

    // The check run: on the PR's head commit, in progress first, then completed with the verdict table.
    const checks = [...world.fake.state.checkRuns.values()].filter((c) => c.externalId === run.id);
    // One stable name whatever the label; a partial PASS is never success (nor neutral, which a required check accepts).
    expect(checks.map((c) => c.name)).toEqual(["Gate A"]);
    expect(checks[0].headSha).toBe(pr.head.sha);
    expect(checks[0]).toMatchObject({ status: "completed", conclusion: v === "PASS" ? "action_required" : "failure", externalId: run.id });
    expect(checks[0].output.title).toContain("partial: not a promotion decision");
    expect(checks[0].output.summary).toContain(`**Gate verdict: ${icon} ${v}**`);
    expect(checks[0].output.summary).toContain(run.evidenceUrl);
    const created = world.fake.requests.find(
      (r) => r.route === "checks.create" && r.status === 201 && (r.body as { external_id: string }).external_id === run.id,
    );
    expect((created?.body as { status: string }).status).toBe("in_progress");

    // One war-room comment, edited in place at each milestone, ending GREEN (a PASS) with the timeline.
    const warRooms = world.comments(pr.number).filter((c) => c.body.startsWith(warRoomMarker(run.id)));
    expect(warRooms).toHaveLength(1);
    expect(warRooms[0].id).toBe(run.warRoomCommentId);
    const edits = world.fake.requests.filter(
      (r) => r.route === "issues.updateComment" && r.path.endsWith(`/comments/${run.warRoomCommentId}`),
    );
    expect(edits.length).toBeGreaterThanOrEqual(4);
    const warRoom = warRooms[0].body;
    const status = v === "PASS" ? "STATUS: GREEN" : "STATUS: RED";
    for (const field of ["TIME:", "MILESTONE:", status, "PROGRESS:", "BLOCKERS:", "NEXT:", "ETA:", "OWNER: dri-alice"])
      expect(warRoom).toContain(field);
    expect(warRoom).toContain("| Time (UTC) | Milestone | Owner | Status | Blocker |");
    expect(warRoom).toContain("`/gate-a replay 1k` requested");
    expect(warRoom).toMatch(v === "PASS" ? /smoke replay \(200 @ 200\/s.*\| ✅ done/ : /smoke replay \(200 @ 200\/s.*\| ❌ failed/);

    // The final comment: verdict table and links.
    const final = world.comments(pr.number).find((c) => c.body.startsWith(`<!-- release-gate:verdict run=${run.id} -->`));
    expect(final?.body).toContain(`${icon} Gate A ${v}: \`replay 1k\``);
    expect(final?.body).toContain(`[evidence PR](${run.evidenceUrl})`);
    expect(final?.body).toContain(`[check run](${run.checkRunUrl})`);

    // The evidence PR: titled with the verdict, the summary as body, the policy's reviewer asked.
    const evidence = world.fake.pullRequestJson(run.evidencePullNumber!);
    expect(evidence.title).toMatch(new RegExp(`^Gate A ${v}: 1K replay evidence, \\d{4}-\\d{2}-\\d{2}$`));
    expect(evidence.head.ref).toBe(`gate-a/evidence/${run.id}`);
    expect(evidence.base.ref).toBe("release-gate/evidence");
    expect(String(evidence.body)).toContain(`# Gate A: ${v}`);
    expect(world.fake.state.pulls.get(evidence.number)?.requestedReviewers).toEqual(["dri-alice"]);

    // ONE commit, on the evidence base (started once, as a root commit sharing no history with the code),
    // holding the whole bundle. (A run the loaded machine could not measure was requested again: each run is its own one commit.)
    expect(world.fake.count("git.createCommit")).toBe(tries + 1);
    expect(world.fake.count("git.createTree")).toBe(tries + 1);
    const commit = world.fake.state.git.commit(evidence.head.sha)!;
    const baseRoot = world.fake.state.refs.get("refs/heads/release-gate/evidence")!;
    expect(commit.parents).toEqual([baseRoot]);
    expect(world.fake.state.git.commit(baseRoot)!.parents).toEqual([]);
    expect(world.fake.state.refs.get("refs/heads/main")).toBe(mainBefore);
    const tree = world.fake.readTree(evidence.head.ref);
    expect(tree.get("README.md")?.toString()).toContain("never merged into the code");
    expect(tree.has("src/ingest.ts")).toBe(false);
    const prefix = `evidence/${run.id}/`;
    const files = [...tree.keys()].filter((p) => p.startsWith(prefix));
    expect(files).toContain(`${prefix}SHA256SUMS`);
    expect(files.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), "bot-evidence-"));
    try {
      for (const path of files) {
        const file = join(dir, path.slice(prefix.length));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, tree.get(path)!);
      }
      const out = execFileSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir }).toString();
      expect(out).not.toMatch(/FAILED/);
      expect(out.trim().split("\n").length).toBe(files.length - 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // A partial run is not a promotion decision: it never sets the promotion status.
    expect(world.fake.state.statuses.filter((s) => s.sha === pr.head.sha && s.context === "release-gate/gate-a")).toEqual([]);
  });

  test("new commits pushed after a run mark its results stale and ask for a new run", async () => {
    world = await startBotWorld("stale", { childRunner: true });
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "v1\n" } });
    // Any ended run will do: staleness is about the commit, not the verdict.
    const { run } = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k");

    const { sha, answer } = await world.push(pr.number, { "src/ingest.ts": "v2\n" });
    expect(answer.status).toBe(200);
    const stale = await waitFor("the run to be marked stale", () =>
      world.bot.queue.state.get(run.id).then((r) => (r?.staleSince ? r : undefined)),
    );
    expect(stale.staleSince?.headSha).toBe(sha);
    const runs = await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number);
    expect(runs.every((r) => r.staleSince?.headSha === sha)).toBe(true);

    const warRoom = world.fake.commentJson(run.warRoomCommentId!).body;
    expect(warRoom).toContain(
      `⚠️ **Stale.** Commits were pushed after ${pr.head.sha.slice(0, 7)} (the PR's head is now ${sha.slice(0, 7)})`,
    );
    expect(warRoom).toContain("run `/gate-a replay 1k` again for the new head");
    const onNewHead = [...world.fake.state.checkRuns.values()].filter((c) => c.headSha === sha);
    expect(onNewHead).toHaveLength(1);
    expect(onNewHead[0]).toMatchObject({ name: "Gate A", status: "completed", conclusion: "action_required" });
    expect(onNewHead[0].output.summary).toContain("A new run is needed: comment `/gate-a replay 1k`");
    // The old result still belongs to its commit: its check run is untouched.
    expect([...world.fake.state.checkRuns.values()].find((c) => c.id === run.checkRunId)?.conclusion).toBe(
      run.verdict === "PASS" ? "action_required" : "failure",
    );

    await world.comment(pr.number, "visitor", "/gate-a status");
    const status = await waitFor("the status reply", () => world.comments(pr.number).find((c) => c.body.includes("**Gate A status**")));
    expect(status.body).toContain(`\`replay 1k\` on ${pr.head.sha.slice(0, 7)} (run \`${run.id}\`, @octocat): **${run.verdict}**`);
    expect(status.body).toContain("⚠️ stale");

    // A second push marks nothing twice.
    await world.push(pr.number, { "src/ingest.ts": "v3\n" });
    await new Promise((r) => setTimeout(r, 300));
    expect([...world.fake.state.checkRuns.values()].filter((c) => c.name === "Gate A" && c.externalId !== run.id)).toHaveLength(1);
  });
});

describe("one run at a time", () => {
  /** Waits until `run`'s replay phase is running (deploy done, requests going out). */
  const replaying = (pr: number, who: string) =>
    waitFor(
      `@${who}'s replay to be running`,
      async () =>
        (await runsOf(pr)).find(
          (r) =>
            r.requestedBy === who &&
            r.phase === "running" &&
            r.timeline?.some((t) => t.milestone.startsWith("slow") && t.status === "running"),
        ),
      45_000,
    );

  test("a second command waits, a newer one replaces it, a duplicate is refused, and abort stops the run", async () => {
    world = await startBotWorld("queue", { childRunner: true });
    const pr1 = world.fake.createPullRequest({ head: "feature-1", files: { "a.ts": "1\n" } });
    const pr2 = world.fake.createPullRequest({ head: "feature-2", files: { "b.ts": "2\n" } });
    const pr3 = world.fake.createPullRequest({ head: "feature-3", files: { "c.ts": "3\n" } });
    await world.comment(pr1.number, "octocat", "/gate-s replay 3k");
    const a = await replaying(pr1.number, "octocat");

    // mallory's command waits behind octocat's run; its war-room comment says who holds the gate.
    await world.comment(pr2.number, "mallory", "/gate-s replay 3k");
    const b = await waitFor("mallory's run to be queued", async () => (await runsOf(pr2.number)).find((r) => r.waitingBehind));
    expect(b.phase).toBe("queued");
    const bComment = () => world.fake.commentJson(b.warRoomCommentId!).body;
    await waitFor("the queued banner", () => bComment().includes("⏳ **Queued.**"));
    expect(bComment()).toContain(`@octocat's \`replay 3k\` (run \`${a.id}\`, PR #${pr1.number}) holds Gate S on this repository`);

    // The same run on the same commit as the running one is refused, saying who holds it.
    await world.comment(pr1.number, "dri-alice", "/gate-s replay all");
    const refused = await waitFor("the refusal", () => world.comments(pr1.number).find((c) => c.body.includes("Refused:")));
    expect(refused.body).toContain("the same command on the same commit is already running");
    expect(refused.body).toContain(`@octocat's run \`${a.id}\``);

    // A newer command replaces the waiting one; both comments say so.
    await world.comment(pr3.number, "dri-alice", "/gate-s replay 3k");
    const replacing = await waitFor("the replacing reply", () =>
      world.comments(pr3.number).find((c) => c.body.includes("replacing @mallory's waiting")),
    );
    expect(replacing.body).toContain(`Queued behind @octocat's \`replay 3k\` (run \`${a.id}\`)`);
    await waitFor("mallory's comment to say it was replaced", () =>
      bComment().includes("Cancelled before it started: replaced by @dri-alice's `replay 3k`"),
    );
    expect((await world.bot.queue.state.get(b.id))?.phase).toBe("cancelled");
    const c = (await runsOf(pr3.number))[0];

    await world.comment(pr1.number, "visitor", "/gate-s status");
    const status = await waitFor("the status", () => world.comments(pr1.number).find((x) => x.body.includes("**Gate S status**")));
    expect(status.body).toContain(`- Now: run \`${a.id}\``);
    expect(status.body).toContain("running");
    expect(status.body).toContain(`- Waiting: run \`${c.id}\`: \`replay 3k\``);

    // Abort: the running replay stops, the target is torn down, the run ends as aborted.
    await world.comment(pr1.number, "octocat", "/gate-s abort");
    const aborting = await waitFor("the abort reply", () => world.comments(pr1.number).find((x) => x.body.includes("🛑 Aborting run")));
    expect(aborting.body).toContain(`run \`${a.id}\` (@octocat's \`replay 3k\``);
    expect(aborting.body).toContain(`@dri-alice's waiting \`replay 3k\` (run \`${c.id}\`) starts after it`);
    const ended = await reportedRun(world, pr1.number, (r) => r.id === a.id);
    expect(ended).toMatchObject({ phase: "finished", aborted: true, abortRequestedBy: "octocat" });
    // The engine judges what was measured before the stop; an aborted run is never a PASS.
    expect(["FAIL", "ERROR", "INCONCLUSIVE"]).toContain(ended.verdict);
    expect(ended.reason).toMatch(/^aborted; /);
    // Stopped early: the 3,000-request replay of a ten-second phase ended within seconds of the abort.
    expect(Date.parse(ended.finishedAt!) - Date.parse(ended.startedAt!)).toBeLessThan(10_000);
    const check = [...world.fake.state.checkRuns.values()].find((x) => x.id === ended.checkRunId);
    expect(check).toMatchObject({ name: "Gate S", status: "completed", conclusion: "cancelled" });
    expect(world.fake.commentJson(ended.warRoomCommentId!).body).toContain("🛑 Aborted by @octocat; teardown completed.");
    const final = world.comments(pr1.number).find((x) => x.body.startsWith(`<!-- release-gate:verdict run=${a.id} -->`));
    expect(final?.body).toContain("🛑 Aborted by @octocat; teardown completed.");
    const verdict = bundleJson(bundleOnBranch(world.fake, `gate-s/evidence/${a.id}`, a.id), "verdict.json");
    expect(verdict.reason).toMatch(/^aborted; /);

    // The waiting run starts next (and is aborted in turn); the replaced one never ran.
    await replaying(pr3.number, "dri-alice");
    await world.comment(pr3.number, "dri-alice", "/gate-s abort");
    const second = await reportedRun(world, pr3.number, (r) => r.id === c.id);
    expect(second).toMatchObject({ aborted: true, abortRequestedBy: "dri-alice" });
    expect(world.comments(pr3.number).filter((x) => x.body.startsWith(warRoomMarker(c.id)))).toHaveLength(1);
    expect([...world.fake.state.checkRuns.values()].filter((x) => x.externalId === b.id)).toHaveLength(0);
    const free = await waitFor("the gate to be free", async () => {
      const slot = await world.bot.queue.state.slot(world.fake.owner, world.fake.repo, "gate-s");
      return slot.active === null ? slot : undefined;
    });
    expect(free).toEqual({ active: null, waiting: null });
  });
});

describe("approval of a FAIL", () => {
  const statuses = (sha: string, context: string) => world.fake.state.statuses.filter((s) => s.sha === sha && s.context === context);

  test("approving the evidence of a FAIL records NO-GO acknowledged and the sign-off stays red", async () => {
    world = await startBotWorld("signoff-fail", { childRunner: true });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    // A FAIL within three tries (a loaded machine may keep the replay from proving it: INCONCLUSIVE, tried again).
    const { run, tries } = await decidedRun(world, source.number, "octocat", "/gate-f replay 1k", "FAIL");
    const v = run.verdict!;
    // Each try is an attempt on this commit: a FAIL on the second try is attempt 2, after the INCONCLUSIVE.
    expect(run.attempt).toMatchObject({ number: tries, max: 3 });
    const earlier = run.attempt!.earlier.map((e) => e.verdict);
    expect(earlier).toEqual(Array(tries - 1).fill("INCONCLUSIVE"));
    const attempt = `attempt ${tries} of 3 on this commit${earlier.length ? `, after ${earlier.join(", ")}` : ""}`;
    const evidence = world.fake.pullRequestJson(run.evidencePullNumber!);
    expect(evidence.title).toMatch(new RegExp(`^Gate F ${v}: 1K replay evidence, \\d{4}-\\d{2}-\\d{2}$`));
    // Gate F has one phase: `replay 1k` is a full run, a promotion decision (a NO-GO).
    expect(run.full).toBe(true);
    expect(statuses(source.head.sha, "release-gate/gate-f").at(-1)).toMatchObject({
      state: "failure",
      description: `NO-GO (${attempt}): run ${run.id} ended ${v}`,
      creator: world.fake.botLogin,
    });
    const check = [...world.fake.state.checkRuns.values()].find((c) => c.id === run.checkRunId);
    expect(check).toMatchObject({ name: "Gate F", conclusion: "failure" });

    // No approvers listed: anyone with write permission may sign off; read is not enough.
    await world.review(evidence.number, "visitor", "approved");
    const refused = await waitFor("the refusal", () =>
      botReplies(evidence.number).find((c) => c.body.includes("@visitor, your approval is not recorded")),
    );
    expect(refused.body).toContain("needs **write** permission on this repository (`signoff.permission`) and @visitor has **read**");

    // @octocat asked for the run, so does not sign it off; @mallory (write) may.
    await world.review(evidence.number, "octocat", "approved");
    const self = await waitFor("the self refusal", () =>
      botReplies(evidence.number).find((c) => c.body.includes("@octocat, your approval is not recorded")),
    );
    expect(self.body).toContain("requested run");
    await world.review(evidence.number, "mallory", "approved");
    const reply = await waitFor("the recorded reply", () =>
      botReplies(evidence.number).find((c) => c.body.includes("Recorded @mallory's approval")),
    );
    expect(reply.body).toContain("NO-GO acknowledged");
    expect(reply.body).not.toContain("GO.**");
    const files = bundleOnBranch(world.fake, evidence.head.ref, run.id);
    expect(sha256sumCheck(files)).not.toMatch(/FAILED/);
    const titles = (bundleJson(files, "09-approvals/decision-log.json").decisions as { title: string }[]).map((d) => d.title);
    expect(titles.at(-1)).toBe("Gate F NO-GO acknowledged");
    expect(titles.some((t) => / GO$/.test(t))).toBe(false);
    expect(bundleJson(files, "09-approvals/approval-log.json")).toMatchObject({ verdict: v, status: "complete", approved: 1 });
    const all = statuses(source.head.sha, "release-gate/gate-f");
    expect(all.at(-1)).toMatchObject({
      state: "failure",
      description: `NO-GO (${v}) (${attempt}) acknowledged by @mallory`,
    });
    expect(all.some((s) => s.state === "success")).toBe(false);
  });
});
