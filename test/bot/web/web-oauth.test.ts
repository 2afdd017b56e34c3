// Sign-in with GitHub on the war-room pages, over real sockets against the fake GitHub's OAuth web flow:
// a person sees the runs of repositories they can read (list, page, stream) and a 404 for the others;
// forged state, a reused code and expired or signed-out sessions are refused; DASHBOARD_TOKEN still sees all.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { pino } from "pino";
import { RunStateSeal } from "../../../src/bot/runs/run-state-seal.js";
import { RunQueue } from "../../../src/bot/runs/run-queue.js";
import { loadGateCatalog } from "../../../src/bot/boot/gate-catalog.js";
import { createWebApp } from "../../../src/bot/web/web-server.js";
import { DashboardSessions, SIGN_IN_COOKIE } from "../../../src/bot/web/dashboard-sessions.js";
import { GitHubSignIn } from "../../../src/bot/web/github-sign-in.js";
import { startFakeGitHub, type FakeGitHub } from "../../support/fake-github.js";
import { deleteKeys, FIXTURE_GATES, newPrefix, REDIS_URL } from "../support/bot-world.js";
import { queuedRun } from "../support/queued-run.js";

const TOKEN = "war-room-token-0123456789abcdef";

let redis: Redis;
let queue: RunQueue;
let prefix: string;
let gh: FakeGitHub;
const servers: Server[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = newPrefix("oauth");
  queue = new RunQueue(redis, prefix, { seal: RunStateSeal.random() });
  gh = await startFakeGitHub({ permissions: { alice: "read", mallory: "none" } });
  // One run of the fake's repository (acme/service), one of a repository alice cannot read.
  for (const [id, owner, repo] of [
    ["acme-run-1", "acme", "service"],
    ["other-run-2", "other", "thing"],
  ] as const) {
    await queue.state.claim(queuedRun(id, { owner, repo, installationId: 31337 }));
    await queue.state.update(id, () => ({ phase: "finished", reportedAt: new Date().toISOString(), verdict: "PASS" }));
  }
});

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  await gh.close();
  await queue.close();
  await deleteKeys(prefix);
  redis.disconnect();
});

async function serve(o: { ttlSeconds?: number; clientSecret?: string; token?: string } = {}): Promise<string> {
  const app = createWebApp({
    queue,
    catalog: loadGateCatalog(FIXTURE_GATES),
    redis,
    webhooks: (_req, _res, next) => next?.(),
    webhookPath: "/hooks",
    dashboardToken: o.token,
    signIn: {
      github: new GitHubSignIn({
        clientId: gh.oauth.clientId,
        clientSecret: o.clientSecret ?? gh.oauth.clientSecret,
        apiBaseUrl: gh.apiUrl,
      }),
      sessions: new DashboardSessions(redis, prefix, gh.oauth.clientSecret, o.ttlSeconds),
    },
    log: pino({ level: "silent" }),
  });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const get = (url: string, cookie?: string) => fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
const cookieOf = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.split(";")[0];

/** The browser's trip: the bot's /auth/github, GitHub's authorize page, back to the bot's callback (not yet followed). */
async function toCallback(bot: string, login: string): Promise<{ callback: string; stateCookie: string }> {
  gh.signInAs(login);
  const start = await get(`${bot}/auth/github`);
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get("location")!);
  expect(`${authorize.origin}${authorize.pathname}`).toBe(`${gh.url}/login/oauth/authorize`);
  expect(authorize.searchParams.get("redirect_uri")).toBe(`${bot}/auth/callback`);
  const back = await get(authorize.toString());
  expect(back.status).toBe(302);
  return { callback: back.headers.get("location")!, stateCookie: cookieOf(start, "rg_oauth_state")! };
}

async function signIn(bot: string, login: string): Promise<string> {
  const { callback, stateCookie } = await toCallback(bot, login);
  const done = await get(callback, stateCookie);
  expect(done.status).toBe(303);
  const setCookie = done.headers.getSetCookie().find((c) => c.startsWith(`${SIGN_IN_COOKIE}=`))!;
  expect(setCookie).toMatch(/; HttpOnly; SameSite=Lax; Path=\/; Max-Age=\d+$/);
  return setCookie.split(";")[0]!;
}

