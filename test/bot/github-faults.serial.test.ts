// GitHub failing under a run: 500s, secondary (429 + Retry-After) and primary (403 +
// x-ratelimit-remaining: 0) rate limits on the bot's writes, and an evidence PR GitHub will not open.
// Each run still ends in a clear state on the PR (check run completed, one final comment), what is safe
// to retry is retried after the wait GitHub asked for, and nothing is written twice. Real replays of the
// small fixture gates; assertions are about GitHub's side, never about the verdict (a loaded machine
// may end a replay ERROR).

import { DEFAULT_EVIDENCE_BASE } from "../../src/gates/gate-file/index.js";
import { conclusionFor } from "../../src/bot/github/check-run.js";
import { jest } from "@jest/globals";
import { githubFaults, type RecordedRequest } from "../support/fake-github.js";
import { warRoomMarker } from "../../src/bot/github/war-room-comment.js";
import type { RunRecord } from "../../src/bot/runs/run-state.js";
import { RedisInstance } from "../../faults/instances.js";
import { reportedRun, startBotWorld, waitFor, type BotWorld } from "./support/bot-world.js";

jest.setTimeout(60_000);

let world: BotWorld;

afterEach(async () => {
  await world?.close();
});

/** Requests a run and waits for it to be reported on the PR (one attempt: retries would change the counts). */
async function oneRun(pr: number, command: string): Promise<RunRecord> {
  const { answer } = await world.comment(pr, "octocat", command);
  expect(answer.status).toBe(200);
  return reportedRun(world, pr, () => true, 50_000);
}

/** Commits of evidence bundles: the evidence base branch's root commit (no parents, made once) is not one. */
const bundleCommits = () =>
  world.fake.requests.filter(
    (r) => r.route === "git.createCommit" && !r.injected && r.status < 300 && ((r.body as { parents?: string[] }).parents ?? []).length > 0,
  ).length;
const runsOf = (pr: number) => world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr);
const tries = (route: string): RecordedRequest[] => world.fake.requests.filter((r) => r.route === route);

/** Everything the PR must show exactly once for a run, whatever GitHub did in between. */
function expectOneOfEach(pr: number, run: RunRecord): void {
  const checks = [...world.fake.state.checkRuns.values()].filter((c) => c.externalId === run.id);
  expect(checks).toHaveLength(1);
  // The check run ends with the conclusion its verdict and scope give (a partial PASS is action_required, never success).
  expect(checks[0]).toMatchObject({ status: "completed", conclusion: conclusionFor(run.verdict!, false, run.full) });
  expect(world.fake.count("checks.create")).toBe(1);
  expect(world.comments(pr).filter((c) => c.body.startsWith(warRoomMarker(run.id)))).toHaveLength(1);
  expect(world.comments(pr).filter((c) => c.body.startsWith(`<!-- release-gate:verdict run=${run.id} -->`))).toHaveLength(1);
  // Every comment the bot managed to write is one of those two: no orphan from a retried create.
  expect(world.fake.count("issues.createComment")).toBe(2);
  expect(bundleCommits()).toBe(1);
  // The evidence branch; the evidence base (release-gate/evidence, made once on first use) aside.
  expect(
    world.fake.requests.filter(
      (r) =>
        r.route === "git.createRef" &&
        !r.injected &&
        r.status < 300 &&
        (r.body as { ref?: string }).ref !== `refs/heads/${DEFAULT_EVIDENCE_BASE}`,
    ),
  ).toHaveLength(1);
}

/** When `route` was tried again after its injected failure. */
function retryOf(route: string): Date {
  const all = tries(route);
  const i = all.findIndex((r) => r.injected);
  expect(all[i + 1]).toBeDefined();
  return new Date(all[i + 1].at);
}

/** The gap between an injected failure of `route` and the next try of it, ms. */
function waitedAfterFault(route: string): number {
  const all = tries(route);
  const i = all.findIndex((r) => r.injected);
  expect(i).toBeGreaterThanOrEqual(0);
  expect(all[i + 1]).toBeDefined();
  return Date.parse(all[i + 1].at) - Date.parse(all[i].at);
}

test("GitHub answering 500 on the bot's writes: the writes are retried and the run is reported once", async () => {
  world = await startBotWorld("faults-500", { childRunner: true });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  world.fake.failNext("issues.createComment", githubFaults.serverError(), 1);
  world.fake.failNext("checks.create", githubFaults.serverError(502), 1);
  world.fake.failNext("checks.update", githubFaults.serverError(), 1);
  world.fake.failNext("git.createCommit", githubFaults.serverError(), 1);
  world.fake.failNext("pulls.create", githubFaults.serverError(503), 1);

  const run = await oneRun(pr.number, "/gate-a replay 1k");
  expect(world.fake.pendingFaults()).toBe(0);
  expect(run.phase).toBe("finished");
  expectOneOfEach(pr.number, run);
  expect(world.fake.count("pulls.create")).toBe(1);
  for (const route of ["issues.createComment", "checks.create", "checks.update", "git.createCommit", "pulls.create"]) {
    expect(tries(route).some((r) => r.injected)).toBe(true);
    expect(tries(route).some((r) => !r.injected && r.status < 300)).toBe(true);
  }
  expect(tries("git.createCommit").filter((r) => r.injected)).toHaveLength(1);
  // The one commit is the evidence PR's head, and the PR is the one the run points at.
  const evidence = world.fake.pullRequestJson(run.evidencePullNumber!);
  expect(evidence.head.ref).toBe(`gate-a/evidence/${run.id}`);
  expect(run.checkRunId).toBeDefined();
  expect(run.warRoomCommentId).toBeDefined();
});

