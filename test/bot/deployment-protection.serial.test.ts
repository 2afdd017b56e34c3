// The App as a custom deployment protection rule: a workflow job waiting on `environment: production`
// is approved only for a commit whose full PASS is signed off, and otherwise rejected with what is
// missing and the command that gets it; a `requires: run` environment is measured there and then; an
// error rejects. Driven by signed deployment_protection_rule webhooks against the fake GitHub, which
// records the App's answers on the callback URL.

import { jest } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { deploy, type Deployment } from "../../src/gates/deployment.js";
import { deploymentProtectionRuleRequested, sendWebhook } from "../support/webhook-sender.js";
import type { DeploymentCallback } from "../support/fake-github.js";
import { measuredRun, REDIS_URL, startBotWorld, waitFor, type BotWorld } from "./support/bot-world.js";
import type { StartOptions } from "../../src/bot/bot-command.js";
import type { RunRecord } from "../../src/bot/run-state.js";

jest.setTimeout(180_000);

const DEPLOY_GATES = fileURLToPath(new URL("./fixtures/deploy-gates/", import.meta.url));
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Deployed {
  decided: DeploymentCallback;
  callbacks: DeploymentCallback[];
  runId: number;
}

/** A workflow job waits on `environment`; GitHub tells the App; the App's decision comes back on the callback. */
async function deployTo(
  w: BotWorld,
  environment: string,
  sha: string,
  o: { pr?: number; payload?: Record<string, unknown>; callbackUrl?: (real: string) => string; timeoutMs?: number } = {},
): Promise<Deployed> {
  const d = w.fake.waitForDeployment({ environment, sha, creator: "octocat" });
  const payload = deploymentProtectionRuleRequested({
    ...w.fake.webhookContext(),
    environment,
    deployment: { ...d, callbackUrl: o.callbackUrl ? o.callbackUrl(d.callbackUrl) : d.callbackUrl },
    pullRequests: o.pr ? [w.fake.pullRequestJson(o.pr)] : [],
    deploymentPayload: o.payload,
  });
  const answer = await sendWebhook(w.bot.webhookUrl, { event: "deployment_protection_rule", payload, secret: w.secret });
  expect(answer.status).toBe(200);
  const decided = await waitFor(`the App's decision on ${environment}`, () => w.fake.deploymentCallbacks().find((c) => c.runId === d.runId && c.state), o.timeoutMs ?? 30_000);
  return { decided, callbacks: w.fake.deploymentCallbacks().filter((c) => c.runId === d.runId), runId: d.runId };
}

describe("a signed-off full PASS guards production", () => {
  test("approved for the signed-off commit; rejected before sign-off and for another commit, naming the sign-off and the command", async () => {
    world = await startBotWorld("deploy-signoff", { gatesDir: DEPLOY_GATES });
    const w = world;
    const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "export const a = 1;\n" } });
    const sha = pr.head.sha;
    const { run } = await measuredRun(w, pr.number, "dri-alice", "/gate-a replay all", 5);
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
    await waitFor("the run's sign-off in the bot's record", async () => (await w.bot.queue.state.get(run.id))?.signoff?.status === "complete");

    const approved = await deployTo(w, "production", sha, { pr: pr.number });
    expect(approved.decided).toMatchObject({ environment: "production", state: "approved" });
    expect(approved.decided.comment).toContain("signed off by @dri-alice");
    expect(approved.decided.comment).toContain(`Evidence: ${run.evidenceUrl}`);

    // Another commit has no run at all: rejected, naming the sign-off and the command that gets it.
    const other = w.fake.pushCommit({ branch: "main", files: { "src/b.ts": "export const b = 2;\n" } });
    const rejected = await deployTo(w, "production", other.sha);
    expect(rejected.decided.state).toBe("rejected");
    expect(rejected.decided.comment).toContain(`no signed-off full PASS of ${other.sha.slice(0, 7)}`);
    expect(rejected.decided.comment).toContain("`/gate-a replay all`");
    expect(rejected.decided.comment).toContain("dri-alice approves its evidence PR");

    // The run's war room shows the stages and one decision-log line per decision.
    const record = (await w.bot.queue.state.get(run.id))!;
    const warRoom = w.fake.commentJson(record.warRoomCommentId!).body;
    expect(warRoom).toContain("#### Promotion");
    expect(warRoom).toMatch(/\| production \| signoff \| ✅ approved \| .+ UTC \| @octocat \|/);
    expect(warRoom).toMatch(/\| staging \| pass \| ✅ approved \|/);
    const log = warRoom.split("\n").filter((l) => /^- .+ UTC \*\*(staging|production)\*\*/.test(l));
    expect(log.map((l) => /\*\*(\w+)\*\* (\w+)/.exec(l)!.slice(1).join(" "))).toEqual(["staging APPROVED", "production REJECTED", "production APPROVED"]);
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
    const payload = deploymentProtectionRuleRequested({ ...w.fake.webhookContext(), environment: "production", deployment: { ...d, callbackUrl: elsewhere } });
    const answer = await sendWebhook(w.bot.webhookUrl, { event: "deployment_protection_rule", payload, secret: w.secret });
    expect(answer.status).toBe(200);
    expect(w.fake.requests.filter((r) => r.path.includes("mallory"))).toEqual([]);
    expect(w.fake.deploymentCallbacks().filter((c) => c.runId === d.runId)).toEqual([]);
  });
});

