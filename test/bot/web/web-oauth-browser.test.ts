// The war room in a real browser (Debian's chromium, never a downloaded one): a person signs in through
// the OAuth flow on the fake GitHub and sees only the runs of the repository they can read, and every
// verdict's badge is readable (its colour stands out from the text and the page, at 4.5:1 or more).

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { Redis } from "ioredis";
import { pino } from "pino";
import { RunStateSeal } from "../../../src/bot/runs/run-state-seal.js";
import { RunQueue } from "../../../src/bot/runs/run-queue.js";
import { loadGateCatalog } from "../../../src/bot/boot/gate-catalog.js";
import { createWebApp } from "../../../src/bot/web/web-server.js";
import { DashboardSessions } from "../../../src/bot/web/dashboard-sessions.js";
import { GitHubSignIn } from "../../../src/bot/web/github-sign-in.js";
import type { Verdict } from "../../../src/gates/model/gate-run-record.js";
import { startFakeGitHub, type FakeGitHub } from "../../support/fake-github.js";
import { launchChromium } from "../../support/chromium.js";
import { deleteKeys, FIXTURE_GATES, newPrefix, REDIS_URL } from "../support/bot-world.js";
import { queuedRun } from "../support/queued-run.js";

let redis: Redis;
let queue: RunQueue;
let prefix: string;
let gh: FakeGitHub;
let server: Server;
let bot: string;
let browser: Browser;

const RUNS: [string, string, string, Verdict][] = [
  ["acme-partial", "acme", "service", "PARTIAL"],
  ["acme-inconclusive", "acme", "service", "INCONCLUSIVE"],
  ["acme-pass", "acme", "service", "PASS"],
  ["acme-fail", "acme", "service", "FAIL"],
  ["acme-error", "acme", "service", "ERROR"],
  ["other-pass", "other", "thing", "PASS"],
];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = newPrefix("oauth-browser");
  queue = new RunQueue(redis, prefix, { seal: RunStateSeal.random() });
  for (const [id, owner, repo, verdict] of RUNS) {
    await queue.state.claim(queuedRun(id, { owner, repo, installationId: 31337, headSha: "b".repeat(40) }));
    await queue.state.update(id, () => ({ phase: "finished", reportedAt: new Date().toISOString(), verdict }));
  }
  gh = await startFakeGitHub({ permissions: { alice: "read" } });
  const app = createWebApp({
    queue,
    catalog: loadGateCatalog(FIXTURE_GATES),
    redis,
    webhooks: (_req, _res, next) => next?.(),
    webhookPath: "/hooks",
    signIn: {
      github: new GitHubSignIn({ clientId: gh.oauth.clientId, clientSecret: gh.oauth.clientSecret, apiBaseUrl: gh.apiUrl }),
      sessions: new DashboardSessions(redis, prefix, gh.oauth.clientSecret),
    },
    log: pino({ level: "silent" }),
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  bot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await gh?.close();
  await queue?.close();
  await deleteKeys(prefix);
  redis?.disconnect();
});

/** WCAG contrast ratio of two "rgb(r, g, b)" colours. */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

async function badgeColours(page: Page, selector: string) {
  return page.$eval(selector, (el) => {
    const s = getComputedStyle(el);
    const main = getComputedStyle(el.closest("main")!);
    return { text: s.color, background: s.backgroundColor, page: main.backgroundColor, word: el.textContent };
  });
}

test("signing in with GitHub shows only the runs of the readable repository, each verdict's badge readable", async () => {
  gh.signInAs("alice");
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${bot}/`);
  expect(await page.textContent("body")).toContain("Sign in with GitHub");
  await page.goto(`${bot}/login`);
  await page.click("text=Sign in with GitHub");
  await page.waitForURL(`${bot}/`);
  const shown = await page.$$eval("[data-run]", (rows) => rows.map((r) => r.getAttribute("data-run")).sort());
  expect(shown).toEqual(["acme-error", "acme-fail", "acme-inconclusive", "acme-partial", "acme-pass"]);

  for (const verdict of ["PARTIAL", "INCONCLUSIVE", "PASS", "FAIL", "ERROR"]) {
    const c = await badgeColours(page, `.badge.${verdict}`);
    expect(c.word).toBe(verdict);
    expect(c.background).not.toBe("rgba(0, 0, 0, 0)");
    expect(contrast(c.text, c.background)).toBeGreaterThanOrEqual(4.5);
    expect(c.background).not.toBe(c.page);
  }
  // On the run page, in the status banner.
  for (const [id, verdict] of [
    ["acme-partial", "PARTIAL"],
    ["acme-inconclusive", "INCONCLUSIVE"],
  ]) {
    await page.goto(`${bot}/runs/${id}`);
    const c = await badgeColours(page, `#status .badge`);
    expect(c.word).toBe(verdict);
    expect(contrast(c.text, c.background)).toBeGreaterThanOrEqual(4.5);
  }
  // The other repository's run is not there for alice.
  const hidden = await page.goto(`${bot}/runs/other-pass`);
  expect(hidden?.status()).toBe(404);

  // Sign out through the page's form: the pages ask to sign in again.
  await page.goto(`${bot}/logout`);
  await page.click('form[action="/logout"] button');
  await page.waitForSelector("text=Signed out");
  const after = await page.goto(`${bot}/`);
  expect(after?.status()).toBe(401);
  expect(problems).toEqual([]);
  await page.close();
});
