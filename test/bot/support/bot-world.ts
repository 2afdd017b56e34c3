// A world for the bot's end-to-end tests: a fake GitHub on 127.0.0.1, the bot started as `gate bot`
// starts it (environment read by readBotOptions, the express web server with Probot's middleware, one runner) with a fresh App key and
// a Redis prefix of its own, and people who comment, push and review through signed webhooks.

import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { pino } from "pino";
import { startBot, type BotHandle, type StartOptions } from "../../../src/bot/boot/bot-and-runner.js";
import { readBotOptions } from "../../../src/bot/boot/bot-options.js";
import {
  startFakeGitHub,
  type CommentJson,
  type FakeGitHub,
  type PermissionLevel,
  type PullRequestJson,
} from "../../support/fake-github.js";
import {
  issueCommentOnPullRequest,
  pullRequestReview,
  pullRequestSynchronize,
  sendWebhook,
  type WebhookAnswer,
} from "../../support/webhook-sender.js";
import { freePort } from "../../../src/process-supervisor.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import { generateSigningKeyPair } from "../../../src/gates/evidence/dsse.js";
import { untilVerdict } from "../../support/until-verdict.js";

export const FIXTURE_GATES = fileURLToPath(new URL("../fixtures/gates/", import.meta.url));
export const GATE_BIN = fileURLToPath(new URL("../../../bin/gate.js", import.meta.url));
export const REDIS_URL = "redis://127.0.0.1:6379";

export interface BotWorld {
  fake: FakeGitHub;
  bot: BotHandle;
  /** The Redis prefix of this world's queue and run records. */
  prefix: string;
  secret: string;
  /** The environment the bot was started with (for a child-process `gate bot`). */
  env: Record<string, string>;
  /** The public half of the bot's EVIDENCE_SIGNING_KEY (PEM), for `gate verify --key`. */
  publicKeyPem: string;
  /** A person's comment on a PR, stored by the fake and delivered as GitHub would. */
  comment(pr: number, user: string, body: string): Promise<{ comment: CommentJson; answer: WebhookAnswer }>;
  /** A person's review, stored by the fake and delivered; `commitId` defaults to the PR's head. */
  review(
    pr: number,
    reviewer: string,
    state: "approved" | "changes_requested",
    commitId?: string,
  ): Promise<{ reviewId: number; answer: WebhookAnswer }>;
  dismiss(pr: number, reviewId: number, reviewer: string): Promise<WebhookAnswer>;
  /** New commits on a PR's head branch, delivered as pull_request.synchronize. */
  push(pr: number, files: Record<string, string>): Promise<{ sha: string; answer: WebhookAnswer }>;
  /** Comments on an issue or PR, in order. */
  comments(issue: number): CommentJson[];
  close(): Promise<void>;
}

export function newPrefix(name: string): string {
  return `rg-test-bot-${name}-${randomBytes(3).toString("hex")}`;
}

/** An RSA key for the App, made fresh for each world as GitHub makes one per App. */
export function appKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}

