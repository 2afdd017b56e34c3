// The one GitHub client factory: 5xx answers are tried again, refusals are not, and rate-limit answers are
// waited out only as often as the caller allows.

import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { createGitHubClient } from "../../../src/bot/github/github-client.js";
import { githubFaults, startFakeGitHub, type FakeGitHub } from "../../support/fake-github.js";

let fake: FakeGitHub;
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

beforeEach(async () => {
  fake = await startFakeGitHub({ owner: "acme", repo: "service", files: { "README.md": "# service\n" } });
});

afterEach(async () => {
  await fake.close();
});

const client = (retries: number) => {
  const github = createGitHubClient({ auth: "test-token", baseUrl: fake.apiUrl, userAgent: "test", retries, retryAfterBaseMs: 5 });
  Object.assign(github.log, quiet);
  return github;
};

test("a 502 from GitHub is tried again and the second answer is the one returned", async () => {
  fake.failNext("repos.get", githubFaults.serverError(502), 1);
  const { data } = await client(2).rest.repos.get({ owner: "acme", repo: "service" });
  expect(data.name).toBe("service");
  expect(fake.requests.filter((r) => r.route === "repos.get")).toHaveLength(2);
});

test("a 404 is an answer, not a failure: it is not tried again", async () => {
  await expect(client(3).rest.repos.get({ owner: "acme", repo: "nowhere" })).rejects.toMatchObject({ status: 404 });
  expect(fake.requests.filter((r) => r.route === "repos.get")).toHaveLength(1);
});

test("with retries 0 a server error and a secondary rate limit each fail at the first answer", async () => {
  fake.failNext("repos.get", githubFaults.serverError(), 1);
  await expect(client(0).rest.repos.get({ owner: "acme", repo: "service" })).rejects.toMatchObject({ status: 500 });
  fake.failNext("repos.get", githubFaults.secondaryRateLimited(30), 1);
  await expect(client(0).rest.repos.get({ owner: "acme", repo: "service" })).rejects.toMatchObject({ status: 429 });
  expect(fake.requests.filter((r) => r.route === "repos.get")).toHaveLength(2);
});

test("writes are not spaced a second apart unless asked: five writes take well under five seconds", async () => {
  const github = client(0);
  const started = Date.now();
  for (let i = 0; i < 5; i++) await github.rest.git.createBlob({ owner: "acme", repo: "service", content: `note ${i}` });
  expect(Date.now() - started).toBeLessThan(2000);
});