describe("requires: run measures the environment itself", () => {
  let service: Deployment | undefined;
  let logDir: string;

  /** A running canary service (the bundled one, in a schema of its own) and a bot whose gate file points at it. */
  async function worldWithCanary(name: string, start: StartOptions = {}): Promise<BotWorld> {
    logDir = mkdtempSync(join(tmpdir(), `${name}-`));
    const namespace = `rg_canary_${randomBytes(3).toString("hex")}`;
    const credentials = { signingSecret: `whsec_${randomBytes(24).toString("base64")}` };
    service = await deploy(
      { kind: "bundled", mode: "queue", workers: 1, batchSize: 50, batchLingerMs: 5, redisUrl: REDIS_URL, databaseUrl: DATABASE_URL },
      { namespace, credentials, logDir },
    );
    process.env.CANARY_URL = service.baseUrl;
    process.env.CANARY_SCHEMA = namespace;
    process.env.CANARY_SIGNING_SECRET = credentials.signingSecret;
    return startBotWorld(name, { gatesDir: DEPLOY_GATES, start });
  }

  /** Gate P's GO on the PR's head: a full PASS, its evidence approved by the DRI. */
  async function signedOffGo(w: BotWorld, pr: number): Promise<RunRecord> {
    // Up to five tries: on a loaded machine the driver may fall behind, and such a run is (rightly) no PASS.
    const { run } = await measuredRun(w, pr, "dri-alice", "/gate-p replay all", 5);
    expect(`${run.verdict}: ${run.reason}`).toMatch(/^PASS/);
    expect(run.full).toBe(true);
    await w.review(run.evidencePullNumber!, "dri-alice", "approved");
    await waitFor("the sign-off in the bot's record", async () => (await w.bot.queue.state.get(run.id))?.signoff?.status === "complete");
    return run;
  }
  const saved = { url: process.env.CANARY_URL, schema: process.env.CANARY_SCHEMA, secret: process.env.CANARY_SIGNING_SECRET };
  afterEach(async () => {
    await world?.close();
    world = undefined;
    await service?.teardown();
    service = undefined;
    rmSync(logDir, { recursive: true, force: true });
    for (const [k, v] of [["CANARY_URL", saved.url], ["CANARY_SCHEMA", saved.schema], ["CANARY_SIGNING_SECRET", saved.secret]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test("the canary stage, after GO, runs its short gate against the running service and approves; the next stage is held to order; a run that errors rejects", async () => {
    world = await worldWithCanary("deploy-run");
    const w = world;
    const pr = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const sha = pr.head.sha;

    // live comes after canary-10 in the promotion: not before canary-10 approved this commit.
    const tooEarly = await deployTo(w, "live", sha);
    expect(tooEarly.decided.state).toBe("rejected");
    expect(tooEarly.decided.comment).toContain(`live comes after canary-10 in the promotion (canary-10 → live), and canary-10 has not approved ${sha.slice(0, 7)}`);

    // A promotion stage comes after GO: the canary is not even measured without one.
    const noGo = await deployTo(w, "canary-10", sha, { pr: pr.number });
    expect(noGo.decided.state).toBe("rejected");
    expect(noGo.decided.comment).toContain(`canary-10 is a promotion stage, which comes after GO: no signed-off full PASS of ${sha.slice(0, 7)}`);
    expect(noGo.decided.comment).toContain(`\`/gate-p replay all\` on pull request #${pr.number}`);

    const go = await signedOffGo(w, pr.number);

    // A deployment cannot point the gate at a service of its choosing.
    const steered = await deployTo(w, "canary-10", sha, { payload: { environment_url: "http://127.0.0.1:1/" } });
    expect(steered.decided.state).toBe("rejected");
    expect(steered.decided.comment).toContain("a deployment cannot choose what its gate measures");

    // The canary: a progress note at once, then the verdict of a real replay against the service.
    let canary: Deployed | undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      canary = await deployTo(w, "canary-10", sha, { pr: pr.number, timeoutMs: 90_000 });
      // On a loaded 2-core machine the driver may fall behind; the gate then refuses to judge (by design).
      if (!/the replay is invalid/.test(canary.decided.comment ?? "")) break;
    }
    expect(canary!.callbacks[0]).toEqual(expect.objectContaining({ comment: "Gate P: running against canary-10 now; this deployment waits for the verdict." }));
    expect(canary!.callbacks[0]!.state).toBeUndefined();
    expect(canary!.decided.state).toBe("approved");
    expect(canary!.decided.comment).toContain(`(canary-10: 300 requests @ 150/s against ${service!.baseUrl}) on ${sha.slice(0, 7)} is PASS`);
    const evidence = /Evidence: (\S+\/pull\/(\d+))/.exec(canary!.decided.comment ?? "");
    expect(evidence).not.toBeNull();
    expect(w.fake.pullRequestJson(Number(evidence![2])).head.ref).toMatch(/^gate-p\/evidence\//);
    // It really measured the running service: the canary's own schema holds the replayed events.
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query(`select count(*)::int as n from "${process.env.CANARY_SCHEMA}".webhook_events`);
      expect(rows[0].n).toBeGreaterThanOrEqual(290);
    } finally {
      await db.end();
    }

    // canary-10 approved the commit and its soak (0s) is over: live, which needs the sign-off, approves.
    const live = await deployTo(w, "live", sha, { pr: pr.number });
    expect(live.decided.state).toBe("approved");
    expect(live.decided.comment).toContain("signed off by @dri-alice");

    // The GO run's war room shows both stages.
    const warRoom = w.fake.commentJson((await w.bot.queue.state.get(go.id))!.warRoomCommentId!).body;
    expect(warRoom).toMatch(/\| canary-10 \| run \| ✅ approved \|/);
    expect(warRoom).toMatch(/\| live \| signoff \| ✅ approved \|/);

    // The canary service goes away: the run errors, and an error never approves.
    await service!.teardown();
    service = undefined;
    const broken = await deployTo(w, "canary-10", sha, { timeoutMs: 60_000 });
    expect(broken.decided.state).toBe("rejected");
    expect(broken.decided.comment).toMatch(/is ERROR: canary-10 did not run \(not run: (could not run|RBAC probe failed): .+\)/);
  });

  test("a run that outlasts its deadline is rejected as timed out", async () => {
    world = await worldWithCanary("deploy-timeout", { deploymentRunTimeoutMs: 300 });
    const pr = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    await signedOffGo(world, pr.number);
    const late = await deployTo(world, "canary-10", pr.head.sha);
    expect(late.decided.state).toBe("rejected");
    expect(late.decided.comment).toMatch(/the run against canary-10 did not finish within 300(\.0)? ?ms; nothing was approved/);
  });
});
