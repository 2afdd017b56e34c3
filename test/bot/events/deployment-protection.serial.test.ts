// The App as a custom deployment protection rule, with real measurements: a deployment is approved
// only for a commit whose full PASS is signed off (production) or passed (staging); a promotion's
// canary stage, after GO, runs its short gate against the running canary and approves; the stage after
// it follows. Serial: each needs a real PASS, judged on latency. (Rejections and errors, which need no
// PASS, are in deployment-protection.test.ts.)

import { jest } from "@jest/globals";
import pg from "pg";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import { decidedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { untilVerdict } from "../../support/until-verdict.js";
import { DATABASE_URL, DEPLOY_GATES, deployTo, startCanary, type Deployed } from "../support/deployments.js";

jest.setTimeout(240_000);

let world: BotWorld | undefined;
let canary: Awaited<ReturnType<typeof startCanary>> | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  await canary?.restore();
  canary = undefined;
});

/** A full PASS of the PR's head by `command`, with its evidence approved by the DRI (who did not ask for the run: separation of duties): a GO. */
async function signedOffGo(w: BotWorld, pr: number, command: string): Promise<RunRecord> {
  // Up to five tries: on a loaded machine the driver may fall behind, and such a run is (rightly) no PASS.
  const { run } = await decidedRun(w, pr, "octocat", command, "PASS", { tries: 5 });
  expect(`${run.verdict}: ${run.reason}`).toMatch(/^PASS/);
  expect(run.full).toBe(true);
  await w.review(run.evidencePullNumber!, "dri-alice", "approved");
  await waitFor("the sign-off in the bot's record", async () => (await w.bot.queue.state.get(run.id))?.signoff?.status === "complete");
  return run;
}

test("production is approved for the signed-off commit and rejected before its sign-off; staging needs only the PASS; the war room shows the stages", async () => {
  world = await startBotWorld("deploy-signoff", { gatesDir: DEPLOY_GATES });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "export const a = 1;\n" } });
  const sha = pr.head.sha;
  const { run } = await decidedRun(w, pr.number, "octocat", "/gate-a replay all", "PASS", { tries: 5 });
  expect(`${run.verdict}: ${run.reason}`).toMatch(/^PASS/);
  expect(run).toMatchObject({ full: true, headSha: sha });
  expect(run.evidenceUrl).toBeTruthy();

  // staging needs a full PASS, which the commit has.
  const staging = await deployTo(w, "staging", sha, { pr: pr.number });
  expect(staging.decided).toMatchObject({ environment: "staging", state: "approved", actor: w.fake.botLogin });
  expect(staging.decided.comment).toContain(`run \`${run.id}\``);
  expect(staging.decided.comment).toContain(`Evidence: ${run.evidenceUrl}`);

  // production needs the sign-off too: the PASS alone is rejected, with who must approve where.
  const early = await deployTo(w, "production", sha, { pr: pr.number });
  expect(early.decided.state).toBe("rejected");
  expect(early.decided.comment).toContain("its sign-off is missing");
  expect(early.decided.comment).toContain("1 approval(s) from dri-alice");
  expect(early.decided.comment).toContain(`evidence PR ${run.evidenceUrl}`);

  await w.review(run.evidencePullNumber!, "dri-alice", "approved");
  await waitFor(
    "the run's sign-off in the bot's record",
    async () => (await w.bot.queue.state.get(run.id))?.signoff?.status === "complete",
  );

  const approved = await deployTo(w, "production", sha, { pr: pr.number });
  expect(approved.decided).toMatchObject({ environment: "production", state: "approved" });
  expect(approved.decided.comment).toContain("signed off by @dri-alice");
  expect(approved.decided.comment).toContain(`Evidence: ${run.evidenceUrl}`);

  // The run's war room shows the stages and one decision-log line per decision.
  const record = (await w.bot.queue.state.get(run.id))!;
  const warRoom = w.fake.commentJson(record.warRoomCommentId!).body;
  expect(warRoom).toContain("#### Promotion");
  expect(warRoom).toMatch(/\| production \| signoff \| ✅ approved \| .+ UTC \| @octocat \|/);
  expect(warRoom).toMatch(/\| staging \| pass \| ✅ approved \|/);
  const log = warRoom.split("\n").filter((l) => /^- .+ UTC \*\*(staging|production)\*\*/.test(l));
  expect(log.map((l) => /\*\*(\w+)\*\* (\w+)/.exec(l)!.slice(1).join(" "))).toEqual([
    "staging APPROVED",
    "production REJECTED",
    "production APPROVED",
  ]);
});

