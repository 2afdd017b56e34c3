// A phase's latency histogram as data (JSON, CSV) and as a picture (SVG) with P50/P95/P99 and the SLO bar.

import { buildLatencyHistogram, histogramCsv } from "../../../../src/gates/evidence/report/latency-buckets.js";
import { histogramSvg } from "../../../../src/gates/evidence/report/histogram-svg.js";
import type { PhaseResult } from "../../../../src/gates/model/gate-run-record.js";
import { buildGateRun } from "../../../support/gate-run-fixture.js";

let phases: PhaseResult[];

beforeAll(async () => {
  phases = (await buildGateRun({ scale: 0.1, failLatencyIn: "load", seed: "histogram" })).phases;
});

test("the buckets count every sample of the phase, the overflow included, and reach past the bar and P99", () => {
  for (const phase of phases.filter((p) => p.ran)) {
    const h = buildLatencyHistogram(phase);
    const counted = h.buckets.reduce((n, b) => n + b.count, 0) + h.overflow.count;
    expect(counted).toBe(phase.replay!.samples.length);
    expect(h.samples).toBe(phase.replay!.samples.length);
    const top = h.buckets[h.buckets.length - 1]!.upperMs;
    expect(top).toBeGreaterThanOrEqual(Math.max(phase.latencyBarMs, phase.latency!.p99));
    expect(h.buckets.every((b, i) => b.lowerMs === (i === 0 ? 0 : h.buckets[i - 1]!.upperMs))).toBe(true);
  }
});

test("the percentiles are the ones the verdict was decided on", () => {
  const load = phases.find((p) => p.name === "load")!;
  const h = buildLatencyHistogram(load);
  expect(h.percentiles).toEqual(load.latency);
  expect(h.percentileSource).toBe("run");
  expect(h.verdict).toBe("FAIL");
});

test("a phase that ran without a latency summary gets one from its samples, by nearest rank", () => {
  const smoke = phases.find((p) => p.name === "smoke")!;
  const h = buildLatencyHistogram({ ...smoke, latency: null });
  expect(h.percentileSource).toBe("samples");
  expect(h.percentiles).toEqual(smoke.latency);
});

test("the CSV has a row per bucket and an overflow row, the cumulative share ending at 1", () => {
  const h = buildLatencyHistogram(phases[0]!);
  const rows = histogramCsv(h).trimEnd().split("\n");
  expect(rows[0]).toBe("lower_ms,upper_ms,count,cumulative_share");
  expect(rows).toHaveLength(h.buckets.length + 2);
  expect(rows[rows.length - 1]).toMatch(/,inf,\d+,1\.000000$/);
});

test("the picture marks P50, P95 and P99 and draws the SLO bar where the values are", () => {
  const load = phases.find((p) => p.name === "load")!;
  const h = buildLatencyHistogram(load);
  const svg = histogramSvg(h);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const x = (cls: string) => Number(new RegExp(`class="${cls}" x1="([\\d.]+)"`).exec(svg)![1]);
  // The bar (50ms) is left of P95 (it failed), and P50 < P95 < P99 on the axis.
  expect(x("slo-bar")).toBeLessThan(x("marker-p95"));
  expect(x("marker-p50")).toBeLessThan(x("marker-p95"));
  expect(x("marker-p95")).toBeLessThan(x("marker-p99"));
  expect(svg).toContain("SLO bar: P95 ≤ 50ms");
  expect(svg).toContain(`P95 ${h.percentiles!.p95.toFixed(1)}ms`);
});

test("a phase that did not run is drawn as a panel saying so, never as an empty chart", () => {
  const final = phases.find((p) => p.name === "final")!;
  const h = buildLatencyHistogram(final);
  expect(h).toMatchObject({
    ran: false,
    samples: 0,
    percentiles: null,
    note: expect.stringMatching(/^did not run: load did not pass \(latency_p95 [\d.]+ms vs <= 50ms\)$/),
  });
  expect(histogramSvg(h)).toContain("did not run: load did not pass");
});

test("a histogram whose replay did not hold its rate says, on the picture too, that it cannot prove a PASS", () => {
  const smoke = phases.find((p) => p.name === "smoke")!;
  const why = "the driver offered 951 req/s in the window 5s-10s, under 99% of the 1000 req/s target";
  const unheld = { ...smoke, verdict: "INCONCLUSIVE" as const, replay: { ...smoke.replay!, valid: false, invalidReason: why } };
  const h = buildLatencyHistogram(unheld);
  expect(h.valid).toBe(false);
  expect(h.note).toBe(`RATE NOT HELD, so these latencies can show a FAIL but cannot prove a PASS: ${why}`);
  expect(histogramSvg(h)).toContain("RATE NOT HELD: these latencies cannot prove a PASS");
  expect(histogramSvg(buildLatencyHistogram(smoke))).not.toContain("RATE NOT HELD");
});
