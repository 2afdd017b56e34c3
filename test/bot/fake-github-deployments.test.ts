// The fake GitHub's deployment protection rule endpoint takes answers as GitHub does: from the App's
// installation only, for the environment the workflow run waits on, approved or rejected once (or a
// comment alone, as progress), and records each accepted answer.

import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { Octokit } from "@octokit/rest";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";

/** The refusals below are expected: Octokit need not log them. */
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

let fake: FakeGitHub;
let app: Octokit;
beforeEach(async () => {
  fake = await startFakeGitHub({ permissions: { bob: "admin" } });
  app = new Octokit({ baseUrl: fake.apiUrl, auth: "installation-token", log: quiet });
});
afterEach(() => fake.close());

const status = (p: Promise<unknown>) =>
  p.then(
    () => 204,
    (e: { status?: number }) => e.status,
  );

test("the App approves or rejects a waiting deployment once; a comment alone is progress", async () => {
  const sha = fake.state.refs.get("refs/heads/main")!;
  const d = fake.waitForDeployment({ environment: "production", sha });
  expect(d.callbackUrl).toBe(`${fake.apiUrl}/repos/acme/service/actions/runs/${d.runId}/deployment_protection_rule`);
  const where = { owner: "acme", repo: "service", run_id: d.runId };

  expect(
    await status(app.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "production", comment: "running" } as never)),
  ).toBe(204);
  expect(
    await status(app.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "production", state: "approved", comment: "GO" })),
  ).toBe(204);
  expect(fake.deploymentCallbacks()).toEqual([
    { runId: d.runId, environment: "production", comment: "running", actor: fake.botLogin, at: expect.any(String) },
    { runId: d.runId, environment: "production", state: "approved", comment: "GO", actor: fake.botLogin, at: expect.any(String) },
  ]);
  // Decided is decided: a later rejection is refused and not recorded.
  expect(
    await status(app.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "production", state: "rejected", comment: "no" })),
  ).toBe(422);
  expect(fake.deploymentCallbacks()).toHaveLength(2);
});

test("wrong environment, unknown state, no comment without a state, unknown run, or a person's token are refused", async () => {
  const sha = fake.state.refs.get("refs/heads/main")!;
  const d = fake.waitForDeployment({ environment: "production", sha });
  const where = { owner: "acme", repo: "service", run_id: d.runId };
  expect(
    await status(app.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "staging", state: "approved", comment: "x" })),
  ).toBe(422);
  expect(
    await status(
      app.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "production", state: "maybe" as "approved", comment: "x" }),
    ),
  ).toBe(422);
  expect(await status(app.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "production" } as never))).toBe(422);
  expect(
    await status(
      app.rest.actions.reviewCustomGatesForRun({
        ...where,
        run_id: 999_999,
        environment_name: "production",
        state: "approved",
        comment: "x",
      }),
    ),
  ).toBe(404);
  const bob = new Octokit({ baseUrl: fake.apiUrl, auth: fake.tokenFor("bob"), log: quiet });
  expect(
    await status(bob.rest.actions.reviewCustomGatesForRun({ ...where, environment_name: "production", state: "approved", comment: "x" })),
  ).toBe(403);
  expect(fake.deploymentCallbacks()).toEqual([]);
});
