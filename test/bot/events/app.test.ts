// The app's answers to PR comments that start no run: help, unknown commands, refusals, and the
// comments it must ignore. The bot runs as `gate bot` runs it, against a fake GitHub.

import { jest } from "@jest/globals";
import { startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { issueCommentOnPullRequest, sendWebhook } from "../../support/webhook-sender.js";

jest.setTimeout(30_000);

let world: BotWorld;
let pr: number;

beforeEach(async () => {
  world = await startBotWorld("app");
  pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "export {};\n" } }).number;
});

afterEach(async () => {
  await world.close();
});

const botComments = () => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);
const reactionsOn = (commentId: number) =>
  [...world.fake.state.reactions.values()].filter((r) => r.commentId === commentId).map((r) => r.content);

describe("the GitHub App on PR comments", () => {
  test("help lists the commands and is acknowledged with 👀", async () => {
    const { comment, answer } = await world.comment(pr, "octocat", "/gate-a help");
    expect(answer.status).toBe(200);
    const reply = await waitFor("the help reply", () => botComments()[0]);
    expect(reply.body).toContain("> /gate-a help");
    expect(reply.body).toContain("`/gate-a replay <phase>`");
    expect(reply.body).toContain("`/gate-a abort`");
    expect(reply.body).toContain("need write (or maintain, or admin) permission");
    expect(reactionsOn(comment.id)).toEqual(["eyes"]);
  });

  test("an unknown command and a malformed one get help with the reason", async () => {
    await world.comment(pr, "octocat", "/gate-a deploy now");
    await world.comment(pr, "octocat", "/gate-a replay 30k");
    const replies = await waitFor("two help replies", () => (botComments().length === 2 ? botComments() : undefined));
    expect(replies[0].body).toContain('I did not understand that: unknown command "deploy"');
    expect(replies[1].body).toContain('unknown phase "30k"; expected one of 1k, smoke, 5k, load, all');
    expect(replies[1].body).toContain("`/gate-a status`");
  });

  test("a user without write permission is refused with the reason, and nothing is queued", async () => {
    const { comment } = await world.comment(pr, "visitor", "/gate-a replay 1k");
    const reply = await waitFor("the refusal", () => botComments()[0]);
    expect(reply.body).toContain("@visitor, you may not start Gate A runs");
    expect(reply.body).toContain("needs **write** permission on this repository and you have **read**");
    expect(reply.body).toContain("commands.permission");
    expect(reactionsOn(comment.id)).toEqual(["eyes"]);
    expect(world.fake.count("checks.create")).toBe(0);
    expect(await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr)).toEqual([]);
    // Someone who is not a collaborator at all is refused the same way, abort included.
    await world.comment(pr, "stranger", "/gate-a abort");
    const second = await waitFor("the second refusal", () => botComments()[1]);
    expect(second.body).toContain("@stranger, you may not abort Gate A runs");
    expect(second.body).toContain("you have **none**");
  });

  test("status is open to anyone and says nothing is running", async () => {
    await world.comment(pr, "visitor", "/gate-a status");
    const reply = await waitFor("the status reply", () => botComments()[0]);
    expect(reply.body).toContain("**Gate A status** on acme/service");
    expect(reply.body).toContain("Now: nothing is running.");
    expect(reply.body).toContain(`No Gate A run on PR #${pr} yet`);
  });

  test("abort with nothing running says so", async () => {
    await world.comment(pr, "octocat", "/gate-a abort");
    const reply = await waitFor("the reply", () => botComments()[0]);
    expect(reply.body).toContain("Nothing to abort: no Gate A run is running or waiting on acme/service.");
  });

  test("comments from bots, edits, conversation and other gates' words are ignored", async () => {
    const ctx = world.fake.webhookContext();
    const send = (payload: unknown) => sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: world.secret });
    const fromBot = world.fake.addComment({ issueNumber: pr, user: "dependabot[bot]", body: "/gate-a help" });
    expect(
      (
        await send(
          issueCommentOnPullRequest({ ...ctx, prNumber: pr, commenter: "dependabot[bot]", body: "/gate-a help", comment: fromBot }),
        )
      ).status,
    ).toBe(200);
    const mine = world.fake.addComment({ issueNumber: pr, user: world.fake.botLogin, body: "/gate-a help" });
    await send(issueCommentOnPullRequest({ ...ctx, prNumber: pr, commenter: world.fake.botLogin, body: "/gate-a help", comment: mine }));
    const edited = world.fake.addComment({ issueNumber: pr, user: "octocat", body: "/gate-a help" });
    await send(
      issueCommentOnPullRequest({
        ...ctx,
        prNumber: pr,
        commenter: "octocat",
        body: "/gate-a help",
        comment: edited,
        action: "edited",
        previousBody: "hi",
      }),
    );
    await world.comment(pr, "octocat", "LGTM, but run /gate-a replay 1k later");
    await world.comment(pr, "octocat", "/gate-b replay 1k");
    // A command sent last proves the earlier deliveries were all processed (webhooks are answered in order here).
    await world.comment(pr, "octocat", "/gate-a help");
    await waitFor("the one help reply", () => world.fake.count("issues.createComment") > 0);
    expect(world.fake.count("issues.createComment")).toBe(1);
    expect(botComments().at(-1)?.body).toContain("> /gate-a help");
    expect(world.fake.count("reactions.createForIssueComment")).toBe(1);
  });

  test("a webhook with a wrong signature is rejected and does nothing", async () => {
    const ctx = world.fake.webhookContext();
    const payload = issueCommentOnPullRequest({ ...ctx, prNumber: pr, commenter: "octocat", body: "/gate-a help" });
    const answer = await sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: "not-the-secret" });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(world.fake.count("issues.createComment")).toBe(0);
  });
});

describe("gate files the command is judged by", () => {
  test("when GitHub cannot give the default branch's gate files, nothing starts and the reply says why", async () => {
    const pr = world.fake.createPullRequest({ head: "unreadable-gates", files: { "src/x.ts": "x\n" } });
    // (a 5xx would be retried by the client; a 403 is an answer)
    world.fake.failNext("repos.getContent", { status: 403, body: { message: "Resource not accessible by integration" } }, 1);
    await world.comment(pr.number, "octocat", "/gate-a replay 1k");
    const reply = await waitFor("the reply", () => world.comments(pr.number).find((c) => c.user.login === world.fake.botLogin));
    expect(reply.body).toContain(
      "⚠️ Nothing was started: the gate files on the default branch could not be read (GitHub answered 403: Resource not accessible by integration",
    );
    expect(await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number)).toEqual([]);
  });
});
