// A full `/gate-a replay 1k` on a PR, end to end: the bot (as `gate bot` runs it) queues the run, a
// runner really runs the gate against real Redis and PostgreSQL, the PR shows a check run and one
// war-room comment edited in place, and the evidence lands in ONE commit on an evidence PR whose tree
// passes `sha256sum -c --strict`. Then a push makes the result stale.

import { jest } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { measuredRun, startBotWorld, waitFor, type BotWorld } from "./support/bot-world.js";
import { warRoomMarker } from "../../src/bot/war-room-comment.js";

jest.setTimeout(90_000);

let world: BotWorld;

afterEach(async () => {
  await world?.close();
});

describe("a replay requested on a PR", () => {
  test("a full /gate-a replay 1k ends in an evidence PR whose committed tree passes sha256sum -c", async () => {
    world = await startBotWorld("replay");
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "export const fast = true;\n" } });
    const mainBefore = world.fake.state.refs.get("refs/heads/main")!;

    const { run, attempts, commentId, answeredInMs } = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k");
    // The webhook is answered at once; the run (seconds) happens afterwards, in the runner.
    expect(answeredInMs).toBeLessThan(Date.parse(run.finishedAt!) - Date.parse(run.requestedAt));
    expect(answeredInMs).toBeLessThan(2_000);
    expect(run).toMatchObject({ phase: "finished", verdict: "PASS", headSha: pr.head.sha, requestedBy: "octocat", label: "replay 1k" });
    const reactions = [...world.fake.state.reactions.values()].filter((r) => r.commentId === commentId).map((r) => r.content);
    expect(reactions).toEqual(["eyes", "rocket"]);

    // The check run: on the PR's head commit, in progress first, then completed with the verdict table.
    const checks = [...world.fake.state.checkRuns.values()].filter((c) => c.externalId === run.id);
    expect(checks.map((c) => c.name)).toEqual(["Gate A / replay 1k"]);
    expect(checks[0].headSha).toBe(pr.head.sha);
    expect(checks[0]).toMatchObject({ status: "completed", conclusion: "success", externalId: run.id });
    expect(checks[0].output.summary).toContain("**Gate verdict: ✅ PASS**");
    expect(checks[0].output.summary).toContain(run.evidenceUrl);
    const created = world.fake.requests.find((r) => r.route === "checks.create" && r.status === 201 && (r.body as { external_id: string }).external_id === run.id);
    expect((created?.body as { status: string }).status).toBe("in_progress");

    // One war-room comment, edited in place at each milestone, ending GREEN with the timeline.
    const warRooms = world.comments(pr.number).filter((c) => c.body.startsWith(warRoomMarker(run.id)));
    expect(warRooms).toHaveLength(1);
    expect(warRooms[0].id).toBe(run.warRoomCommentId);
    const edits = world.fake.requests.filter((r) => r.route === "issues.updateComment" && r.path.endsWith(`/comments/${run.warRoomCommentId}`));
    expect(edits.length).toBeGreaterThanOrEqual(4);
    const warRoom = warRooms[0].body;
    for (const field of ["TIME:", "MILESTONE:", "STATUS: GREEN", "PROGRESS:", "BLOCKERS:", "NEXT:", "ETA:", "OWNER: dri-alice"]) expect(warRoom).toContain(field);
    expect(warRoom).toContain("| Time (UTC) | Milestone | Owner | Status | Blocker |");
    expect(warRoom).toContain("`/gate-a replay 1k` requested");
    expect(warRoom).toMatch(/smoke replay \(200 @ 200\/s.*\| ✅ done/);

    // The final comment: verdict table and links.
    const final = world.comments(pr.number).find((c) => c.body.startsWith(`<!-- release-gate:verdict run=${run.id} -->`));
    expect(final?.body).toContain("✅ Gate A PASS: `replay 1k`");
    expect(final?.body).toContain(`[evidence PR](${run.evidenceUrl})`);
    expect(final?.body).toContain(`[check run](${run.checkRunUrl})`);

    // The evidence PR: titled with the verdict, the summary as body, the policy's reviewer asked.
    const evidence = world.fake.pullRequestJson(run.evidencePullNumber!);
    expect(evidence.title).toMatch(/^Gate A PASS: 1K replay evidence, \d{4}-\d{2}-\d{2}$/);
    expect(evidence.head.ref).toBe(`gate-a/evidence/${run.id}`);
    expect(evidence.base.ref).toBe("main");
    expect(String(evidence.body)).toContain("# Gate A: PASS");
    expect(world.fake.state.pulls.get(evidence.number)?.requestedReviewers).toEqual(["dri-alice"]);

    // ONE commit, straight on the default branch, holding the whole bundle and keeping the rest of the tree.
    // (A run the loaded machine could not measure was requested again: each run is its own one commit.)
    expect(world.fake.count("git.createCommit")).toBe(attempts);
    expect(world.fake.count("git.createTree")).toBe(attempts);
    const commit = world.fake.state.git.commit(evidence.head.sha)!;
    expect(commit.parents).toEqual([mainBefore]);
    const tree = world.fake.readTree(evidence.head.ref);
    expect(tree.get("README.md")?.toString()).toBe("# service\n");
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

    // The sign-off waits for the approver, as a pending status on the gated commit.
    const signoff = world.fake.state.statuses.filter((s) => s.sha === pr.head.sha && s.context === "Gate A sign-off");
    expect(signoff.at(-1)?.state).toBe("pending");
    expect(signoff.at(-1)?.description).toContain("awaiting sign-off: 0 of 1");
  });

  test("new commits pushed after a run mark its results stale and ask for a new run", async () => {
    world = await startBotWorld("stale");
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "v1\n" } });
    // Any ended run will do: staleness is about the commit, not the verdict.
    const { run } = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k", 1);

    const { sha, answer } = await world.push(pr.number, { "src/ingest.ts": "v2\n" });
    expect(answer.status).toBe(200);
    const stale = await waitFor("the run to be marked stale", () => world.bot.queue.state.get(run.id).then((r) => (r?.staleSince ? r : undefined)));
    expect(stale.staleSince?.headSha).toBe(sha);
    const runs = await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number);
    expect(runs.every((r) => r.staleSince?.headSha === sha)).toBe(true);

    const warRoom = world.fake.commentJson(run.warRoomCommentId!).body;
    expect(warRoom).toContain(`⚠️ **Stale.** Commits were pushed after ${pr.head.sha.slice(0, 7)} (the PR's head is now ${sha.slice(0, 7)})`);
    expect(warRoom).toContain("run `/gate-a replay 1k` again for the new head");
    const onNewHead = [...world.fake.state.checkRuns.values()].filter((c) => c.headSha === sha);
    expect(onNewHead).toHaveLength(1);
    expect(onNewHead[0]).toMatchObject({ name: "Gate A", status: "completed", conclusion: "neutral" });
    expect(onNewHead[0].output.summary).toContain("A new run is needed: comment `/gate-a replay 1k`");
    // The old result still belongs to its commit: its check run is untouched.
    expect([...world.fake.state.checkRuns.values()].find((c) => c.id === run.checkRunId)?.conclusion).toBe(run.verdict === "PASS" ? "success" : "failure");

    await world.comment(pr.number, "visitor", "/gate-a status");
    const status = await waitFor("the status reply", () => world.comments(pr.number).find((c) => c.body.includes("**Gate A status**")));
    expect(status.body).toContain(`\`replay 1k\` on ${pr.head.sha.slice(0, 7)} (run \`${run.id}\`, @octocat): **${run.verdict}**`);
    expect(status.body).toContain("⚠️ stale");

    // A second push marks nothing twice.
    await world.push(pr.number, { "src/ingest.ts": "v3\n" });
    await new Promise((r) => setTimeout(r, 300));
    expect([...world.fake.state.checkRuns.values()].filter((c) => c.name === "Gate A")).toHaveLength(1);
  });
});