test("rate limits (429 with Retry-After, 403 with x-ratelimit-remaining 0): the bot waits, retries, and writes once", async () => {
  world = await startBotWorld("faults-rate", { childRunner: true });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  // The primary limit's reset is a moment (epoch seconds), not a delay: the check run, created within a
  // second of the command, meets a reset still seconds ahead; the tree, created after the replay, may not.
  const checkLimit = githubFaults.rateLimited(4);
  world.fake.failNext("checks.create", checkLimit, 1);
  world.fake.failNext("issues.updateComment", githubFaults.secondaryRateLimited(1, 429), 1);
  const treeLimit = githubFaults.rateLimited(1);
  world.fake.failNext("git.createTree", treeLimit, 1);
  world.fake.failNext("pulls.create", githubFaults.secondaryRateLimited(1, 429), 1);

  const run = await oneRun(pr.number, "/gate-a replay 1k");
  expect(world.fake.pendingFaults()).toBe(0);
  expect(run.phase).toBe("finished");
  expectOneOfEach(pr.number, run);
  expect(world.fake.count("pulls.create")).toBe(1);
  // One tree for the bundle (on a base tree); the evidence base's first tree (made once) aside.
  expect(
    world.fake.requests.filter(
      (r) => r.route === "git.createTree" && !r.injected && r.status < 300 && (r.body as { base_tree?: string }).base_tree,
    ),
  ).toHaveLength(1);
  expect(run.evidencePullNumber).toBeDefined();
  // Each limited write was tried again only after the wait GitHub asked for: Retry-After (one second)
  // for a 429, until x-ratelimit-reset for a 403.
  for (const route of ["issues.updateComment", "pulls.create"]) expect(waitedAfterFault(route)).toBeGreaterThanOrEqual(900);
  for (const [route, limit] of [
    ["checks.create", checkLimit],
    ["git.createTree", treeLimit],
  ] as const) {
    const reset = Number(limit.headers!["x-ratelimit-reset"]) * 1000;
    expect(retryOf(route).getTime()).toBeGreaterThanOrEqual(reset);
  }
  expect(waitedAfterFault("checks.create")).toBeGreaterThanOrEqual(1000);
});

test("GitHub refusing the evidence PR every time: the run is still reported, and the PR says so", async () => {
  world = await startBotWorld("faults-pr", { childRunner: true });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  // More failures than the client's retries: opening the PR fails for good.
  world.fake.failNext("pulls.create", githubFaults.serverError(), 10);

  const run = await oneRun(pr.number, "/gate-a replay 1k");
  expect(run.phase).toBe("finished");
  expect(run.evidencePullNumber).toBeUndefined();
  expectOneOfEach(pr.number, run);
  expect(world.fake.count("pulls.create")).toBe(0);
  expect(tries("pulls.create").length).toBeGreaterThan(1);

  const final = world.comments(pr.number).find((c) => c.body.startsWith(`<!-- release-gate:verdict run=${run.id} -->`))!;
  expect(final.body).toContain("The evidence PR could not be opened");
  expect(final.body).toContain("GitHub answered 500");
  expect(final.body).toContain(`gate-a/evidence/${run.id}`);
  const check = [...world.fake.state.checkRuns.values()].find((c) => c.id === run.checkRunId)!;
  expect(check.output.summary).toContain("The evidence PR could not be opened");
  // The evidence is not lost: its one commit is on the run's branch, ready for a PR opened by hand.
  expect(world.fake.state.refs.get(`refs/heads/gate-a/evidence/${run.id}`)).toBeDefined();
});

test("Redis killed under the run queue mid-run and restarted: the run ends in a clear state on the PR", async () => {
  // A private Redis (appendonly, fsync always) so that the machine's shared one is never restarted.
  const redis = await RedisInstance.start();
  try {
    world = await startBotWorld("faults-redis", { childRunner: true, redisUrl: redis.url });
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const { answer } = await world.comment(pr.number, "octocat", "/gate-a replay 1k");
    expect(answer.status).toBe(200);
    const running = await waitFor(
      "the replay to be running",
      async () =>
        (await runsOf(pr.number)).find(
          (r) => r.phase === "running" && r.timeline?.some((t) => t.milestone.startsWith("smoke") && t.status === "running"),
        ),
      30_000,
    );

    await redis.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1_500));
    await redis.start();

    const run = await reportedRun(world, pr.number, (r) => r.id === running.id, 50_000);
    expect(["finished", "lost"]).toContain(run.phase);
    expect(run.verdict).toBeDefined();
    const checks = [...world.fake.state.checkRuns.values()].filter((c) => c.externalId === run.id);
    expect(checks).toHaveLength(1);
    expect(checks[0].status).toBe("completed");
    expect(world.comments(pr.number).filter((c) => c.body.startsWith(warRoomMarker(run.id)))).toHaveLength(1);
    // Told once: a final comment, or the "marked failed" reply of a run whose runner lost it.
    const told = world
      .comments(pr.number)
      .filter((c) => c.body.startsWith(`<!-- release-gate:verdict run=${run.id} -->`) || c.body.startsWith(`⚠️ Run \`${run.id}\``));
    expect(told).toHaveLength(1);
    expect(bundleCommits()).toBeLessThanOrEqual(1);
    expect(world.fake.count("pulls.create")).toBeLessThanOrEqual(1);
  } finally {
    await world?.close();
    world = undefined as unknown as BotWorld;
    await redis.destroy();
  }
});
