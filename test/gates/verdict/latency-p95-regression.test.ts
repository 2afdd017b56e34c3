// latency_p95_regression: how a gate file states it (with `baseline: last_go`), and how it judges a candidate's
// latencies against a baseline run's on the block-bootstrap interval of the ratio of their P95s.

import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { GateDefinitionError, parseGate } from "../../../src/gates/gate-file/index.js";
import type { BaselineRun } from "../../../src/gates/verdict/baseline-run.js";
import type { PhaseMeasurement } from "../../../src/gates/model/gate-run-record.js";
import { p95RatioInterval, type TimedLatency } from "../../../src/gates/verdict/p95-ratio-interval.js";
import { judgeRegression, parseRegressionBar } from "../../../src/gates/verdict/slos/latency-p95-regression.js";
import { evaluatePhase } from "../../../src/gates/verdict/verdict.js";

const GATE_A = readFileSync(new URL("../../../gates/gate-a.yaml", import.meta.url), "utf8");

/** Gate A with a comparison: `baseline:` at the top and the objective among the others. */
function gateText(objective: string | null, baseline: string | null = "last_go"): string {
  let text = GATE_A;
  if (objective !== null) text = text.replace(`  lost_events: "== 0"\n`, `  lost_events: "== 0"\n  latency_p95_regression: ${objective}\n`);
  if (baseline !== null) text = text.replace("\nobjectives:\n", `\nbaseline: ${baseline}\n\nobjectives:\n`);
  return text;
}

