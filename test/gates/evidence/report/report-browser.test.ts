// report.html in a real headless browser (Debian's chromium, never a downloaded one): it renders with no console
// errors and no fetches, shows the verdict, the latency over time and one histogram per phase; a screenshot is kept in test/artifacts/.

import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../../support/chromium.js";
import { writeEvidenceBundle } from "../../../../src/gates/evidence/evidence-bundle.js";
import { machineRecord } from "../../../../src/gates/run/machine-record.js";
import { buildGateRun } from "../../../support/gate-run-fixture.js";

const ARTIFACTS = resolve("test/artifacts");

let root: string;
let browser: Browser;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "evidence-report-"));
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Open a bundle's report.html, recording console errors, page errors and every request the page made. */
async function open(dir: string, screenshot: string) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  const url = pathToFileURL(join(dir, "report.html")).href;
  await page.goto(url, { waitUntil: "load" });
  await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
  return { page, problems, requests, url };
}

test("report.html renders with no console error and no fetch, showing the verdict and a histogram per phase", async () => {
  const run = await buildGateRun({ scale: 0.1 });
  const dir = join(root, "pass");
  await writeEvidenceBundle(dir, run);
  const { page, problems, requests, url } = await open(dir, "report.png");

  expect(problems).toEqual([]);
  expect(requests).toEqual([url]);
  const verdict = page.locator("#verdict");
  expect(await verdict.isVisible()).toBe(true);
  expect(await verdict.textContent()).toBe("PASS");
  expect(await page.title()).toBe("Gate A: Production Promotion: PASS");

  const histograms = page.locator("svg.histogram");
  expect(await histograms.count()).toBe(3);
  expect(await histograms.evaluateAll((svgs) => svgs.map((s) => s.getAttribute("data-phase")))).toEqual(["smoke", "load", "final"]);
  for (let i = 0; i < 3; i++) {
    const box = await histograms.nth(i).boundingBox();
    expect(box && box.width > 300 && box.height > 100).toBe(true);
    // Bars were drawn, and the SLO bar and the three percentile markers are there.
    expect(await histograms.nth(i).locator("rect[fill='#74a9cf']").count()).toBeGreaterThan(3);
    expect(await histograms.nth(i).locator("line.slo-bar, line.marker-p50, line.marker-p95, line.marker-p99").count()).toBe(4);
  }
  expect(await page.locator("text=PENDING: 0 of 1 required approvals recorded.").isVisible()).toBe(true);
  expect((await stat(join(ARTIFACTS, "report.png"))).size).toBeGreaterThan(50_000);
  await page.close();
});

test("a FAIL report shows FAIL, and a histogram panel even for the phase that did not run", async () => {
  const run = await buildGateRun({ scale: 0.05, failLatencyIn: "load", seed: "browser-fail" });
  const dir = join(root, "fail");
  await writeEvidenceBundle(dir, run);
  const { page, problems, requests, url } = await open(dir, "report-fail.png");
  expect(problems).toEqual([]);
  expect(requests).toEqual([url]);
  expect(await page.locator("#verdict").textContent()).toBe("FAIL");
  expect(await page.locator("svg.histogram").count()).toBe(3);
  expect(await page.locator('svg.histogram[data-phase="final"]').textContent()).toContain("did not run");
  await page.close();
});

test("the latency-over-time charts come first, one per phase, with the queue depth, CPU per request and the machine", async () => {
  const run = await buildGateRun({ scale: 0.1, seed: "browser-timeline" });
  for (const p of run.phases) {
    if (!p.replay) continue;
    const lastMs = Math.max(...p.replay.samples.map((s) => s.doneAt));
    p.resources = {
      cpu: {
        driverUsPerRequest: 120,
        serverUsPerRequest: 180,
        workersUsPerEvent: 90,
        driverUs: 1,
        serverUs: 1,
        workersUs: 1,
        requests: p.replay.samples.length,
        events: p.accepted,
        windowMs: 1,
      },
      queueDepth: Array.from({ length: Math.ceil(lastMs / 250) }, (_, i) => ({ atMs: i * 250, depth: (i * 7) % 23 })),
    };
  }
  const before = { at: run.startedAt, loadAverage: [0.5, 0.4, 0.3] as [number, number, number], cpuPressure: null };
  run.machine = machineRecord(before, { durationMs: 2000, p50: 1.05, p99: 1.3, p999: 2.8, max: 9.5, mean: 1.1 });
  run.machine.after = before;
  const dir = join(root, "timeline");
  await writeEvidenceBundle(dir, run);
  const { page, problems, requests, url } = await open(dir, "report-timeline.png");
  expect(problems).toEqual([]);
  expect(requests).toEqual([url]);

  // The first chart on the page is a timeline, before any histogram.
  const firstChart = page.locator("svg.timeline, svg.histogram").first();
  expect(await firstChart.getAttribute("class")).toBe("timeline");
  const timelines = page.locator("svg.timeline");
  expect(await timelines.evaluateAll((svgs) => svgs.map((s) => s.getAttribute("data-phase")))).toEqual(["smoke", "load", "final"]);
  for (let i = 0; i < 3; i++) {
    const chart = timelines.nth(i);
    const box = await chart.boundingBox();
    expect(box && box.width > 300 && box.height > 150).toBe(true);
    expect(
      await chart.locator("path.series-p50, path.series-p95, path.series-max, path.series-lag, path.series-queue, line.slo-bar").count(),
    ).toBe(6);
    // The P95 line was drawn across the plot, not collapsed to a point.
    const line = await chart.locator("path.series-p95").boundingBox();
    expect(line && line.width > 100).toBe(true);
    expect(await chart.locator("rect.series-accepted").count()).toBeGreaterThan(0);
  }
  expect(await page.locator("p.cpu").textContent()).toContain("driver 120 µs/request, server 180 µs/request, workers 90 µs/event");
  expect(await page.locator("p.machine").textContent()).toContain("idle event-loop delay over 2 s p99 1.3 ms");
  await page.close();
});
