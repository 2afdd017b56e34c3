// The capacity probe against the real bundled service: autocannon, closed loop, signed requests the
// service accepts; labelled as headroom and kept apart from the verdict.

import { jest } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CAPACITY_LABEL, capacityLine, capacityMarkdown, probeCapacity } from "../../../src/gates/measure/capacity-probe.js";
import { deploy, type Deployment } from "../../../src/gates/target/deployment.js";

jest.setTimeout(60_000);

let deployment: Deployment;
let logDir: string;

beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), "capacity-probe-"));
  deployment = await deploy(
    {
      kind: "bundled",
      mode: "queue",
      workers: 1,
      batchSize: 50,
      batchLingerMs: 5,
      redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    },
    {
      namespace: `rg_cap_${randomBytes(3).toString("hex")}`,
      credentials: { bearerKey: `rg_${randomBytes(16).toString("hex")}`, signingSecret: `whsec_${randomBytes(32).toString("base64")}` },
      logDir,
    },
  );
});

afterAll(async () => {
  await deployment?.teardown();
  await rm(logDir, { recursive: true, force: true });
});

test("a closed-loop probe of signed, distinct events is accepted by the service and reported as headroom", async () => {
  const result = await probeCapacity(
    { durationMs: 1500, connections: 5, display: { duration: "1.5s" } },
    { webhookUrl: deployment.webhookUrl, credentials: deployment.credentials, seed: "capacity-test" },
  );
  expect(result.problem).toBeUndefined();
  expect(result).toMatchObject({ method: "closed-loop", tool: "autocannon", connections: 5, non2xx: 0, errors: 0, label: CAPACITY_LABEL });
  expect(result.ok).toBeGreaterThan(50);
  expect(result.maxRps).toBeGreaterThanOrEqual(result.meanRps);
  expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
  expect(capacityLine(result)).toMatch(
    /^Headroom \(closed loop \(autocannon\): headroom only, never used in the verdict\): [\d,]+ req\/s mean/,
  );
  expect(capacityMarkdown(result)).toContain("**Closed loop, not a gate measurement.**");
});

test("without the service's credentials every answer is a refusal: the probe really reaches the service", async () => {
  const result = await probeCapacity(
    { durationMs: 1000, connections: 2, display: { duration: "1s" } },
    {
      webhookUrl: deployment.webhookUrl,
      credentials: { bearerKey: "rg_wrong", signingSecret: `whsec_${randomBytes(32).toString("base64")}` },
      seed: "capacity-test",
    },
  );
  expect(result.ok).toBe(0);
  expect(result.non2xx).toBeGreaterThan(0);
});

test("an aborted run does not probe", async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await probeCapacity(
    { durationMs: 1000, connections: 2, display: { duration: "1s" } },
    { webhookUrl: deployment.webhookUrl, credentials: deployment.credentials, seed: "x", signal: controller.signal },
  );
  expect(result).toMatchObject({ ok: 0, problem: "not run: the run was aborted" });
});
