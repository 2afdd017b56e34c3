// The latency-over-time chart's data and picture, from phases built by hand: pure, no servers.

import type { PhaseResult, RequestSample } from "../../../../src/gates/model/gate-run-record.js";
import { notRun } from "../../../../src/gates/measure/measure-phase.js";
import { buildLatencyTimeline, timelineCsv, windowFor } from "../../../../src/gates/evidence/report/latency-timeline.js";
import { timelineSvg } from "../../../../src/gates/evidence/report/timeline-svg.js";
import type { Phase } from "../../../../src/gates/model/gate.js";

/** A phase of `seconds` seconds at `rate`/s, every latency `baseMs` except the requests due in `stallSecond`. */
function phaseWith(o: {
  seconds: number;
  rate: number;
  baseMs: number;
  stallSecond?: number;
  stallMs?: number;
  queue?: { atMs: number; depth: number }[] | null;
  valid?: boolean;
}): PhaseResult {
  const samples: RequestSample[] = [];
  const n = o.seconds * o.rate;
  for (let i = 0; i < n; i++) {
    const dueAt = (i * 1000) / o.rate;
    const stalled = o.stallSecond !== undefined && Math.floor(dueAt / 1000) === o.stallSecond;
    const latencyMs = stalled ? o.stallMs! : o.baseMs;
    samples.push({
      index: i,
      eventId: `e${i}`,
      orderingKey: `k${i % 10}`,
      seq: Math.floor(i / 10) + 1,
      redelivery: false,
      dueAt,
      sentAt: dueAt + 0.2,
      doneAt: dueAt + latencyMs,
      latencyMs,
      sendLagMs: 0.2,
      status: 202,
      outcome: "accepted",
      requestId: `r${i}`,
    });
  }
  const phase = { name: "smoke", requests: n, rate: o.rate, latencyP95Ms: 20 } as Phase;
  return {
    ...notRun(phase, "unused"),
    ran: true,
    verdict: "FAIL",
    reason: "latency",
    replay: {
      samples,
      startedAt: "2026-01-01T00:00:00.000Z",
      durationMs: n,
      targetRate: o.rate,
      achievedRate: o.rate,
      sendLagP99Ms: 0.2,
      valid: o.valid ?? true,
    },
    resources: {
      cpu: {
        driverUsPerRequest: 100,
        serverUsPerRequest: 150,
        workersUsPerEvent: 80,
        driverUs: 1,
        serverUs: 1,
        workersUs: 1,
        requests: n,
        events: n,
        windowMs: 1,
      },
      queueDepth:
        o.queue === undefined
          ? [
              { atMs: 250, depth: 3 },
              { atMs: 1500, depth: 40 },
              { atMs: 1750, depth: 12 },
            ]
          : o.queue,
    },
  };
}

describe("latency over time", () => {
  test("windows are a second long, or shorter for a short phase, so there are at least 20 of them", () => {
    expect(windowFor(30_000)).toBe(1000);
    expect(windowFor(20_000)).toBe(1000);
    expect(windowFor(10_000)).toBe(500);
    expect(windowFor(5_000)).toBe(250);
    expect(windowFor(2_000)).toBe(100);
    expect(windowFor(50)).toBe(100);
  });

  test("a stall in one second shows in that second's P95 and max, and the others stay low", () => {
    const t = buildLatencyTimeline(phaseWith({ seconds: 25, rate: 20, baseMs: 2, stallSecond: 12, stallMs: 200 }));
    expect(t.windowMs).toBe(1000);
    expect(t.seconds).toHaveLength(25);
    expect(t.seconds.every((s) => s.requests === 20)).toBe(true);
    expect(t.seconds.map((s) => s.p95Ms)).toEqual(t.seconds.map((s) => (s.second === 12 ? 200 : 2)));
    expect(t.seconds[12]!.maxMs).toBe(200);
    expect(t.seconds[11]!.p50Ms).toBe(2);
    expect(t.seconds[0]!.sendLagMaxMs).toBeCloseTo(0.2);
  });

  test("a 200 ms stall in a 2-second phase gets windows of its own", () => {
    const t = buildLatencyTimeline(phaseWith({ seconds: 2, rate: 500, baseMs: 2, stallSecond: 1, stallMs: 200 }));
    expect(t.windowMs).toBe(100);
    const stalled = t.seconds.filter((s) => s.p95Ms === 200).map((s) => s.second);
    expect(stalled).toEqual([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9]);
    expect(t.seconds[0]!.requests).toBe(50);
  });

  test("accepted answers count in the window they arrived, per second, and the queue's deepest sample per window is kept", () => {
    const t = buildLatencyTimeline(phaseWith({ seconds: 25, rate: 10, baseMs: 1500 }));
    expect(t.windowMs).toBe(1000);
    // 10 due each second answer 1.5 s later: half in the next second, half in the one after.
    expect(t.seconds.map((s) => s.acceptedPerS).slice(0, 4)).toEqual([0, 5, 10, 10]);
    expect(t.seconds[t.seconds.length - 1]!.acceptedPerS).toBe(5);
    expect(t.seconds.map((s) => s.queueDepth).slice(0, 3)).toEqual([3, 40, null]);
    expect(t.queueSampled).toBe(true);
  });

  test("a target whose queue was not sampled has no queue series: absent, not zero", () => {
    const t = buildLatencyTimeline(phaseWith({ seconds: 2, rate: 10, baseMs: 1, queue: null }));
    expect(t.queueSampled).toBe(false);
    expect(t.seconds.every((s) => s.queueDepth === null)).toBe(true);
    const svg = timelineSvg(t);
    expect(svg).not.toContain("series-queue");
    expect(svg).toContain("queue depth: not sampled");
    expect(timelineCsv(t).split("\n")[1]).toMatch(/,$/);
  });

  test("the CSV has one row per window with every series", () => {
    const csv = timelineCsv(buildLatencyTimeline(phaseWith({ seconds: 25, rate: 10, baseMs: 2, stallSecond: 1, stallMs: 50 })));
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe("start_s,requests,p50_ms,p95_ms,max_ms,send_lag_p95_ms,send_lag_max_ms,accepted_per_s,queue_depth");
    expect(lines).toHaveLength(26);
    expect(lines[2]).toBe("1,10,50,50,50,0.2,0.2,10,40");
  });

  test("the picture draws each series, the SLO bar, and says when the replay was invalid", () => {
    const svg = timelineSvg(
      buildLatencyTimeline(phaseWith({ seconds: 25, rate: 20, baseMs: 2, stallSecond: 3, stallMs: 300, valid: false })),
    );
    expect(svg.startsWith("<svg")).toBe(true);
    for (const cls of ["series-p50", "series-p95", "series-max", "series-lag", "series-queue", "series-accepted", "slo-bar"])
      expect(svg).toContain(`class="${cls}"`);
    expect(svg).toContain("INVALID REPLAY");
    expect(svg).toContain('data-phase="smoke"');
    expect(svg).toContain("3-4 s: 20 due, P50 300");
  });

  test("a phase that did not run says so instead of drawing", () => {
    const phase = notRun({ name: "final", requests: 10, rate: 10, latencyP95Ms: 120 } as Phase, "not run: smoke did not pass");
    const t = buildLatencyTimeline(phase);
    expect(t.seconds).toEqual([]);
    expect(t.note).toContain("did not run");
    expect(timelineSvg(t)).toContain("did not run");
  });
});