describe("sign-in with GitHub", () => {
  test("a person sees the runs of repositories they can read; another's run is a 404 on its page and its stream", async () => {
    const bot = await serve();
    const alice = await signIn(bot, "alice");
    const list = await (await get(`${bot}/`, alice)).text();
    expect(list).toContain('data-run="acme-run-1"');
    expect(list).not.toContain("other-run-2");
    expect(list).not.toContain("other/thing");

    expect((await get(`${bot}/runs/acme-run-1`, alice)).status).toBe(200);
    const stream = await get(`${bot}/runs/acme-run-1/events`, alice);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(await stream.text()).toContain("event: run");

    // Someone else's run answers exactly as a run that does not exist.
    const hidden = await get(`${bot}/runs/other-run-2`, alice);
    const missing = await get(`${bot}/runs/no-such-run`, alice);
    expect([hidden.status, missing.status]).toEqual([404, 404]);
    expect((await hidden.text()).replace("other-run-2", "X")).toBe((await missing.text()).replace("no-such-run", "X"));
    expect((await get(`${bot}/runs/other-run-2/events`, alice)).status).toBe(404);
  });

  test("a person with no access to the App's repositories sees no run at all", async () => {
    const bot = await serve();
    const mallory = await signIn(bot, "mallory");
    const list = await get(`${bot}/`, mallory);
    expect(list.status).toBe(200);
    expect(await list.text()).not.toContain("data-run=");
    expect((await get(`${bot}/runs/acme-run-1`, mallory)).status).toBe(404);
    expect((await get(`${bot}/runs/acme-run-1/events`, mallory)).status).toBe(404);
  });

  test("without a cookie every page and stream asks to sign in, and /login offers Sign in with GitHub", async () => {
    const bot = await serve();
    for (const path of ["/", "/runs/acme-run-1", "/runs/acme-run-1/events"]) {
      const res = await get(`${bot}${path}`);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain("open /login and choose Sign in with GitHub");
    }
    const login = await (await get(`${bot}/login`)).text();
    expect(login).toContain('href="/auth/github"');
  });

  test("a callback whose state differs from this browser's, or without the state cookie, is refused", async () => {
    const bot = await serve();
    const { callback, stateCookie } = await toCallback(bot, "alice");
    const forged = new URL(callback);
    forged.searchParams.set("state", "forged-state");
    const mismatch = await get(forged.toString(), stateCookie);
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain("state does not match");
    expect(cookieOf(mismatch, SIGN_IN_COOKIE)).toBeUndefined();

    const noCookie = await get(callback);
    expect(noCookie.status).toBe(400);
    expect(await noCookie.text()).toContain("did not start this sign-in");
    // The code itself was never spent on a refused callback.
    expect([...gh.oauthCodes().values()].some((c) => !c.used)).toBe(true);
  });

  test("a code is used once: replaying the callback is refused", async () => {
    const bot = await serve();
    const { callback, stateCookie } = await toCallback(bot, "alice");
    expect((await get(callback, stateCookie)).status).toBe(303);
    const again = await get(callback, stateCookie);
    expect(again.status).toBe(401);
    expect(await again.text()).toContain("GitHub did not accept the sign-in code");
    expect(cookieOf(again, SIGN_IN_COOKIE)).toBeUndefined();
  });

  test("a wrong client secret is named as the bot's configuration, not the person's fault", async () => {
    const bot = await serve({ clientSecret: "not-the-secret" });
    const { callback, stateCookie } = await toCallback(bot, "alice");
    const res = await get(callback, stateCookie);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain("check GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET");
  });

  test("signing out deletes the session: the same cookie no longer opens a page; a forged cookie never did", async () => {
    const bot = await serve();
    const alice = await signIn(bot, "alice");
    expect((await get(`${bot}/`, alice)).status).toBe(200);
    expect((await get(`${bot}/`, `${alice.slice(0, -2)}xx`)).status).toBe(401);
    const out = await fetch(`${bot}/logout`, { method: "POST", redirect: "manual", headers: { cookie: alice } });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().some((c) => c.startsWith(`${SIGN_IN_COOKIE}=;`) && c.includes("Max-Age=0"))).toBe(true);
    expect((await get(`${bot}/`, alice)).status).toBe(401);
  });

  test("a session expires", async () => {
    const bot = await serve({ ttlSeconds: 1 });
    const alice = await signIn(bot, "alice");
    expect((await get(`${bot}/`, alice)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1300));
    expect((await get(`${bot}/`, alice)).status).toBe(401);
  });

  test("DASHBOARD_TOKEN still opens every run beside sign-in", async () => {
    const bot = await serve({ token: TOKEN });
    const login = await get(`${bot}/login?token=${TOKEN}`);
    expect(login.status).toBe(303);
    const machine = cookieOf(login, "rg_war_room")!;
    const list = await (await get(`${bot}/`, machine)).text();
    expect(list).toContain('data-run="acme-run-1"');
    expect(list).toContain('data-run="other-run-2"');
    expect((await get(`${bot}/runs/other-run-2`, machine)).status).toBe(200);
    // And the sign-in page says machines have the token.
    expect(await (await get(`${bot}/login`)).text()).toContain("/login?token=");
  });
});
