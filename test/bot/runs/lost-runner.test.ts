// A runner that dies mid-run leaves the run marked failed, not hanging forever: BullMQ's stalled check
// (maxStalledCount 0) fails the job, and a live runner closes the run on the PR and frees the gate.

import { jest } from "@jest/globals";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { startRunner, type RunnerHandle } from "../../../src/bot/boot/bot-and-runner.js";
import { readRunnerOptions } from "../../../src/bot/boot/bot-options.js";
import { RUN_QUEUE_NAME } from "../../../src/bot/runs/run-queue.js";
import { pino } from "pino";
import { REDIS_URL, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";

jest.setTimeout(30_000);

let world: BotWorld;
let doomed: Worker | undefined;
let doomedConnection: Redis | undefined;
let live: RunnerHandle | undefined;

afterEach(async () => {
  await live?.close();
  await doomed?.close(true);
  doomedConnection?.disconnect();
  await world?.close();
});

test("a run whose runner died is marked failed on the PR and the gate is freed", async () => {
  world = await startBotWorld("lost", { start: { runner: false } });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "a.ts": "1\n" } });

  // A runner that takes the run, starts it, and then goes silent (as a killed process does): its lock lapses.
  let taken: (id: string) => void = () => {};
  const took = new Promise<string>((resolve) => (taken = resolve));
  doomedConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  doomed = new Worker(
    RUN_QUEUE_NAME,
    async (job) => {
      await world.bot.queue.state.update(job.data.runId, () => ({
        phase: "running",
        runner: "doomed:1",
        startedAt: new Date().toISOString(),
      }));
      taken(job.data.runId);
      await new Promise(() => {});
    },
    {
      connection: doomedConnection,
      prefix: world.prefix,
      lockDuration: 1000,
      skipLockRenewal: true,
      skipStalledCheck: true,
      maxStalledCount: 0,
    },
  );

  await world.comment(pr.number, "octocat", "/gate-a replay 1k");
  const runId = await took;
  const run = await world.bot.queue.state.get(runId);
  expect(run).toMatchObject({ phase: "running", runner: "doomed:1" });

  // A live runner, started afterwards, finds the lapsed lock and closes the run.
  const options = readRunnerOptions(world.env);
  if (Array.isArray(options)) throw new Error(options.map((p) => p.message).join("; "));
  live = await startRunner(options, { log: pino({ level: "silent" }), throttle: false, lockDuration: 1000, stalledInterval: 300 });

  const lost = await waitFor(
    "the run to be closed as lost",
    async () => {
      const r = await world.bot.queue.state.get(runId);
      return r?.reportedAt ? r : undefined;
    },
    20_000,
  );
  expect(lost).toMatchObject({ phase: "lost", verdict: "ERROR" });
  expect(lost.reason).toContain("its runner stopped responding");
  const reply = world.comments(pr.number).find((c) => c.body.startsWith(`⚠️ Run \`${runId}\``));
  expect(reply?.body).toContain("is marked failed: its runner stopped responding");
  expect(reply?.body).toContain("Run `/gate-a replay 1k` again.");
  expect(world.fake.commentJson(run!.warRoomCommentId!).body).toContain("⚠️ **The runner stopped mid-run**");
  const free = await waitFor("the gate to be free", async () => {
    const slot = await world.bot.queue.state.slot(world.fake.owner, world.fake.repo, "gate-a");
    return slot.active === null ? slot : undefined;
  });
  expect(free.waiting).toBeNull();
});
