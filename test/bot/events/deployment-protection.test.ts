// The App as a custom deployment protection rule, where it must say no: a commit without the gate's
// record, an environment no gate guards, a run that errors or outlasts its deadline, a stage out of
// order, a promotion stage without GO, a deployment that names its own service, and a callback URL
// that is not the repository's. (Approvals, which need a measured PASS, are in the serial suite.)

import { jest } from "@jest/globals";
import pg from "pg";
import { deploymentProtectionRuleRequested, sendWebhook } from "../../support/webhook-sender.js";
import { startBotWorld, type BotWorld } from "../support/bot-world.js";
import { DATABASE_URL, DEPLOY_GATES, deployTo, startCanary } from "../support/deployments.js";

jest.setTimeout(120_000);

let world: BotWorld | undefined;
let canary: Awaited<ReturnType<typeof startCanary>> | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  await canary?.restore();
  canary = undefined;
});

test("a commit no run measured is rejected, naming the missing sign-off and the command that gets it", async () => {
  world = await startBotWorld("deploy-reject", { gatesDir: DEPLOY_GATES });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const production = await deployTo(w, "production", pr.head.sha, { pr: pr.number });
  expect(production.decided).toMatchObject({ environment: "production", state: "rejected", actor: w.fake.botLogin });
  expect(production.decided.comment).toBe(
    `❌ Gate A: no signed-off full PASS of ${pr.head.sha.slice(0, 7)}: no run measured this commit. To get one, comment \`/gate-a replay all\` on pull request #${pr.number}, ` +
      `then dri-alice approves its evidence PR (signoff: in ${w.bot.catalog.fileOf(w.bot.catalog.byName("gate-a")!)}), then re-run this deployment.`,
  );
  const staging = await deployTo(w, "staging", pr.head.sha);
  expect(staging.decided.state).toBe("rejected");
  expect(staging.decided.comment).toContain(
    `no full PASS of ${pr.head.sha.slice(0, 7)}: no run measured this commit. To get one, comment \`/gate-a replay all\``,
  );
  // The deployment's PR hears about it: the promotion comment with the stage table.
  const note = w.comments(pr.number).find((c) => c.body.includes("### Gate A promotion of"));
  expect(note?.body).toMatch(/\| production \| signoff \| ❌ rejected \| .+ UTC \| @octocat \|/);
});

test("an environment no gate guards is rejected, and a callback URL of another repository is never called", async () => {
  world = await startBotWorld("deploy-unguarded", { gatesDir: DEPLOY_GATES });
  const w = world;
  const sha = w.fake.state.refs.get("refs/heads/main")!;
  const unguarded = await deployTo(w, "qa", sha);
  expect(unguarded.decided.state).toBe("rejected");
  expect(unguarded.decided.comment).toContain(`no gate guards the environment "qa"`);

  // A payload pointing the answer (and the App's token) elsewhere gets no answer at all.
  const d = w.fake.waitForDeployment({ environment: "production", sha });
  const elsewhere = d.callbackUrl.replace(`/repos/${w.fake.owner}/${w.fake.repo}/`, "/repos/mallory/trap/");
  const payload = deploymentProtectionRuleRequested({
    ...w.fake.webhookContext(),
    environment: "production",
    deployment: { ...d, callbackUrl: elsewhere },
  });
  const answer = await sendWebhook(w.bot.webhookUrl, { event: "deployment_protection_rule", payload, secret: w.secret });
  expect(answer.status).toBe(200);
  expect(w.fake.requests.filter((r) => r.path.includes("mallory"))).toEqual([]);
  expect(w.fake.deploymentCallbacks().filter((c) => c.runId === d.runId)).toEqual([]);
});

test("a run that errors rejects: fail closed, with the reason", async () => {
  world = await startBotWorld("deploy-error", { gatesDir: DEPLOY_GATES });
  const sha = world.fake.state.refs.get("refs/heads/main")!;
  const broken = await deployTo(world, "perf-lab", sha, { timeoutMs: 60_000 });
  expect(broken.callbacks[0]).toEqual(
    expect.objectContaining({ comment: "Gate A: running against perf-lab now; this deployment waits for the verdict." }),
  );
  expect(broken.decided.state).toBe("rejected");
  expect(broken.decided.comment).toMatch(
    /^❌ Gate A: run `gate-a-[0-9-]+-[0-9a-f]+` \(perf-lab: 100 requests @ 100\/s against http:\/\/127\.0\.0\.1:9\) on [0-9a-f]{7} is ERROR: (rbac: 10 of 10 credential cases got no answer \(.+\): the service could not be reached; )?perf-lab did not run \(not run: (could not run|RBAC probe failed): .+\)/,
  );
});

test("against the running canary: stages in order, GO before a promotion stage, no service of the deployment's choosing, and a deadline", async () => {
  canary = await startCanary();
  world = await startBotWorld("deploy-canary-refusals", { gatesDir: DEPLOY_GATES, start: { deploymentRunTimeoutMs: 300 } });
  const w = world;
  const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
  const sha = pr.head.sha;

  const live = await deployTo(w, "live", sha);
  expect(live.decided.state).toBe("rejected");
  expect(live.decided.comment).toContain(
    `live comes after canary-10 in the promotion (canary-10 → live), and canary-10 has not approved ${sha.slice(0, 7)}: deploy ${sha.slice(0, 7)} to canary-10 first`,
  );

  const noGo = await deployTo(w, "canary-10", sha, { pr: pr.number });
  expect(noGo.decided.state).toBe("rejected");
  expect(noGo.decided.comment).toContain(
    `canary-10 is a promotion stage, which comes after GO: no signed-off full PASS of ${sha.slice(0, 7)}`,
  );
  expect(noGo.decided.comment).toContain(`\`/gate-p replay all\` on pull request #${pr.number}`);

  const steered = await deployTo(w, "lab", sha, { payload: { environment_url: "http://127.0.0.1:1/" } });
  expect(steered.decided.state).toBe("rejected");
  expect(steered.decided.comment).toContain(
    `the deployment's environment_url http://127.0.0.1:1/ is not the service the gate file names for lab (${canary.service.baseUrl}); a deployment cannot choose what its gate measures`,
  );

  // Nothing above measured the canary.
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    const { rows } = await db.query(`select count(*)::int as n from "${canary.schema}".webhook_events`);
    expect(rows[0].n).toBe(0);
  } finally {
    await db.end();
  }

  const late = await deployTo(w, "lab", sha);
  expect(late.decided.state).toBe("rejected");
  expect(late.decided.comment).toMatch(/the run against lab did not finish within 300(\.0)? ?ms; nothing was approved/);
});
