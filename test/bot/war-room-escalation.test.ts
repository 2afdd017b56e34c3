// The war room's clock and escalation through the bot: a run whose pre-flight fails stops as FAIL
// naming the check before any phase, its updates carry TIME TO DEADLINE, and the escalation list is
// mentioned once, on the first RED update, not again at the RED verdict.

import { jest } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { reportedRun, startBotWorld, type BotWorld } from "./support/bot-world.js";
import { warRoomMarker } from "../../src/bot/war-room-comment.js";

jest.setTimeout(90_000);

const WAR_ROOM_GATES = fileURLToPath(new URL("./fixtures/war-room-gates/", import.meta.url));
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
  expect(run.reason).toContain("pre-flight failed: secrets_present (expected set: RG_WAR_ROOM_SECRET_NOBODY_SET, found missing: RG_WAR_ROOM_SECRET_NOBODY_SET)");
  // The other checks ran and passed; no phase ran.
  expect(run.preflight?.map((c) => [c.check, c.verdict])).toEqual([
    ["redis_maxmemory_policy", "PASS"],
    ["secrets_present", "FAIL"],
    ["service_ready", "PASS"],
  ]);
  expect(run.phases?.map((p) => [p.name, p.ran])).toEqual([["smoke", false]]);

  // Every update the war room showed carried the deadline; the comment still does.
  const warRoom = world.comments(pr.number).find((c) => c.body.startsWith(warRoomMarker(run.id)))!;
  expect(warRoom.body).toMatch(/TIME TO DEADLINE: \d+ hours? (\d+ minutes? )?\(deadline \d\d:\d\d UTC\)/);
  expect(warRoom.body).toContain("STATUS: RED");
  const edits = world.fake.requests.filter((r) => r.route === "issues.updateComment" && r.path.endsWith(`/comments/${run.warRoomCommentId}`));
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
