// Attacks on the bot's store, tried as code that can write the bot's Redis would: a record SET by hand, a
// genuine record copied under another run, commit or installation, a sign-off the signed chain does not
// back, and a sign-off left in a record before its evidence. None turns into a GO: asserted against the
// fake GitHub's statuses (and who set them), deployment answers and comments, and the bot's error log.

import { jest } from "@jest/globals";
import { Octokit } from "@octokit/rest";
import { Redis } from "ioredis";
import { pino } from "pino";
import { readRunnerOptions } from "../../../src/bot/boot/bot-options.js";
import { recordEvidence } from "../../../src/bot/signoff/run-evidence.js";
import { RunState, type RunRecord } from "../../../src/bot/runs/run-state.js";
import { REDIS_URL, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { DEPLOY_GATES, deployTo } from "../support/deployments.js";
import { finishedRunWithEvidence } from "../support/finished-run.js";

jest.setTimeout(120_000);

let world: BotWorld | undefined;
let redis: Redis | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  redis?.disconnect();
  redis = undefined;
});

const CONTEXT = "release-gate/gate-a";

/** A bot world whose error-level log lines are kept, and a Redis connection standing for the attacker. */
async function attackedWorld(name: string): Promise<{ w: BotWorld; errors: string[]; attacker: Redis }> {
  const errors: string[] = [];
  const log = pino({ level: "error" }, { write: (line: string) => void errors.push(line) });
  world = await startBotWorld(name, { gatesDir: DEPLOY_GATES, start: { log } });
  redis = new Redis(REDIS_URL);
  return { w: world, errors, attacker: redis };
}

const runKey = (w: BotWorld, id: string) => `${w.prefix}:bot:run:${id}`;
const commitIndex = (w: BotWorld, sha: string) => `${w.prefix}:bot:commit:${w.fake.owner}/${w.fake.repo}:gate-a@${sha}`.toLowerCase();
const appStatuses = (w: BotWorld, sha: string) =>
  w.fake.state.statuses.filter((s) => s.sha === sha && s.context === CONTEXT && s.creator === w.fake.botLogin);

/** The bot's own store, with the key the bot derives: for records only the bot could have written. */
function botsOwnState(w: BotWorld, r: Redis): RunState {
  const options = readRunnerOptions(w.env);
  if (Array.isArray(options)) throw new Error(options.map((p) => p.message).join("; "));
  return new RunState(r, `${w.prefix}:bot`, { seal: options.runStateSeal, approvalKey: options.signingKey });
}

