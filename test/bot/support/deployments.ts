// Deployments waiting on the App, for the deployment protection rule tests: a workflow job that
// targets an environment, GitHub's signed deployment_protection_rule webhook, and the App's answer as
// the fake GitHub recorded it on the callback URL.

import { expect } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deploy, type Deployment } from "../../../src/gates/target/deployment.js";
import type { DeploymentCallback } from "../../support/fake-github.js";
import { deploymentProtectionRuleRequested, sendWebhook } from "../../support/webhook-sender.js";
import { REDIS_URL, waitFor, type BotWorld } from "./bot-world.js";

export const DEPLOY_GATES = fileURLToPath(new URL("../fixtures/deploy-gates/", import.meta.url));
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface Deployed {
  /** The App's approval or rejection. */
  decided: DeploymentCallback;
  /** Every answer for this workflow run, progress notes included. */
  callbacks: DeploymentCallback[];
  runId: number;
}

/** A workflow job waits on `environment`; GitHub tells the App; the App's decision comes back on the callback. */
export async function deployTo(
  w: BotWorld,
  environment: string,
  sha: string,
  o: { pr?: number; payload?: Record<string, unknown>; timeoutMs?: number } = {},
): Promise<Deployed> {
  const d = w.fake.waitForDeployment({ environment, sha, creator: "octocat" });
  const payload = deploymentProtectionRuleRequested({
    ...w.fake.webhookContext(),
    environment,
    deployment: d,
    pullRequests: o.pr ? [w.fake.pullRequestJson(o.pr)] : [],
    deploymentPayload: o.payload,
  });
  const answer = await sendWebhook(w.bot.webhookUrl, { event: "deployment_protection_rule", payload, secret: w.secret });
  expect(answer.status).toBe(200);
  const decided = await waitFor(
    `the App's decision on ${environment}`,
    () => w.fake.deploymentCallbacks().find((c) => c.runId === d.runId && c.state),
    o.timeoutMs ?? 30_000,
  );
  return { decided, callbacks: w.fake.deploymentCallbacks().filter((c) => c.runId === d.runId), runId: d.runId };
}

/**
 * A running canary: the bundled service in a schema of its own, and the variables Gate P's file
 * reads (CANARY_URL, CANARY_SCHEMA, CANARY_SIGNING_SECRET) set for a bot started afterwards.
 * `restore()` tears it down and puts the variables back.
 */
export async function startCanary(): Promise<{ service: Deployment; schema: string; restore(): Promise<void> }> {
  const saved = {
    CANARY_URL: process.env.CANARY_URL,
    CANARY_SCHEMA: process.env.CANARY_SCHEMA,
    CANARY_SIGNING_SECRET: process.env.CANARY_SIGNING_SECRET,
  };
  const schema = `rg_canary_${randomBytes(3).toString("hex")}`;
  const credentials = { signingSecret: `whsec_${randomBytes(24).toString("base64")}` };
  const service = await deploy(
    { kind: "bundled", mode: "queue", workers: 1, batchSize: 50, batchLingerMs: 5, redisUrl: REDIS_URL, databaseUrl: DATABASE_URL },
    { namespace: schema, credentials, logDir: mkdtempSync(join(tmpdir(), "canary-")), keepData: false },
  );
  process.env.CANARY_URL = service.baseUrl;
  process.env.CANARY_SCHEMA = schema;
  process.env.CANARY_SIGNING_SECRET = credentials.signingSecret;
  return {
    service,
    schema,
    async restore() {
      await service.teardown();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