function problemsOf(text: string): string[] {
  try {
    parseGate(text, "gates/gate-a.yaml", {});
  } catch (err) {
    if (err instanceof GateDefinitionError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

/** Deterministic normal draws (Box–Muller over mulberry32), seeded from a string. */
function normals(seed: string): () => number {
  let a = createHash("sha256").update(seed).digest().readUInt32LE(0);
  const uniform = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * A replay's latencies at `rate`/s: log-normal around 4 ms, correlated in time (an AR(1) on the log, as a queue
 * makes neighbours alike), times `scale`.
 */
function replay(seed: string, n: number, scale = 1, rate = 1000): TimedLatency[] {
  const z = normals(seed);
  let state = 0;
  return Array.from({ length: n }, (_, i) => {
    state = 0.9 * state + Math.sqrt(1 - 0.81) * z();
    return { dueAt: (i * 1000) / rate, latencyMs: scale * 4 * Math.exp(0.45 * state) };
  });
}

const BASELINE = { runId: "gate-a-20261201-020000-abcdef", commit: "0123456789abcdef0123456789abcdef01234567" };

function judge(candidate: TimedLatency[], baseline: TimedLatency[], bar = 0.15, rateHeld = true) {
  return judgeRegression({ candidate, baseline, bar, barText: `<= +${bar * 100}%`, baselineRun: BASELINE, rateHeld });
}

describe("latency_p95_regression in a gate file", () => {
  it("reads the bar as the user wrote it, with baseline: last_go", () => {
    const gate = parseGate(gateText(`"<= +15%"`), "gates/gate-a.yaml", {});
    expect(gate.baseline).toBe("last_go");
    expect(gate.slos.find((s) => s.name === "latency_p95_regression")).toEqual({
      name: "latency_p95_regression",
      comparator: "<=",
      bar: 0.15,
      display: "+15%",
    });
  });

  it("takes the bar with or without the plus sign", () => {
    expect(parseRegressionBar("+15%")).toBe(0.15);
    expect(parseRegressionBar("7.5%")).toBe(0.075);
    expect(parseRegressionBar("+0%")).toBe(0);
  });

  it.each([
    [`"<= fast"`, `"fast" is not a growth in percent; expected the candidate's P95 over the baseline's, such as "<= +15%"`],
    [
      `"<= -5%"`,
      `a regression bar of -5% would fail a candidate as fast as its baseline; expected a growth of 0% or more, such as "<= +15%"`,
    ],
    [`"<= 15"`, `"15" is not a growth in percent`],
    [`">= +15%"`, `latency_p95_regression cannot be held to ">="; expected "<= +15%"`],
    [`"<= +2000%"`, `at most +1000%`],
  ])("refuses %s with a message that says what was expected", (objective, message) => {
    const problems = problemsOf(gateText(objective));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("objectives.latency_p95_regression: ");
    expect(problems[0]).toContain(message);
  });

  it("refuses the objective without baseline:, and baseline: without the objective", () => {
    expect(problemsOf(gateText(`"<= +15%"`, null))).toEqual([
      "objectives.latency_p95_regression: latency_p95_regression compares with a baseline run, but the gate names none; expected `baseline: last_go` at the top of the gate file",
    ]);
    expect(problemsOf(gateText(null))).toEqual([
      `baseline: baseline: last_go compares with the last GO, but no objective judges the comparison; expected objectives.latency_p95_regression, such as "<= +15%"`,
    ]);
    expect(problemsOf(gateText(`"<= +15%"`, "last_pass"))[0]).toContain(`"last_pass" is not allowed; expected one of last_go`);
  });
});

describe("judging a candidate against its baseline", () => {
  it("does not FAIL a candidate drawn from the same distribution", () => {
    const r = judge(replay("same/candidate", 5000), replay("same/baseline", 5000));
    expect(r.verdict).not.toBe("FAIL");
    expect(r.measured).toBeGreaterThan(0.85);
    expect(r.measured).toBeLessThan(1.15);
  });

  it("FAILs a candidate 50% slower", () => {
    const r = judge(replay("slow/candidate", 5000, 1.5), replay("slow/baseline", 5000));
    expect(r.verdict).toBe("FAIL");
    expect(r.detail).toContain(`even the lower bound is over 1.150 (<= +15% of baseline run ${BASELINE.runId} (commit 0123456789ab))`);
  });

  it("PASSes a candidate 5% slower against a +15% bar when there is plenty of data", () => {
    const r = judge(replay("five/candidate", 30_000, 1.05), replay("five/baseline", 30_000));
    expect(r.verdict).toBe("PASS");
    expect(r.measuredDisplay).toMatch(/^\+\d\.\d% \(P95 [\d.]+ms → [\d.]+ms; 95% CI .* block bootstrap, 120\+120 windows of 250ms\)$/);
  });

  it("cannot PASS when the candidate's replay did not hold its rate, but still FAILs", () => {
    expect(judge(replay("rate/candidate", 30_000, 1.05), replay("rate/baseline", 30_000), 0.15, false).verdict).toBe("INCONCLUSIVE");
    expect(judge(replay("rate/slow", 5000, 1.5), replay("rate/baseline", 5000), 0.15, false).verdict).toBe("FAIL");
  });

  it("is INCONCLUSIVE with too few requests to tell", () => {
    const r = judge(replay("few/candidate", 150, 1.5), replay("few/baseline", 150));
    expect(r.verdict).toBe("INCONCLUSIVE");
    expect(r.detail).toContain("the candidate has 150 requests; a comparison needs at least 200");
    // Enough requests, but over too short a time to see how the P95 moves from one stretch to the next.
    const short = judge(replay("short/candidate", 1000, 1, 1000), replay("short/baseline", 1000, 1, 1000));
    expect(short.verdict).toBe("INCONCLUSIVE");
    expect(short.detail).toContain("spans 4 windows of 250ms; a comparison needs at least 8");
  });

  it("is INCONCLUSIVE when the interval straddles the bar", () => {
    const r = judge(replay("edge/candidate", 2000, 1.15), replay("edge/baseline", 2000));
    expect(r.verdict).toBe("INCONCLUSIVE");
    expect(r.detail).toContain("the interval straddles 1.150");
  });

  it("holds a ratio exactly at the bar within it, and one just over it over it", () => {
    // Constant latencies: every replicate has the same P95, so the interval is the ratio itself.
    const flat = (ms: number) => Array.from({ length: 2000 }, (_, i) => ({ dueAt: i, latencyMs: ms }));
    expect(judge(flat(11.5), flat(10)).verdict).toBe("PASS");
    expect(judge(flat(11.6), flat(10)).verdict).toBe("FAIL");
  });
});

describe("the block bootstrap", () => {
  it("gives the same interval for the same inputs, every time", () => {
    const candidate = replay("repeat/candidate", 5000, 1.1);
    const baseline = replay("repeat/baseline", 5000);
    const first = p95RatioInterval(candidate, baseline);
    const second = p95RatioInterval(
      candidate.map((s) => ({ ...s })),
      baseline.map((s) => ({ ...s })),
    );
    expect(first.ok).toBe(true);
    expect(second).toEqual(first);
    // Another draw of the same runs' data would be another interval: the seed is the data's.
    const other = p95RatioInterval(replay("repeat/other", 5000, 1.1), baseline);
    expect(other.ok && first.ok && other.seed !== first.seed && (other.lower !== first.lower || other.upper !== first.upper)).toBe(true);
  });

  it("is wider on correlated data than an independent resample would make it", () => {
    // The same values, once in time order (runs of slow requests) and once shuffled (none): blocks keep the runs.
    const ordered = replay("corr/candidate", 5000);
    const z = normals("corr/shuffle");
    const shuffled = [...ordered]
      .map((s) => ({ s, k: z() }))
      .sort((a, b) => a.k - b.k)
      .map(({ s }, i) => ({ dueAt: i, latencyMs: s.latencyMs }));
    const baseline = replay("corr/baseline", 5000);
    const a = p95RatioInterval(ordered, baseline);
    const b = p95RatioInterval(shuffled, baseline);
    if (!a.ok || !b.ok) throw new Error("expected both intervals");
    expect(a.upper - a.lower).toBeGreaterThan(b.upper - b.lower);
  });
});

describe("the objective in a phase's verdict", () => {
  // The comparison alone (latency_p95 and the database check still apply; this measurement has neither).
  const stated = parseGate(gateText(`"<= +15%"`), "gates/gate-a.yaml", {});
  const gate = { ...stated, slos: stated.slos.filter((s) => s.name === "latency_p95_regression") };
  const load = gate.phases[1]!;
  const samplesOf = (lat: TimedLatency[]) =>
    lat.map((l, index) => ({
      index,
      eventId: `e${index}`,
      orderingKey: null,
      seq: null,
      redelivery: false,
      dueAt: l.dueAt,
      sentAt: l.dueAt,
      doneAt: l.dueAt + l.latencyMs,
      latencyMs: l.latencyMs,
      sendLagMs: 0,
      status: 202,
      outcome: "accepted" as const,
      requestId: null,
    }));
  const measured = {
    name: "load",
    ran: true,
    replay: { samples: samplesOf(replay("phase/candidate", 5000, 1.5)), schedule: { rateHeld: true } },
  } as unknown as PhaseMeasurement;
  const baseline: BaselineRun = {
    ...BASELINE,
    gate: "gate-a",
    target: "auto_com_center on the bundled ingest service",
    machineClass: "2 × test CPU, linux",
    verdict: "PASS",
    signoff: "complete",
    source: "evidence/earlier",
    phases: [{ name: "load", samples: replay("phase/baseline", 5000) }],
  };

  it("judges the phase against the baseline's phase of the same name", () => {
    const e = evaluatePhase(gate, load, measured, { baseline });
    const r = e.slos.find((s) => s.name === "latency_p95_regression");
    expect(r?.verdict).toBe("FAIL");
    expect(e.verdict).toBe("FAIL");
  });

  it("leaves the objective out when the run has no baseline, and errs when the baseline lacks the phase", () => {
    expect(evaluatePhase(gate, load, measured).slos.map((s) => s.name)).not.toContain("latency_p95_regression");
    const other = evaluatePhase(gate, load, measured, { baseline: { ...baseline, phases: [] } });
    expect(other.slos.find((s) => s.name === "latency_p95_regression")).toMatchObject({
      verdict: "ERROR",
      detail: `latency_p95_regression not measured: the baseline run ${BASELINE.runId} has no load phase to compare with`,
    });
  });
});
