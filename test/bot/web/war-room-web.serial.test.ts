// The live war room in a real browser (Debian's chromium): a run requested through the bot against the
// fake GitHub, its page opened while it is queued or starting, then watched without reloading: the
// phase table fills in as phases run, then the verdict, pre-flight results, headroom (closed loop) and
// links appear. The list page shows the run. Screenshots go to test/artifacts/.

import { jest } from "@jest/globals";
import { mkdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../support/chromium.js";
import { driverFellBehind, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";

jest.setTimeout(150_000);

const ARTIFACTS = resolve("test/artifacts");
const WAR_ROOM_GATES = fileURLToPath(new URL("../fixtures/war-room-gates/", import.meta.url));
const SECRET_VALUE = "rg-war-room-secret-value-never-shown";

let world: BotWorld;
let browser: Browser;

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

const DASHBOARD_TOKEN = `war-room-web-${Date.now().toString(36)}-token`;

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

test("/runs/:id shows the phases advancing while the run is in progress, then the verdict, without a reload", async () => {
  world = await startBotWorld("war-room-web", {
    childRunner: true,
    gatesDir: WAR_ROOM_GATES,
    env: { RG_WAR_ROOM_TEST_SECRET: SECRET_VALUE, DASHBOARD_TOKEN },
    start: { livePollMs: 200 },
  });
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "export const fast = true;\n" } });
  await world.comment(pr.number, "octocat", "/gate-w replay all");
  const queued = await waitFor(
    "the run to be recorded",
    async () => (await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number))[0],
  );
  const url = `${world.bot.webUrl}/runs/${queued.id}`;

  const page = await browser.newPage({ viewport: { width: 1180, height: 1000 } });
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(world.bot.webUrl)) foreign.push(r.url());
  });
  // Signed in the way a machine is: the token once, then the cookie.
  await page.goto(`${world.bot.webUrl}/login?token=${DASHBOARD_TOKEN}`, { waitUntil: "load" });
  await page.goto(url, { waitUntil: "load" });
  // A mark on this document: if the page reloaded, it would be gone.
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

  // While the run is in progress: a phase row turns "running" with its progress bar moving, then "done".
  const running = await page.waitForSelector('#phases tr[data-state="running"]', { timeout: 60_000 });
  const runningPhase = await running.getAttribute("data-phase");
  await page.waitForFunction(
    (phase) => {
      const bar = document.querySelector(`#phases tr[data-phase="${phase}"] progress`) as HTMLProgressElement | null;
      return bar !== null && bar.value > 0;
    },
    runningPhase,
    { timeout: 30_000 },
  );
  expect(await page.locator("#status").getAttribute("data-state")).toBe("running");
  expect(await page.locator("#status").getAttribute("data-verdict")).toBe("");
  await page.screenshot({ path: resolve(ARTIFACTS, "war-room-live.png") });
  // The running P95 is drawn against its bar as the replay goes.
  // Attached, not "visible": a P95 that holds still draws a flat line, whose box has no height, and
  // Playwright calls an element without area hidden (a fast machine's smoke phase did that).
  const p95 = await page.waitForSelector(`svg.chart[data-phase="${runningPhase}"] polyline.p95`, { state: "attached", timeout: 30_000 });
  expect(await p95.getAttribute("points")).toMatch(/^\d+(\.\d+)?,\d+(\.\d+)?/);
  expect(await page.locator(`svg.chart[data-phase="${runningPhase}"] line.bar`).count()).toBe(1);
  await page.screenshot({ path: resolve(ARTIFACTS, "war-room-live-chart.png") });
  // The pre-flight checks ran before the first phase, each with its result.
  expect(await page.locator("#preflight tbody tr").count()).toBe(6);

  // Then the verdict, and the links the run ends with (the evidence PR comes last).
  await page.waitForFunction(
    () => {
      const status = document.querySelector("#status") as HTMLElement | null;
      return status?.dataset.verdict !== "" && document.querySelector("#signoff .signoff") !== null;
    },
    undefined,
    { timeout: 100_000 },
  );
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  await page.screenshot({ path: resolve(ARTIFACTS, "war-room-verdict.png"), fullPage: true });

  const run = (await world.bot.queue.state.get(queued.id))!;
  const v = run.verdict!;
  // A PASS, unless the loaded machine kept the driver from its schedule (then the gate rightly says ERROR).
  if (v !== "PASS") expect(driverFellBehind(run)).toBe(true);
  expect(await page.locator("#status").getAttribute("data-verdict")).toBe(v);
  expect(await page.locator("#status .badge").first().textContent()).toBe(v);
  const rows = await page
    .locator("#phases tbody tr")
    .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-phase"), tr.getAttribute("data-state")]));
  expect(rows).toEqual(
    v === "PASS"
      ? [
          ["smoke", "done"],
          ["load", "done"],
        ]
      : expect.arrayContaining([["smoke", "done"]]),
  );
  expect(await page.locator("#preflight tbody tr td:nth-child(4)").allTextContents()).toEqual([
    "PASS",
    "PASS",
    "PASS",
    "PASS",
    "PASS",
    "PASS",
  ]);
  expect(await page.locator("#timeline").textContent()).toContain("Pre-flight: secrets_present");
  if (v === "PASS") {
    // The capacity probe ran after the last phase, labelled closed loop and kept out of the verdict.
    const headroom = await page.locator("#headroom").textContent();
    expect(headroom).toMatch(/^Headroom \(closed loop \(autocannon\): headroom only, never used in the verdict\): [\d,]+ req\/s mean/);
    expect(run.capacity?.ok).toBeGreaterThan(0);
  }
  expect(await page.locator("#update").textContent()).toContain("TIME TO DEADLINE: ");
  expect(await page.locator("#decisions li").count()).toBe(1);
  const links = await page.locator("p.links a").evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("href")]));
  expect(links).toEqual(
    expect.arrayContaining([
      ["check run", run.checkRunUrl],
      [`evidence PR #${run.evidencePullNumber}`, run.evidenceUrl],
      ["war-room comment", run.warRoomUrl],
    ]),
  );
  expect(links.some(([text, href]) => text === "report.html" && String(href).endsWith(`/evidence/${run.id}/report.html`))).toBe(true);
  expect(await page.content()).not.toContain(SECRET_VALUE);
  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
  expect((await stat(resolve(ARTIFACTS, "war-room-live.png"))).size).toBeGreaterThan(20_000);

  // The list page shows the run, and its filters keep or drop it.
  await page.goto(`${world.bot.webUrl}/`, { waitUntil: "load" });
  const row = page.locator(`#runs tr[data-run="${run.id}"]`);
  expect(await row.count()).toBe(1);
  const cells = await row.locator("td").allTextContents();
  expect(cells.slice(0, 7)).toEqual(["gate-w", "acme/service", `#${pr.number}`, pr.head.sha.slice(0, 7), "smoke+load", "finished", v]);
  expect(cells[9]).toBe("@octocat");
  await page.screenshot({ path: resolve(ARTIFACTS, "war-room-list.png") });
  await page.selectOption('select[name="state"]', "queued");
  await page.click('form.filters button[type="submit"]');
  await page.waitForLoadState("load");
  expect(await page.locator(`#runs tr[data-run="${run.id}"]`).count()).toBe(0);
  await page.goto(`${world.bot.webUrl}/?gate=gate-w&verdict=${v}`, { waitUntil: "load" });
  expect(await page.locator(`#runs tr[data-run="${run.id}"]`).count()).toBe(1);
  await page.close();
});