describe("a store that cannot be forged", () => {
  test("a FAIL's record SET to a signed-off PASS: no GO status, production rejected, the forgery reported", async () => {
    const { w, errors, attacker } = await attackedWorld("forged-record");
    const source = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
    const { run, evidence } = await finishedRunWithEvidence(w, { pull: source, fail: true });
    const approval = { login: "dri-alice", at: new Date().toISOString(), reviewId: 1, commitId: source.head.sha };
    const forged: RunRecord = {
      ...run,
      verdict: "PASS",
      reason: "every phase passed",
      signoff: { status: "complete", approvals: [approval] },
    };
    await attacker.set(runKey(w, run.id), JSON.stringify(forged));
    // And a record of a commit no run ever measured, listed where the deployment rule looks.
    const never = w.fake.createPullRequest({ head: "never-measured", files: { "src/b.ts": "b\n" } });
    const invented: RunRecord = { ...forged, id: "gate-a-invented-1", headSha: never.head.sha, pullNumber: never.number };
    await attacker.set(runKey(w, invented.id), JSON.stringify(invented));
    await attacker.zadd(commitIndex(w, never.head.sha), Date.now(), invented.id);

    const production = await deployTo(w, "production", source.head.sha, { pr: source.number });
    expect(production.decided).toMatchObject({ state: "rejected", actor: w.fake.botLogin });
    expect(production.decided.comment).toContain(`Ignored the record of \`${run.id}\``);
    const unmeasured = await deployTo(w, "production", never.head.sha);
    expect(unmeasured.decided.state).toBe("rejected");
    expect(unmeasured.decided.comment).toContain("no run measured this commit");

    // Approving the evidence PR of the forged record records nothing: the bot has no (believable) record.
    await w.review(evidence, "dri-alice", "approved");
    await waitFor("the refusal", () => w.comments(evidence).find((c) => c.body.includes("the bot has no record of run")));
    expect(appStatuses(w, source.head.sha).map((s) => s.state)).not.toContain("success");
    expect(appStatuses(w, never.head.sha)).toEqual([]);
    expect(await w.bot.queue.state.get(run.id)).toBeNull();
    const reported = errors
      .map((l) => JSON.parse(l) as { runId?: string; msg: string })
      .filter((e) => /failed its integrity check/.test(e.msg));
    expect(reported.map((e) => e.runId)).toEqual(expect.arrayContaining([run.id, invented.id]));
  });

  test("a genuine GO copied under another id and listed for another commit vouches for nothing there", async () => {
    const { w, attacker } = await attackedWorld("copied-record");
    const source = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
    const { run, evidence } = await finishedRunWithEvidence(w, { pull: source });
    await w.review(evidence, "dri-alice", "approved");
    await waitFor("the GO", () => appStatuses(w, source.head.sha).find((s) => s.state === "success"));

    const other = w.fake.createPullRequest({ head: "unmeasured", files: { "src/evil.ts": "evil\n" } });
    const genuine = (await attacker.get(runKey(w, run.id)))!;
    await attacker.set(runKey(w, "gate-a-copy-1"), genuine);
    await attacker.zadd(commitIndex(w, other.head.sha), Date.now(), run.id, Date.now() + 1, "gate-a-copy-1");
    const production = await deployTo(w, "production", other.head.sha);
    expect(production.decided.state).toBe("rejected");
    expect(production.decided.comment).toContain(`Ignored the records of \`gate-a-copy-1\`, \`${run.id}\``);
    expect(appStatuses(w, other.head.sha)).toEqual([]);
    // The original still stands where it belongs.
    expect((await deployTo(w, "production", source.head.sha, { pr: source.number })).decided.state).toBe("approved");
  });

  test("a record of another installation, or one saying complete without its signed chain, is no GO", async () => {
    const { w, attacker } = await attackedWorld("foreign-record");
    const state = botsOwnState(w, attacker);
    const source = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
    const { run } = await finishedRunWithEvidence(w, { pull: source });
    const approval = { login: "dri-alice", at: new Date().toISOString(), reviewId: 7, commitId: run.evidenceCommits![0]! };
    // As if the bot itself had been fooled into writing it: sealed, but no signed entry backs the approval.
    await state.update(run.id, () => ({ signoff: { status: "complete", approvals: [approval] } }));
    const unsigned = await deployTo(w, "production", source.head.sha, { pr: source.number });
    expect(unsigned.decided.state).toBe("rejected");
    expect(unsigned.decided.comment).toContain("its signed approval chain does not back that");

    const foreign = w.fake.createPullRequest({ head: "foreign", files: { "src/f.ts": "f\n" } });
    await state.claim({ ...run, id: "gate-a-foreign-1", headSha: foreign.head.sha, installationId: w.fake.installationId + 1 });
    const other = await deployTo(w, "production", foreign.head.sha);
    expect(other.decided.state).toBe("rejected");
    expect(other.decided.comment).toContain("Ignored the record of `gate-a-foreign-1`");
  });

  test("a sign-off already in a record is not carried over: recording the evidence starts a fresh pending one", async () => {
    const { w, attacker } = await attackedWorld("carried-signoff");
    const state = botsOwnState(w, attacker);
    const source = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
    const { run, evidence, branch } = await finishedRunWithEvidence(w, { pull: source });
    const approval = { login: "dri-alice", at: new Date().toISOString(), reviewId: 8, commitId: run.evidenceCommits![0]! };
    await state.update(run.id, () => ({ signoff: { status: "complete", approvals: [approval] } }));
    const github = new Octokit({ auth: "installation-token", baseUrl: w.fake.apiUrl });
    const where = { owner: w.fake.owner, repo: w.fake.repo };
    const pr = w.fake.pullRequestJson(evidence);
    const again = await recordEvidence(
      github,
      where,
      w.bot.catalog.byName("gate-a")!,
      state,
      run.id,
      { number: evidence, url: String(pr.html_url), branch, base: String(pr.base.ref), commitSha: pr.head.sha, reviewers: [] },
      { log: pino({ level: "silent" }) },
    );
    expect(again?.signoff).toEqual({ status: "pending", approvals: [] });
    expect(appStatuses(w, source.head.sha).at(-1)).toMatchObject({ state: "pending" });
  });
});
