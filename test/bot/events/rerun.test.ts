// Runs asked for from GitHub's UI: the "Re-run" button on the gate's check run (same scope, same
// commit, the clicking user's permission checked) and a merge queue's merge group (the gate file's
// merge-queue scope on the group's head commit, or "not required for merge queue").

import { conclusionFor } from "../../../src/bot/github/check-run.js";
import { jest } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { mergeGroupPullNumber } from "../../../src/bot/events/rerun.js";
import { checkRunRerequested, mergeGroupChecksRequested, sendWebhook } from "../../support/webhook-sender.js";
import { measuredRun, reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";

jest.setTimeout(120_000);

const DEPLOY_GATES = fileURLToPath(new URL("../fixtures/deploy-gates/", import.meta.url));

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function pressRerun(w: BotWorld, checkRunId: number, sender: string, pr: number) {
  const c = w.fake.state.checkRuns.get(checkRunId)!;
  const payload = checkRunRerequested({
    ...w.fake.webhookContext(),
    checkRun: { id: c.id, name: c.name, headSha: c.headSha, externalId: c.externalId, status: c.status, conclusion: c.conclusion },
    sender,
    appId: w.fake.appId,
    pullRequests: [w.fake.pullRequestJson(pr)],
  });
  const answer = await sendWebhook(w.bot.webhookUrl, { event: "check_run", payload, secret: w.secret });
  expect(answer.status).toBe(200);
}

test("Re-run on the gate's check run runs the same scope on the same commit, for a user who may start runs", async () => {
  world = await startBotWorld("rerun-check", { gatesDir: DEPLOY_GATES });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const { run: first } = await measuredRun(w, pr.number, "dri-alice", "/gate-a replay 1k");
  expect(first.checkRunId).toBeDefined();
  expect(w.fake.state.checkRuns.get(first.checkRunId!)!.externalId).toBe(first.id);

  // A reader may look, not start runs: refused with the reason, nothing queued.
  const before = (await w.bot.queue.state.runsForPull(w.fake.owner, w.fake.repo, pr.number)).map((r) => r.id);
  await pressRerun(w, first.checkRunId!, "visitor", pr.number);
  const refusal = await waitFor("the refusal", () =>
    w.comments(pr.number).find((c) => c.body.includes("@visitor, you may not re-run Gate A from its check run")),
  );
  expect(refusal.body).toContain("it needs **write** permission on this repository and you have **read**");
  expect((await w.bot.queue.state.runsForPull(w.fake.owner, w.fake.repo, pr.number)).map((r) => r.id)).toEqual(before);

  // A writer's click starts a new run: same commit, same scope, requested by them.
  await pressRerun(w, first.checkRunId!, "octocat", pr.number);
  const again = await reportedRun(w, pr.number, (r) => !before.includes(r.id));
  expect(again).toMatchObject({
    headSha: first.headSha,
    scope: first.scope,
    selector: "1k",
    label: first.label,
    requestedBy: "octocat",
    full: true,
  });
  expect(w.fake.state.checkRuns.get(again.checkRunId!)).toMatchObject({
    headSha: first.headSha,
    externalId: again.id,
    status: "completed",
  });
});

test("a merge group runs the gate file's merge-queue scope on its head commit; a gate without one reports not required", async () => {
  world = await startBotWorld("rerun-merge-group", { gatesDir: DEPLOY_GATES });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const base = w.fake.state.refs.get("refs/heads/main")!;
  // GitHub makes the merge group's commit on a gh-readonly-queue branch, then asks for checks on it.
  const group = w.fake.pushCommit({ branch: `gh-readonly-queue/main/pr-${pr.number}-${base}`, files: { "src/a.ts": "a\n" } });
  const payload = mergeGroupChecksRequested({
    ...w.fake.webhookContext(),
    headSha: group.sha,
    baseSha: base,
    prNumber: pr.number,
    sender: "octocat",
  });
  const answer = await sendWebhook(w.bot.webhookUrl, { event: "merge_group", payload, secret: w.secret });
  expect(answer.status).toBe(200);

  // Gate P's file sets merge_queue: not_required, and says so on the group's commit (neutral: it does not hold the queue).
  const checks = () => [...w.fake.state.checkRuns.values()].filter((c) => c.headSha === group.sha);
  const notRequired = await waitFor("Gate P's check", () => checks().find((c) => c.name === "Gate P"));
  expect(notRequired).toMatchObject({ status: "completed", conclusion: "neutral" });
  expect(notRequired.output.title).toBe("Gate P: not required for merge queue");

  // Gate A's file sets merge_queue: smoke: a run of smoke on the merge group's head commit.
  const run = await reportedRun(w, pr.number, (r) => r.headSha === group.sha);
  expect(run).toMatchObject({ gate: "gate-a", scope: "smoke", label: "merge queue smoke", requestedBy: "octocat" });
  const check = checks().find((c) => c.externalId === run.id)!;
  expect(check).toMatchObject({ name: "Gate A", status: "completed", conclusion: conclusionFor(run.verdict!, false, run.full) });
});

test("a merge group's ref names the pull request it was made for", () => {
  expect(mergeGroupPullNumber("refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64")).toBe(104);
  expect(mergeGroupPullNumber("gh-readonly-queue/release/v2/pr-7-929f8209")).toBe(7);
  expect(mergeGroupPullNumber("refs/heads/feature/pr-104-929f8209")).toBeNull();
  expect(mergeGroupPullNumber("refs/heads/gh-readonly-queue/main/pr-x-929f8209")).toBeNull();
});
