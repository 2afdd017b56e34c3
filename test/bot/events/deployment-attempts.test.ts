// A deployment's `requires: run` is an attempt on its commit like a PR's run, in the same ledger (repository,
// gate, commit): recorded whatever its verdict, judged at its attempt's level, counted in the PR runs' "attempt
// k of n", and refused past the rule's max, the deployment rejected with a message naming the rule. On the fake
// GitHub with real Redis: perf-lab's run (nothing listens on its port) really runs and ERRORs; the PR's run
// goes through a gate engine that PASSes at once (the gate-run fixture).

import { jest } from "@jest/globals";
import { ledgerSubject } from "../../../src/bot/runs/run-attempt.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import type { runToBundle } from "../../../src/gates/run/run-to-bundle.js";
import { decidedRun } from "../support/decided-run.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";
import { reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { DEPLOY_GATES, deployTo } from "../support/deployments.js";
import { bundleOnBranch } from "../support/evidence-checks.js";

jest.setTimeout(240_000);

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A gate engine for the PR's runs that PASSes at once, and keeps the level each run was judged at. */
function passingEngine(alphas: number[]): typeof runToBundle {
  return async (gate, o) => {
    alphas.push(o.judgeAlpha!);
    const run: GateRun = { ...(await buildGateRun({ scale: 0.01, commit: o.commit })), id: o.runId!, gate, commit: o.commit };
    return decidedRun(gate, run, o);
  };
}

/** The run id a deployment's answer names. */
function runIdOf(comment: string | undefined): string {
  const m = /run `(gate-a-[^`]+)`/.exec(comment ?? "");
  if (!m) throw new Error(`no run named in ${JSON.stringify(comment)}`);
  return m[1]!;
}

test("a deployment's run is an attempt in its commit's ledger, counted by the PR's runs; past max the deployment is rejected, naming the rule", async () => {
  const alphas: number[] = [];
  world = await startBotWorld("deploy-attempts", { gatesDir: DEPLOY_GATES, start: { runGate: passingEngine(alphas) } });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const sha = pr.head.sha;
  const subject = ledgerSubject({ owner: w.fake.owner, repo: w.fake.repo, gate: "gate-a", headSha: sha });
  const ledger = () => w.bot.queue.attempts.read(subject);

  // Attempt 1: a deployment to perf-lab runs the gate (nothing listens there: ERROR), and the ledger has it.
  const first = await deployTo(w, "perf-lab", sha, { pr: pr.number, timeoutMs: 90_000 });
  expect(first.decided.state).toBe("rejected");
  expect(first.decided.comment).toMatch(/ is ERROR: .+ \(attempt 1 of 3 on this commit\)\./);
  const firstRun = runIdOf(first.decided.comment);
  const one = await ledger();
  expect(one.problem).toBeNull();
  expect(one.entries.map((e) => [e.attempt, e.run, e.verdict, e.alpha, e.origin, e.full])).toEqual([
    [1, firstRun, "ERROR", 0.025, "deployment", false],
  ]);
  // Its evidence carries the ledger as the PR runs' does.
  const evidencePr = Number(/Evidence: \S+\/pull\/(\d+)/.exec(first.decided.comment ?? "")![1]);
  const files = bundleOnBranch(w.fake, w.fake.pullRequestJson(evidencePr).head.ref, firstRun);
  expect(files.get("attempt-ledger.jsonl")!.toString().trim().split("\n")).toHaveLength(1);

  // Attempt 2: the PR's run counts the deployment's, and is judged at the level the rule spends on a second attempt.
  const before = new Set((await w.bot.queue.state.runsForPull(w.fake.owner, w.fake.repo, pr.number)).map((r) => r.id));
  await w.comment(pr.number, "octocat", "/gate-a replay all");
  const second: RunRecord = await reportedRun(w, pr.number, (r) => !before.has(r.id) && Boolean(r.evidenceUrl));
  expect(alphas).toEqual([0.0125]);
  expect(second.attempt).toMatchObject({ number: 2, max: 3, alpha: 0.0125, earlier: [{ attempt: 1, run: firstRun, verdict: "ERROR" }] });
  expect(w.fake.state.comments.get(second.warRoomCommentId!)!.body).toContain("Attempt 2 of 3 on this commit");

  // Attempt 3: another deployment, judged at 0.05 / 8, and told it is the third.
  const third = await deployTo(w, "perf-lab", sha, { pr: pr.number, timeoutMs: 90_000 });
  expect(third.decided.comment).toContain("(attempt 3 of 3 on this commit)");
  const thirdRun = runIdOf(third.decided.comment);
  expect((await ledger()).entries.map((e) => [e.attempt, e.run, e.origin, e.alpha])).toEqual([
    [1, firstRun, "deployment", 0.025],
    [2, second.id, "pr", 0.0125],
    [3, thirdRun, "deployment", 0.00625],
  ]);

  // A fourth deployment is refused before anything runs: rejected, naming the rule and what to do.
  const refused = await deployTo(w, "perf-lab", sha, { pr: pr.number, timeoutMs: 30_000 });
  expect(refused.decided.state).toBe("rejected");
  expect(refused.decided.comment).toContain(
    "❌ Gate A: not run against perf-lab: this commit has had 3 attempts, the most the gate's rule allows (attempts: max 3, alpha_spending (total alpha 0.05))",
  );
  expect(refused.decided.comment).toContain("push a new commit");
  expect((await ledger()).entries).toHaveLength(3);
  // Nor may the PR run it again: the deployments count.
  await w.comment(pr.number, "octocat", "/gate-a replay all");
  await waitFor("the PR's refusal", () =>
    w.comments(pr.number).find((c) => c.user.login === w.fake.botLogin && c.body.includes("3 attempts, the most the gate's rule allows")),
  );
  expect(alphas).toHaveLength(1);
});