test("after GO, the canary stage runs its short gate against the running canary and approves; live follows; the canary gone, a run errors and rejects", async () => {
  canary = await startCanary();
  world = await startBotWorld("deploy-run", { gatesDir: DEPLOY_GATES });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const sha = pr.head.sha;
  const go = await signedOffGo(w, pr.number, "/gate-p replay all");

  // A progress note at once, then the verdict of a real replay against the service.
  // On a loaded 2-core machine the driver may fall behind; the gate then refuses to judge (INCONCLUSIVE, by design): tried again.
  const { result: decision } = await untilVerdict("PASS", 3, () => deployTo(w, "canary-10", sha, { pr: pr.number, timeoutMs: 90_000 }), {
    verdictOf: (d: Deployed) => / is (PASS|FAIL|ERROR|INCONCLUSIVE|PARTIAL)\b/.exec(d.decided.comment ?? "")?.[1],
    reasonOf: (d: Deployed) => d.decided.comment,
  });
  expect(decision.callbacks[0]).toEqual(
    expect.objectContaining({ comment: "Gate P: running against canary-10 now; this deployment waits for the verdict." }),
  );
  expect(decision.callbacks[0]!.state).toBeUndefined();
  expect(decision.decided.comment).toContain(
    `(canary-10: 300 requests @ 150/s against ${canary.service.baseUrl}) on ${sha.slice(0, 7)} is PASS`,
  );
  expect(decision.decided.state).toBe("approved");
  const evidence = /Evidence: (\S+\/pull\/(\d+))/.exec(decision.decided.comment ?? "");
  expect(evidence).not.toBeNull();
  expect(w.fake.pullRequestJson(Number(evidence![2])).head.ref).toMatch(/^gate-p\/evidence\//);
  // It really measured the running service: the canary's own schema holds the replayed events.
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    const { rows } = await db.query(`select count(*)::int as n from "${canary.schema}".webhook_events`);
    expect(rows[0].n).toBeGreaterThanOrEqual(290);
  } finally {
    await db.end();
  }

  // canary-10 approved the commit and live's soak (0s) is over: live, which needs the sign-off, approves.
  const live = await deployTo(w, "live", sha, { pr: pr.number });
  expect(live.decided.state).toBe("approved");
  expect(live.decided.comment).toContain("signed off by @dri-alice");

  // The GO run's war room shows both stages.
  const warRoom = w.fake.commentJson((await w.bot.queue.state.get(go.id))!.warRoomCommentId!).body;
  expect(warRoom).toMatch(/\| canary-10 \| run \| ✅ approved \|/);
  expect(warRoom).toMatch(/\| live \| signoff \| ✅ approved \|/);

  // The canary service goes away: the run errors, and an error never approves.
  await canary.restore();
  canary = undefined;
  const broken = await deployTo(w, "canary-10", sha, { timeoutMs: 60_000 });
  expect(broken.decided.state).toBe("rejected");
  expect(broken.decided.comment).toMatch(
    /is ERROR: (rbac: 10 of 10 credential cases got no answer \(.+\): the service could not be reached; )?canary-10 did not run \(not run: (could not run|RBAC probe failed): .+\)/,
  );
});
