// One run at a time per gate and repository: a command during a run waits (at most one waits, a newer
// one replaces it) or is refused, and the reply says which and who holds the run; `/gate-a abort` stops
// the running replay, teardown included, the run ends as aborted, and the waiting run starts next.

import { jest } from "@jest/globals";
import { startBotWorld, reportedRun, waitFor, type BotWorld } from "./support/bot-world.js";
import type { RunRecord } from "../../src/bot/run-state.js";
import { warRoomMarker } from "../../src/bot/war-room-comment.js";

jest.setTimeout(90_000);

let world: BotWorld;

afterEach(async () => {
  await world?.close();
});

const runs = (pr: number) => world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr);

/**
 * `/gate-a replay 5k` until its 10-second load phase is running (a smoke phase the loaded machine could
 * not measure ends the run early; it is then requested again).
 */
async function runInLoadPhase(pr: number): Promise<RunRecord> {
  const reasons: string[] = [];
  for (let attempt = 1; attempt <= 5; attempt++) {
    const before = new Set((await runs(pr)).map((r) => r.id));
    await world.comment(pr, "octocat", "/gate-a replay 5k");
    const run = await waitFor(
      "the load phase to start, or the run to end",
      async () => (await runs(pr)).find((r) => !before.has(r.id) && (r.reportedAt || r.timeline?.some((t) => t.milestone.startsWith("load") && t.status === "running"))),
      45_000,
    );
    if (!run.reportedAt) return run;
    reasons.push(`${run.verdict}: ${run.reason}`);
  }
  throw new Error(`the smoke phase never passed in 5 attempts:\n${reasons.join("\n")}`);
}

describe("one run at a time", () => {
  test("a second command waits, a newer one replaces it, a duplicate is refused, and abort stops the run", async () => {
    world = await startBotWorld("queue");
    const pr1 = world.fake.createPullRequest({ head: "feature-1", files: { "a.ts": "1\n" } });
    const pr2 = world.fake.createPullRequest({ head: "feature-2", files: { "b.ts": "2\n" } });
    const a = await runInLoadPhase(pr1.number);

    // mallory's command waits behind octocat's run; its war-room comment says who holds the gate.
    await world.comment(pr1.number, "mallory", "/gate-a replay 1k");
    const b = await waitFor("mallory's run to be queued", async () => (await runs(pr1.number)).find((r) => r.requestedBy === "mallory" && r.waitingBehind));
    expect(b.phase).toBe("queued");
    const bComment = () => world.fake.commentJson(b.warRoomCommentId!).body;
    await waitFor("the queued banner", () => bComment().includes("⏳ **Queued.**"));
    expect(bComment()).toContain(`@octocat's \`replay 5k\` (run \`${a.id}\`, PR #${pr1.number}) holds Gate A on this repository`);

    // The same command on the same commit as the running one is refused, saying who holds the run.
    await world.comment(pr1.number, "dri-alice", "/gate-a replay all");
    const refused = await waitFor("the refusal", () => world.comments(pr1.number).find((c) => c.body.includes("Refused:")));
    expect(refused.body).toContain("the same command on the same commit is already running");
    expect(refused.body).toContain(`@octocat's run \`${a.id}\``);

    // A newer command (on another PR) replaces the waiting one; both comments say so.
    await world.comment(pr2.number, "dri-alice", "/gate-a replay 1k");
    const replacedReply = await waitFor("the replacing reply", () => world.comments(pr2.number).find((c) => c.body.includes("replacing @mallory's waiting")));
    expect(replacedReply.body).toContain(`Queued behind @octocat's \`replay 5k\` (run \`${a.id}\`)`);
    await waitFor("mallory's comment to say it was replaced", () => bComment().includes("Cancelled before it started: replaced by @dri-alice's `replay 1k`"));
    expect((await world.bot.queue.state.get(b.id))?.phase).toBe("cancelled");
    const c = (await runs(pr2.number)).find((r) => r.requestedBy === "dri-alice")!;

    await world.comment(pr1.number, "visitor", "/gate-a status");
    const status = await waitFor("the status", () => world.comments(pr1.number).find((x) => x.body.includes("**Gate A status**")));
    expect(status.body).toContain(`- Now: run \`${a.id}\``);
    expect(status.body).toContain("running");
    expect(status.body).toContain(`- Waiting: run \`${c.id}\`: \`replay 1k\``);

    // Abort: the running replay stops, the target is torn down, the run ends as aborted.
    await world.comment(pr1.number, "octocat", "/gate-a abort");
    const aborting = await waitFor("the abort reply", () => world.comments(pr1.number).find((x) => x.body.includes("🛑 Aborting run")));
    expect(aborting.body).toContain(`run \`${a.id}\` (@octocat's \`replay 5k\``);
    expect(aborting.body).toContain(`@dri-alice's waiting \`replay 1k\` (run \`${c.id}\`) starts after it`);
    const ended = await reportedRun(world, pr1.number, (r) => r.id === a.id);
    expect(ended).toMatchObject({ phase: "finished", aborted: true, abortRequestedBy: "octocat" });
    // The engine judges what was measured before the stop; an aborted run is never a PASS.
    expect(["FAIL", "ERROR"]).toContain(ended.verdict);
    expect(ended.reason).toMatch(/^aborted; /);
    const check = [...world.fake.state.checkRuns.values()].find((x) => x.id === ended.checkRunId);
    expect(check).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(world.fake.commentJson(ended.warRoomCommentId!).body).toContain("🛑 Aborted by @octocat; teardown completed.");
    const final = world.comments(pr1.number).find((x) => x.body.startsWith(`<!-- release-gate:verdict run=${a.id} -->`));
    expect(final?.body).toContain("🛑 Aborted by @octocat; teardown completed.");
    // Its evidence is kept like any run's.
    const evidence = world.fake.readTree(`gate-a/evidence/${a.id}`);
    const verdict = JSON.parse(evidence.get(`evidence/${a.id}/verdict.json`)!.toString()) as { reason: string; phases: { name: string }[] };
    expect(verdict.phases.map((p) => p.name)).toEqual(["smoke", "load"]);
    expect(verdict.reason).toMatch(/^aborted; /);

    // The waiting run starts next and runs to its end; the replaced one never ran.
    const next = await reportedRun(world, pr2.number, (r) => r.id === c.id);
    expect(next.phase).toBe("finished");
    expect(world.comments(pr2.number).filter((x) => x.body.startsWith(warRoomMarker(c.id)))).toHaveLength(1);
    expect([...world.fake.state.checkRuns.values()].filter((x) => x.externalId === b.id)).toHaveLength(0);
    const free = await waitFor("the gate to be free", async () => {
      const slot = await world.bot.queue.state.slot(world.fake.owner, world.fake.repo, "gate-a");
      return slot.active === null ? slot : undefined;
    });
    expect(free).toEqual({ active: null, waiting: null });
  });

  test("abort with nothing running says so", async () => {
    world = await startBotWorld("abort-idle");
    const pr = world.fake.createPullRequest({ head: "feature", files: { "a.ts": "1\n" } });
    await world.comment(pr.number, "octocat", "/gate-a abort");
    const reply = await waitFor("the reply", () => world.comments(pr.number).find((x) => x.user.login === world.fake.botLogin));
    expect(reply.body).toContain("Nothing to abort: no Gate A run is running or waiting on acme/service.");
  });
});