export async function deleteKeys(prefix: string, redisUrl = REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", "1000");
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * `gate runner` as a child process of the built CLI: the replay then has a process (and a heap, and
 * garbage collections) of its own, as in production, instead of sharing jest's with the fake GitHub.
 */
async function startChildRunner(env: Record<string, string>): Promise<{ stop(): Promise<void>; output(): string }> {
  const child: ChildProcess = spawn(process.execPath, [GATE_BIN, "runner"], {
    env: { PATH: process.env.PATH ?? "", ...env, GITHUB_THROTTLE: "off", LOG_LEVEL: (process.env.BOT_TEST_LOG ?? "warn") as "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor("`gate runner` to be ready", () => output.includes("gate runner: ready") || child.exitCode !== null, 20_000);
  if (child.exitCode !== null) throw new Error(`gate runner exited with ${child.exitCode}:\n${output}`);
  return {
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      // SIGTERM stops a running replay with its teardown; give it time, then insist.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startBotWorld(
  name: string,
  o: {
    permissions?: Record<string, PermissionLevel>;
    start?: StartOptions;
    childRunner?: boolean;
    redisUrl?: string;
    /** The repository's files on its default branch (default: a README only). */
    files?: Record<string, string | Buffer>;
    /** More environment for the bot and its runner (e.g. BUILD_CACHE_DIR). */
    env?: Record<string, string>;
    gatesDir?: string;
  } = {},
): Promise<BotWorld> {
  const privateKey = appKey();
  const fake = await startFakeGitHub({
    app: { id: 4242, privateKey },
    permissions: { "dri-alice": "write", octocat: "write", mallory: "write", visitor: "read", ...o.permissions },
    ...(o.files ? { files: o.files } : {}),
  });
  const prefix = newPrefix(name);
  const secret = `whs-${randomBytes(8).toString("hex")}`;
  const signing = generateSigningKeyPair();
  const env: Record<string, string> = {
    APP_ID: String(fake.appId),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    GHE_HOST: fake.host,
    GHE_PROTOCOL: "http",
    HOST: "127.0.0.1",
    PORT: String(await freePort()),
    REDIS_URL: o.redisUrl ?? REDIS_URL,
    RELEASE_GATE_PREFIX: prefix,
    GATES_DIR: o.gatesDir ?? FIXTURE_GATES,
    LOG_LEVEL: "silent",
    EVIDENCE_SIGNING_KEY: signing.privateKeyPem,
    ...o.env,
  };
  const options = readBotOptions(env);
  if (Array.isArray(options)) throw new Error(options.map((p) => p.message).join("; "));
  const bot = await startBot(options, {
    log: pino({ level: process.env.BOT_TEST_LOG ?? "silent" }),
    throttle: false,
    ...o.start,
    ...(o.childRunner ? { runner: false } : {}),
  });
  const child = o.childRunner ? await startChildRunner(env) : null;
  const ctx = () => fake.webhookContext();
  const deliver = (event: string, payload: unknown) => sendWebhook(bot.webhookUrl, { event, payload, secret });

  return {
    fake,
    bot,
    prefix,
    secret,
    env,
    publicKeyPem: signing.publicKeyPem,
    async comment(pr, user, body) {
      const comment = fake.addComment({ issueNumber: pr, user, body });
      const payload = issueCommentOnPullRequest({
        ...ctx(),
        prNumber: pr,
        commenter: user,
        body,
        comment,
        pullRequest: fake.pullRequestJson(pr),
      });
      return { comment, answer: await deliver("issue_comment", payload) };
    },
    async review(pr, reviewer, state, commitId) {
      const review = fake.submitReview({ pullNumber: pr, reviewer, state, commitId });
      const payload = pullRequestReview({
        ...ctx(),
        prNumber: pr,
        reviewer,
        state,
        commitId: review.commit_id,
        reviewId: review.id,
        pullRequest: fake.pullRequestJson(pr),
      });
      return { reviewId: review.id, answer: await deliver("pull_request_review", payload) };
    },
    async dismiss(pr, reviewId, reviewer) {
      const review = fake.dismissReview(pr, reviewId);
      const payload = pullRequestReview({
        ...ctx(),
        prNumber: pr,
        reviewer,
        state: "dismissed",
        commitId: review.commit_id,
        reviewId,
        pullRequest: fake.pullRequestJson(pr),
      });
      return deliver("pull_request_review", payload);
    },
    async push(pr, files) {
      const before = fake.pullRequestJson(pr) as PullRequestJson;
      const { sha } = fake.pushCommit({ branch: before.head.ref, files });
      const payload = pullRequestSynchronize({
        ...ctx(),
        prNumber: pr,
        headSha: sha,
        before: before.head.sha,
        pullRequest: fake.pullRequestJson(pr),
      });
      return { sha, answer: await deliver("pull_request", payload) };
    },
    comments(issue) {
      return [...fake.state.comments.values()]
        .filter((c) => c.issueNumber === issue)
        .sort((a, b) => a.id - b.id)
        .map((c) => fake.commentJson(c.id));
    },
    async close() {
      await child?.stop();
      await bot.close().catch(() => {});
      await fake.close();
      await deleteKeys(prefix, o.redisUrl).catch(() => {});
    },
  };
}

/** Polls until `probe` returns something other than undefined/false, or fails naming what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The run of `runId` once the PR has been told its end (check run, comments, evidence PR). */
export async function reportedRun(
  world: BotWorld,
  pr: number,
  predicate: (r: RunRecord) => boolean = () => true,
  timeoutMs = 45_000,
): Promise<RunRecord> {
  return waitFor(
    "a run reported on the PR",
    async () => (await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr)).find((r) => r.reportedAt && predicate(r)),
    timeoutMs,
  );
}

/** True when a run could not tell, its replay proving neither PASS nor FAIL (a loaded machine). */
export function driverFellBehind(run: RunRecord): boolean {
  return run.verdict === "INCONCLUSIVE";
}

/** Requests a run and waits for its report: one try, whatever its verdict. */
export async function measuredRun(
  world: BotWorld,
  pr: number,
  user: string,
  command: string,
  timeoutMs = 45_000,
): Promise<{ run: RunRecord; commentId: number; answeredInMs: number }> {
  const before = new Set((await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr)).map((r) => r.id));
  const sent = Date.now();
  const { comment, answer } = await world.comment(pr, user, command);
  const answeredInMs = Date.now() - sent;
  if (answer.status !== 200) throw new Error(`the webhook for "${command}" was answered ${answer.status}: ${answer.body}`);
  const run = await reportedRun(world, pr, (r) => !before.has(r.id), timeoutMs);
  return { run, commentId: comment.id, answeredInMs };
}

/**
 * Requests a run until it ends in `expected`. On a shared 2-core machine the replay driver sometimes
 * falls behind its schedule, and the gate then (rightly) refuses to judge latency: INCONCLUSIVE. Such a
 * run is requested again, up to `tries` times, so the test is about the bot rather than the machine's
 * load; but only `expected` passes (untilVerdict), and the tries it took are reported.
 */
export async function decidedRun(
  world: BotWorld,
  pr: number,
  user: string,
  command: string,
  expected: NonNullable<RunRecord["verdict"]>,
  { tries = 3, timeoutMs = 45_000, retryOn }: { tries?: number; timeoutMs?: number; retryOn?: string[] } = {},
): Promise<{ run: RunRecord; tries: number; commentId: number; answeredInMs: number }> {
  const { result, tries: took } = await untilVerdict(expected, tries, () => measuredRun(world, pr, user, command, timeoutMs), {
    verdictOf: (r) => r.run.verdict,
    reasonOf: (r) => r.run.reason,
    retryOn,
  });
  return { ...result, tries: took };
}
