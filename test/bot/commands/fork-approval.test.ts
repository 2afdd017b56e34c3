// A maintainer's approval of a fork PR's run covers the head commit it was given for, and no other:
// a push after the approval (code the maintainer has not seen) needs a new one.

import { Redis } from "ioredis";
import { ForkApprovals } from "../../../src/bot/commands/fork-approval.js";
import { RunStateSeal } from "../../../src/bot/runs/run-state-seal.js";
import { deleteKeys, newPrefix, REDIS_URL } from "../support/bot-world.js";

const prefix = newPrefix("fork-approval");
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});

test("an approval covers the approved head commit of that PR only", async () => {
  const approvals = new ForkApprovals(redis, prefix, RunStateSeal.random());
  const approved = "a".repeat(40);
  const pushedLater = "b".repeat(40);
  expect(await approvals.approvedBy("acme", "service", 7, approved)).toBeNull();
  await approvals.approve("acme", "service", 7, approved, "octocat");
  expect(await approvals.approvedBy("acme", "service", 7, approved)).toBe("octocat");
  expect(await approvals.approvedBy("ACME", "Service", 7, approved)).toBe("octocat"); // GitHub names are case-insensitive
  expect(await approvals.approvedBy("acme", "service", 7, pushedLater)).toBeNull();
  expect(await approvals.approvedBy("acme", "service", 8, approved)).toBeNull();
  expect(await approvals.approvedBy("acme", "other", 7, approved)).toBeNull();
  expect(await redis.ttl(`${prefix}:bot:fork-approval:acme/service#7@${approved}`)).toBeGreaterThan(0);
});

test("an approval written into Redis by anyone but the bot lets no fork run", async () => {
  const approvals = new ForkApprovals(redis, prefix, RunStateSeal.random());
  const sha = "c".repeat(40);
  await redis.set(`${prefix}:bot:fork-approval:acme/service#9@${sha}`, JSON.stringify({ by: "mallory", at: new Date().toISOString() }));
  expect(await approvals.approvedBy("acme", "service", 9, sha)).toBeNull();
  // A genuine approval of another PR copied under this one's key does not count either.
  await approvals.approve("acme", "service", 10, sha, "octocat");
  const genuine = (await redis.get(`${prefix}:bot:fork-approval:acme/service#10@${sha}`))!;
  await redis.set(`${prefix}:bot:fork-approval:acme/service#9@${sha}`, genuine);
  expect(await approvals.approvedBy("acme", "service", 9, sha)).toBeNull();
  expect(await approvals.approvedBy("acme", "service", 10, sha)).toBe("octocat");
});
