// The war room's clock and escalation through the bot: a run whose pre-flight fails stops as FAIL
// naming the check before any phase, its updates carry TIME TO DEADLINE, and the escalation list is
// mentioned once, on the first RED update, not again at the RED verdict.

import { jest } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { warRoomMarker } from "../../../src/bot/github/war-room-comment.js";

jest.setTimeout(90_000);

const WAR_ROOM_GATES = fileURLToPath(new URL("../fixtures/war-room-gates/", import.meta.url));
let world: BotWorld;

afterEach(async () => {
  await world?.close();
});

test("a failed pre-flight stops the run as FAIL naming the check, with TIME TO DEADLINE, and escalates once", async () => {
  world = await startBotWorld("escalation", { gatesDir: WAR_ROOM_GATES });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  await world.comment(pr.number, "octocat", "/gate-p replay 1k");
  const run = await reportedRun(world, pr.number);

  expect(run.verdict).toBe("FAIL");
  expect(run.reason).toContain(
    "pre-flight failed: secrets_present (expected set: RG_WAR_ROOM_SECRET_NOBODY_SET, found missing: RG_WAR_ROOM_SECRET_NOBODY_SET)",
  );
  // The other checks ran and passed; no phase ran.
  expect(run.preflight?.map((c) => [c.check, c.verdict])).toEqual([
    ["redis_maxmemory_policy", "PASS"],
    ["secrets_present", "FAIL"],
    ["service_ready", "PASS"],
  ]);
  expect(run.phases?.map((p) => [p.name, p.ran])).toEqual([["smoke", false]]);

  // Every update the war room showed carried the deadline; the comment still does.
  const warRoom = world.comments(pr.number).find((c) => c.body.startsWith(warRoomMarker(run.id)))!;
  // The deadline is a time of day (23:59 Berlin): under an hour away it reads in minutes alone.
  expect(warRoom.body).toMatch(/TIME TO DEADLINE: (\d+ hours?( \d+ minutes?)?|\d+ minutes?) \(deadline \d\d:\d\d UTC\)/);
  expect(warRoom.body).toContain("STATUS: RED");
  const edits = world.fake.requests.filter(
    (r) => r.route === "issues.updateComment" && r.path.endsWith(`/comments/${run.warRoomCommentId}`),
  );
  const withUpdate = edits.map((e) => String((e.body as { body: string }).body)).filter((b) => b.includes("MILESTONE:"));
  expect(withUpdate.length).toBeGreaterThanOrEqual(4);
  for (const body of withUpdate) expect(body).toContain("TIME TO DEADLINE: ");
  expect(withUpdate.some((b) => b.includes("MILESTONE: Pre-flight 2/3 FAIL: secrets_present"))).toBe(true);

  // Two RED updates (the failed check, then the verdict), one escalation comment mentioning the list.
  expect(withUpdate.filter((b) => b.includes("STATUS: RED")).length).toBeGreaterThanOrEqual(2);
  const escalations = world.comments(pr.number).filter((c) => c.body.includes("escalating to"));
  expect(escalations).toHaveLength(1);
  expect(escalations[0].body).toContain("🚨 **Gate P is RED**");
  expect(escalations[0].body).toContain("escalating to @dri-alice @acme/release-captains");
  expect(escalations[0].body).toContain("MILESTONE: Pre-flight 2/3 FAIL: secrets_present");
  expect(escalations[0].body).toContain("ESCALATION: @dri-alice, @acme/release-captains");
  expect(run.escalatedAt).toBeDefined();
  // The secret's name is named; the check never reads out a value.
  expect(escalations[0].body).toContain("RG_WAR_ROOM_SECRET_NOBODY_SET");
});

test("a run waiting in the queue gets a status update at its gate's cadence, with TIME TO DEADLINE", async () => {
  world = await startBotWorld("cadence", { gatesDir: WAR_ROOM_GATES, start: { cadenceTickMs: 200, runner: false } });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const base = {
    gate: "gate-w",
    owner: world.fake.owner,
    repo: world.fake.repo,
    installationId: world.fake.webhookContext().installationId,
    pullNumber: pr.number,
    headSha: pr.head.sha,
    selector: "all",
    label: "replay all",
    phase: "queued" as const,
    full: true,
  };
  // One run holds Gate W (no runner here, so it stays put); the next one waits behind it.
  await world.bot.queue.state.claim({
    ...base,
    id: "gate-w-holder",
    scope: "smoke+load",
    requestedBy: "octocat",
    requestedAt: new Date().toISOString(),
  });
  const comment = world.fake.addComment({ issueNumber: pr.number, user: world.fake.botLogin, body: "waiting" });
  const claimed = await world.bot.queue.state.claim({
    ...base,
    id: "gate-w-waiting",
    scope: "smoke",
    selector: "1k",
    label: "replay 1k",
    requestedBy: "mallory",
    requestedAt: new Date(Date.now() - 5_000).toISOString(),
    warRoomCommentId: comment.id,
  });
  expect(claimed.outcome).toBe("queued");
  await world.bot.queue.state.update("gate-w-waiting", () => ({
    waitingBehind: { id: "gate-w-holder", requestedBy: "octocat", label: "replay all", pullNumber: pr.number },
  }));

  const body = await waitFor("a status update on the waiting run's comment", () => {
    const b = world.fake.commentJson(comment.id).body;
    return b.includes("MILESTONE: Status update: queued") ? b : undefined;
  });
  expect(body).toContain("queued behind @octocat's `replay all` (run gate-w-holder)");
  expect(body).toMatch(/PROGRESS: waiting \d+(\.\d+)?s behind @octocat's/);
  expect(body).toMatch(/TIME TO DEADLINE: 1 hour 59 minutes \(deadline \d\d:\d\d UTC\)/);
  expect(body).toContain("⏳ **Queued.**");
  // The holder's comment is not touched (it has none), and a run without a cadence gets no update.
  const edits = () => world.fake.requests.filter((r) => r.route === "issues.updateComment").length;
  const before = edits();
  await new Promise((r) => setTimeout(r, 600));
  // Gate W's cadence is 2s: within 0.6 s of an update, no second one.
  expect(edits() - before).toBeLessThanOrEqual(1);
});
