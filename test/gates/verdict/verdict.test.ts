import { readFileSync } from "node:fs";
import { loadGate, parseGate } from "../../../src/gates/gate-file/index.js";
import type { Gate, Phase, Slo } from "../../../src/gates/model/gate.js";
import { errorBudget } from "../../../src/gates/verdict/error-budget.js";
import type { PhaseMeasurement, PhaseResult, RbacCase, RequestSample } from "../../../src/gates/model/gate-run-record.js";
import type { ScheduleCheck } from "../../../src/gates/verdict/replay-validity.js";
import { p95ConfidenceRanks } from "../../../src/gates/verdict/statistics.js";
import { evaluatePhase, evaluateRun, phaseCanStillPass, phaseErrorLimit } from "../../../src/gates/verdict/verdict.js";
import { comparison, SLO_NAMES, SLOS, type SloName } from "../../../src/gates/verdict/slos/index.js";

const gateA = loadGate("gates/gate-a.yaml", {});
const [smoke, load, final] = gateA.phases as [Phase, Phase, Phase];

/** Gate A without redeliveries, so distinct events = requests, as in the war room's arithmetic. */
const noRedeliveries: Gate = { ...gateA, corpus: { ...gateA.corpus, redeliveryShare: 0 } };

function samples(n: number): RequestSample[] {
  return Array.from({ length: n }, (_, i) => ({ index: i }) as RequestSample);
}

/** A driver that kept its schedule: the rate held, its own send lag p99 0.4 ms. */
function held(phase: Phase, driverFreeP95LowerMs: number | null, over: Partial<ScheduleCheck> = {}): ScheduleCheck {
  return {
    targetRate: phase.rate,
    achievedRate: phase.rate,
    rateHeld: true,
    windows: [],
    slowestWindow: null,
    sendLagP99Ms: 0.4,
    lagAboveP99: 0,
    driverFreeP95LowerMs,
    ...over,
  };
}

/** The unique idempotency key, present and shown enforced by a refused duplicate insert. */
const UNIQUE_ENFORCED = {
  name: "webhook_events_idempotency_key_key",
  definition: "UNIQUE (idempotency_key)",
  present: true,
  enforced: true,
  tested: true,
  detail: "duplicate insert refused",
};

/** A phase that went perfectly: every SLO comfortably met. The driver's record follows the latency given. */
function good(phase: Phase, over: Partial<PhaseMeasurement> = {}): PhaseMeasurement {
  const m = goodMeasurement(phase, over);
  if (!("replay" in over) && m.replay && m.latency) {
    m.replay = { ...m.replay, schedule: held(phase, m.latency.p95Ci[0] - 0.4) };
  }
  return m;
}

function goodMeasurement(phase: Phase, over: Partial<PhaseMeasurement>): PhaseMeasurement {
  const n = phase.requests;
  const redeliveries = Math.round(n * 0.02);
  const bar = phase.latencyP95Ms;
  return {
    name: phase.name,
    requests: n,
    rate: phase.rate,
    latencyBarMs: bar,
    ran: true,
    replay: {
      samples: samples(n),
      startedAt: "2025-11-13T02:00:00.000Z",
      durationMs: (n / phase.rate) * 1000,
      targetRate: phase.rate,
      achievedRate: phase.rate,
      sendLagP99Ms: 0.4,
      valid: true,
    },
    latency: latency(bar * 0.5, bar * 0.45, bar * 0.6, n),
    distinctEvents: n - redeliveries,
    accepted: n - redeliveries,
    duplicates: redeliveries,
    errors: { byStatus: {}, timeouts: 0, transport: 0 },
    drainMs: 150,
    idempotency: { redeliveriesSent: redeliveries, answeredDuplicate: redeliveries, answeredNew: 0, storedMoreThanOnce: 0, violations: [] },
    ordering: { keysChecked: 500, eventsChecked: n - redeliveries, eventsPerKey: { min: 1, median: 2, max: 9 }, gaps: [], violations: [] },
    database: { rowCount: n - redeliveries, acceptedCount: n - redeliveries, constraints: [UNIQUE_ENFORCED], lostEvents: [] },
    ...over,
  };
}

/**
 * A latency summary with the exact interval given and, unless told otherwise, a windowed interval
 * the same (so the exact one decides); none under 200 samples, as summarizeLatency would have it.
 */
function latency(
  p95: number,
  lower: number,
  upper: number,
  n = 30_000,
  batch: [number, number] | null = n >= 200 ? [lower, upper] : null,
): NonNullable<PhaseMeasurement["latency"]> {
  const ranks = p95ConfidenceRanks(n);
  return {
    n,
    p50: p95 / 3,
    p95,
    p99: upper * 1.2,
    max: upper * 2,
    p95Ci: [lower, upper],
    p95CiRanks: ranks,
    p95CiBatch: batch,
    windows: batch && { count: 20, size: Math.floor(n / 20), p95s: [], standardError: (batch[1] - p95) / 2.093 },
    effectiveSampleSize: batch && n / 4,
    passBounds: { oneSidedAlpha: 0.025, exact: upper, exactRank: ranks[1], batch: batch && batch[1] },
  };
}

function sloOf(e: ReturnType<typeof evaluatePhase>, name: string) {
  return e.slos.find((s) => s.name === name)!;
}

function asResult(phase: Phase, m: PhaseMeasurement, gate: Gate = gateA): PhaseResult {
  return { ...m, ...evaluatePhase(gate, phase, m) };
}

describe("the SLO catalogue", () => {
  // Everything here is derived from the catalogue (src/gates/verdict/slos/index.ts), so an SLO added by the recipe
  // (its name, its module, its line there) is covered: Gate A need not state it, and no list here needs a new line.
  const stated = gateA.slos.map((s) => s.name);

  /** The objective as Gate A states it, or else at the first bar of the catalogue's own example. */
  const statedAlone = (name: SloName): Slo =>
    gateA.slos.find((s) => s.name === name) ?? { name, ...comparison(name)(/"([^"]+)"/.exec(SLOS[name].example)![1]) };

  it("lists each SLO once, under its own name; gate-a.yaml and the verdict tables follow its order", () => {
    expect(Object.entries(SLOS).map(([key, slo]) => [key, slo.name])).toEqual(SLO_NAMES.map((n) => [n, n]));
    expect(stated).toEqual(SLO_NAMES.filter((n) => stated.includes(n)));
    expect(evaluatePhase(gateA, smoke, good(smoke)).slos.map((s) => s.name)).toEqual([...stated, "database_confirmation"]);
  });

  it.each(SLO_NAMES)("judges %s when a gate states it alone", (name) => {
    const alone: Gate = { ...gateA, slos: [statedAlone(name)] };
    const e = evaluatePhase(alone, smoke, good(smoke));
    // A measurement made for Gate A's objectives meets each of them; a newer SLO's own test judges its data.
    if (stated.includes(name)) expect(e.verdict).toBe("PASS");
    // latency_p95 is judged in every phase anyway: each phase states its own bar. An SLO that needs
    // what this measurement lacks (a baseline run) says it was not judged rather than pass.
    const judged = e.slos.map((s) => s.name);
    const all = [...new Set(["latency_p95", name, "database_confirmation"])];
    if (stated.includes(name)) expect(judged).toEqual(all);
    else expect(all).toEqual(expect.arrayContaining(judged));
    expect(judged).toEqual(expect.arrayContaining(["latency_p95", "database_confirmation"]));
  });

  it("a gate file that leaves out ordering_violations loads, and its phases are judged without it", () => {
    const text = readFileSync("gates/gate-a.yaml", "utf8").replace(/^ {2}ordering_violations: .*\n/m, "");
    const gate = parseGate(text, "gate-no-ordering.yaml", {});
    const rest = stated.filter((n) => n !== "ordering_violations");
    expect(gate.slos.map((s) => s.name)).toEqual(rest);
    const outOfOrder = good(smoke).ordering!;
    const violations = [{ orderingKey: "repo-1", expected: [1, 2], actual: [2, 1] }];
    const e = evaluatePhase(gate, smoke, good(smoke, { ordering: { ...outOfOrder, violations } }));
    expect(e).toMatchObject({ verdict: "PASS", reason: `all ${rest.length + 1} objectives met` });
    expect(e.slos.map((s) => s.name)).toEqual([...rest, "database_confirmation"]);
    const notRun = evaluatePhase(gate, load, good(load, { ran: false, replay: null, latency: null }));
    expect(notRun.slos.map((s) => s.name)).toEqual(rest);
    // The same phase against Gate A, which states it, fails on it.
    expect(evaluatePhase(gateA, smoke, good(smoke, { ordering: { ...outOfOrder, violations } })).verdict).toBe("FAIL");
  });
});

describe("a phase that meets every objective", () => {
  it("passes, with each SLO's measured value and bar shown", () => {
    const e = evaluatePhase(gateA, smoke, good(smoke));
    expect(e.verdict).toBe("PASS");
    const judged = [...gateA.slos.map((s) => s.name), "database_confirmation"];
    expect(e.reason).toBe(`all ${judged.length} objectives met`);
    expect(e.slos.map((s) => [s.name, s.verdict])).toEqual(judged.map((n) => [n, "PASS"]));
    expect(sloOf(e, "latency_p95")).toMatchObject({
      measured: 10,
      measuredDisplay: "10ms (95% CI 9ms-12ms; windowed 9ms-12ms, ESS 250; n=1,000)",
      bar: "<= 20ms",
    });
    expect(sloOf(e, "acceptance")).toMatchObject({ measured: 1, measuredDisplay: "100.00% (980 of 980)", bar: ">= 99.9%" });
    expect(sloOf(e, "error_rate")).toMatchObject({ measuredDisplay: "0.00% (0 of 1,000)", bar: "<= 0.10%" });
    expect(sloOf(e, "lost_events")).toMatchObject({ measured: 0, measuredDisplay: "0", bar: "== 0" });
  });
});

describe("latency: the asymmetric rule", () => {
  it("a P95 under the bar whose upper bound is over it, and whose lower bound is under it, is INCONCLUSIVE leaning PASS, by how much", () => {
    const e = evaluatePhase(gateA, final, good(final, { latency: latency(118, 112.3, 131.2) }));
    expect(e.verdict).toBe("INCONCLUSIVE");
    expect(sloOf(e, "latency_p95").verdict).toBe("INCONCLUSIVE");
    expect(e.reason).toMatch(
      /^latency_p95 INCONCLUSIVE, leaning PASS: P95 118ms is 2ms under the 120ms phase bar, but the exact upper bound at 97\.5%, 131\.2ms, is over the 120ms phase bar/,
    );
  });

  it("an upper bound exactly at the bar passes", () => {
    expect(evaluatePhase(gateA, final, good(final, { latency: latency(110, 100, 120) })).verdict).toBe("PASS");
  });

  it("the phase's own bar applies: 35ms is fine for the gate but not for smoke", () => {
    const e = evaluatePhase(gateA, smoke, good(smoke, { latency: latency(30, 26, 35, 1000) }));
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toMatch(
      /^latency_p95 lower CI 26ms, less the driver's own delays \(driver lag p99 0\.4ms\), is 25\.6ms > 20ms \(phase bar, over by 5\.6ms\)/,
    );
  });

  it("the gate-wide bar applies too, when it is the tighter", () => {
    const loose: Phase = { ...final, latencyP95Ms: 500 };
    const e = evaluatePhase(gateA, loose, good(final, { latency: latency(140, 130, 150) }));
    expect(e.verdict).toBe("FAIL");
    expect(sloOf(e, "latency_p95").bar).toBe("<= 120ms");
    expect(e.reason).toMatch(/^latency_p95 lower CI 130ms, .* > 120ms \(gate-wide bar/);
  });

  it("a rate that did not hold cannot PASS, however fast: INCONCLUSIVE, naming the window", () => {
    const m = good(final);
    const why = "the driver offered 951 req/s in the window 10s-15s, under 99% of the 1000 req/s target";
    const e = evaluatePhase(gateA, final, {
      ...m,
      replay: { ...m.replay!, valid: false, invalidReason: why, schedule: held(final, 50, { rateHeld: false, reason: why }) },
    });
    expect(e.verdict).toBe("INCONCLUSIVE");
    expect(e.reason).toMatch(
      /leaning PASS: P95 60ms is 60ms under the 120ms phase bar, but the offered rate did not hold \(the driver offered 951 req\/s in the window 10s-15s/,
    );
  });

  it("a late driver does not save a slow service: FAIL stands when the bound less the driver's lag is over the bar", () => {
    const m = good(final, { latency: latency(900, 850, 950) });
    const e = evaluatePhase(gateA, final, {
      ...m,
      replay: {
        ...m.replay!,
        valid: false,
        schedule: held(final, 850 - 14.8, { rateHeld: false, sendLagP99Ms: 14.8, lagAboveP99: 300, reason: "slow driver" }),
      },
    });
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toMatch(
      /^latency_p95 lower CI 850ms, less the driver's own delays \(driver lag p99 14\.8ms, and the 300 requests the driver delayed most set aside\), is 835\.2ms > 120ms/,
    );
  });

  it("a driver lag that could explain the miss makes it INCONCLUSIVE leaning FAIL, not FAIL", () => {
    const m = good(smoke, { latency: latency(24, 22, 27, 1000) });
    const e = evaluatePhase(gateA, smoke, { ...m, replay: { ...m.replay!, schedule: held(smoke, 22 - 6.8, { sendLagP99Ms: 6.8 }) } });
    expect(e.verdict).toBe("INCONCLUSIVE");
    expect(e.reason).toMatch(
      /^latency_p95 INCONCLUSIVE, leaning FAIL: P95 24ms is 4ms over the 20ms phase bar, .*driver lag p99 6\.8ms\) the lower bound 15\.2ms is within the bar/,
    );
  });

  it("ten fast samples cannot PASS: too few for an upper bound on P95 (before: the maximum was taken as the bound)", () => {
    const tiny: Phase = { ...smoke, requests: 10 };
    const m = good(tiny, { latency: { ...latency(2, 1, Infinity, 10)! } });
    const e = evaluatePhase(noRedeliveries, tiny, { ...m, distinctEvents: 10, accepted: 10, idempotency: null });
    expect(sloOf(e, "latency_p95").verdict).toBe("INCONCLUSIVE");
    expect(sloOf(e, "latency_p95").detail).toMatch(
      /10 samples are too few for a 97\.5% upper bound on P95 \(a phase needs at least 72\); 10 samples are too few for the windowed interval/,
    );
    expect(e.verdict).not.toBe("PASS");
  });

  it("a replay without the driver's schedule record proves nothing either way", () => {
    const m = good(final);
    const { schedule: _dropped, ...bare } = m.replay!;
    const e = evaluatePhase(gateA, final, { ...m, replay: bare });
    expect(e.verdict).toBe("INCONCLUSIVE");
    expect(e.reason).toMatch(/the replay has no schedule record/);
  });
});

describe("database confirmation: the unique idempotency key decides", () => {
  it("a missing UNIQUE (idempotency_key) FAILs, though nothing was stored twice this time", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, { ...m, database: { ...m.database!, constraints: [] } });
    expect(e.verdict).toBe("FAIL");
    expect(sloOf(e, "database_confirmation").verdict).toBe("FAIL");
    expect(e.reason).toMatch(/database_confirmation: no UNIQUE constraint on idempotency_key/);
  });

  it("a constraint declared but not refusing a duplicate insert FAILs", () => {
    const m = good(smoke);
    const broken = { ...UNIQUE_ENFORCED, enforced: false, detail: "a second row with idempotency_key msg_1 was accepted" };
    const e = evaluatePhase(gateA, smoke, { ...m, database: { ...m.database!, constraints: [broken] } });
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toMatch(/is declared but not shown to be enforced: a duplicate insert was not refused/);
  });

  it("a constraint reported enforced but never tested is not trusted: FAIL", () => {
    const m = good(smoke);
    const untested = { ...UNIQUE_ENFORCED, tested: false };
    const e = evaluatePhase(gateA, smoke, { ...m, database: { ...m.database!, constraints: [untested] } });
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toMatch(/it was not tested with a duplicate insert/);
  });
});

describe("acceptance, error rate and counts", () => {
  it("acceptance needs 29,970 of 30,000 distinct events (no floating-point slack either way)", () => {
    const pass = evaluatePhase(noRedeliveries, final, good(final, { distinctEvents: 30_000, accepted: 29_970, idempotency: null }));
    expect(sloOf(pass, "acceptance").verdict).toBe("PASS");
    const fail = evaluatePhase(noRedeliveries, final, good(final, { distinctEvents: 30_000, accepted: 29_969 }));
    expect(fail.verdict).toBe("FAIL");
    expect(fail.reason).toMatch(/acceptance 99\.897% < 99\.9% \(29,969 of 30,000 distinct events accepted; 29,970 needed, 1 short\)/);
  });

  it("error rate counts non-2xx answers, transport errors and timeouts over requests sent", () => {
    const at = (byStatus: Record<string, number>, timeouts: number, transport: number) =>
      evaluatePhase(gateA, final, good(final, { errors: { byStatus, timeouts, transport } }));
    expect(sloOf(at({ "500": 20, "200": 999 }, 5, 5), "error_rate")).toMatchObject({
      verdict: "PASS",
      measuredDisplay: "0.10% (30 of 30,000)",
    });
    const e = at({ "500": 20, "503": 1 }, 5, 5);
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toBe(
      "error_rate 0.103% > 0.10% (31 errors in 30,000 requests: HTTP 500 x20, HTTP 503 x1, timeout x5, transport x5; at most 30 allowed)",
    );
  });

  it("idempotency violations are events stored twice plus redeliveries answered as new", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, { ...m, idempotency: { ...m.idempotency!, storedMoreThanOnce: 2, answeredNew: 1 } });
    expect(e.verdict).toBe("FAIL");
    expect(sloOf(e, "idempotency_violations").measured).toBe(3);
    expect(e.reason).toBe("idempotency_violations 3 > 0 (2 stored more than once, 1 redeliveries answered as new)");
  });

  it("an ordering violation fails the phase and names the key", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, {
      ...m,
      ordering: { ...m.ordering!, violations: [{ orderingKey: "repo-7", expected: [1, 2, 3], actual: [1, 3, 2] }] },
    });
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toMatch(
      /^ordering_violations 1 > 0 \(1 of 500 keys applied out of sequence order; first: key repo-7 applied \[1, 3, 2/,
    );
  });

  it("an accepted event missing from the database is a lost event", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, { ...m, database: { ...m.database!, lostEvents: ["evt_42"] } });
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toBe("lost_events 1 > 0 (1 accepted events not in the database; first: evt_42)");
  });
});

describe("fail closed: no data is never a PASS", () => {
  const cases: [string, Partial<PhaseMeasurement>, string, RegExp][] = [
    ["no latency summary", { latency: null }, "latency_p95", /latency_p95 not measured: no latency samples/],
    ["zero latency samples", { latency: { ...latency(1, 1, 1)!, n: 0 } }, "latency_p95", /no latency samples/],
    [
      "an unusable confidence interval",
      { latency: latency(5, NaN, NaN, 1000) },
      "latency_p95",
      /confidence interval \[NaN, NaN\] is not usable/,
    ],
    ["no replay", { replay: null }, "error_rate", /error_rate not measured: no replay was recorded/],
    ["no distinct events", { distinctEvents: 0, accepted: 0 }, "acceptance", /no distinct events were sent/],
    ["impossible counts", { accepted: 5000 }, "acceptance", /is impossible; the counts are wrong/],
    ["no idempotency report", { idempotency: null }, "idempotency_violations", /no idempotency report/],
    ["no ordering report", { ordering: null }, "ordering_violations", /no ordering report/],
    ["no database confirmation", { database: null }, "lost_events", /no database confirmation/],
  ];
  it.each(cases)("%s is ERROR", (_, over, slo, reason) => {
    const e = evaluatePhase(gateA, smoke, good(smoke, over));
    expect(e.verdict).toBe("ERROR");
    expect(sloOf(e, slo)).toMatchObject({ verdict: "ERROR", measured: null, measuredDisplay: "not measured" });
    expect(e.reason).toMatch(reason);
  });

  it("redeliveries configured but none sent means idempotency was not exercised", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, { ...m, idempotency: { ...m.idempotency!, redeliveriesSent: 0 } });
    expect(e.verdict).toBe("ERROR");
    expect(e.reason).toMatch(/no redeliveries were sent, so idempotency was not exercised/);
  });

  it("no ordered events checked is ERROR", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, { ...m, ordering: { ...m.ordering!, eventsChecked: 0 } });
    expect(e.verdict).toBe("ERROR");
    expect(e.reason).toMatch(/no ordered events were checked/);
  });

  it("a drain that timed out cannot confirm that nothing was lost", () => {
    const e = evaluatePhase(gateA, smoke, good(smoke, { drainMs: null }));
    expect(e.verdict).toBe("ERROR");
    expect(e.reason).toBe(
      "lost_events not measured: the queue did not drain within 10000ms, so events still queued cannot be confirmed stored",
    );
  });

  it("a failure measured elsewhere still FAILs a phase whose latency is INCONCLUSIVE, with both reasons", () => {
    const m = good(final);
    const e = evaluatePhase(gateA, final, {
      ...m,
      replay: {
        ...m.replay!,
        valid: false,
        invalidReason: "slow window",
        schedule: held(final, 50, { rateHeld: false, reason: "slow window" }),
      },
      errors: { byStatus: { "500": 300 }, timeouts: 0, transport: 0 },
    });
    expect(e.verdict).toBe("FAIL");
    expect(e.reason).toMatch(/^error_rate 1\.00% > 0\.10% .*; latency_p95 INCONCLUSIVE, leaning PASS/);
  });

  it("a phase that did not run is not PASS, and neither is any of its SLOs", () => {
    const e = evaluatePhase(gateA, load, good(load, { ran: false, replay: null, latency: null }));
    expect(e.verdict).toBe("NOT_RUN");
    expect(e.reason).toBe("phase did not run");
    expect(e.slos).toHaveLength(6);
    expect(e.slos.every((s) => s.verdict === "ERROR" && s.measured === null)).toBe(true);
  });

  it("an aborted phase is not PASS even if what it measured looked fine", () => {
    const m = good(smoke);
    const e = evaluatePhase(gateA, smoke, { ...m, replay: { ...m.replay!, aborted: "aborted by /gate-a abort from Agent3" } });
    expect(e.verdict).toBe("ERROR");
    expect(e.reason).toBe("phase aborted: aborted by /gate-a abort from Agent3");
  });

  it("a phase that sent fewer requests than it promised is not PASS", () => {
    const e = evaluatePhase(gateA, smoke, good(smoke, { replay: { ...good(smoke).replay!, samples: samples(900) } }));
    expect(e.verdict).toBe("ERROR");
    expect(e.reason).toBe("only 900 of 1,000 requests were sent");
  });
});

describe("the run's verdict", () => {
  const passed = (p: Phase) => asResult(p, good(p));

  it("is PASS only when every selected phase ran and passed", () => {
    expect(evaluateRun([passed(smoke), passed(load), passed(final)])).toEqual({
      verdict: "PASS",
      reason: "all 3 phases passed: smoke, load, final",
    });
  });

  it("is FAIL when a phase failed, naming it and the phases that did not run", () => {
    const failed = asResult(smoke, good(smoke, { latency: latency(40, 35, 45, 1000) }));
    const skipped = (p: Phase) => asResult(p, good(p, { ran: false, replay: null }));
    const r = evaluateRun([failed, skipped(load), skipped(final)]);
    expect(r.verdict).toBe("FAIL");
    expect(r.reason).toMatch(/^smoke: latency_p95 lower CI 35ms, .* > 20ms .*; load, final did not run$/);
  });

  it("is ERROR when a phase could not be measured and none failed", () => {
    const r = evaluateRun([passed(smoke), asResult(load, good(load, { database: null }))]);
    expect(r.verdict).toBe("ERROR");
    expect(r.reason).toMatch(/^load: lost_events not measured: no database confirmation/);
  });

  it("is INCONCLUSIVE when a phase could not tell and none failed or errored", () => {
    const r = evaluateRun([passed(smoke), asResult(load, good(load, { latency: latency(48, 40, 55, 5000) }))]);
    expect(r.verdict).toBe("INCONCLUSIVE");
    expect(r.reason).toMatch(/^load: latency_p95 INCONCLUSIVE, leaning PASS/);
  });

  it("is INCONCLUSIVE, not ERROR, when the later phases did not run because an earlier one could not tell (before: ERROR)", () => {
    const undecided = asResult(smoke, good(smoke, { latency: latency(19, 15, 25, 1000) }));
    const skipped = (p: Phase) => asResult(p, good(p, { ran: false, replay: null }));
    const r = evaluateRun([undecided, skipped(load), skipped(final)]);
    expect(r.verdict).toBe("INCONCLUSIVE");
    expect(r.reason).toMatch(/^smoke: latency_p95 INCONCLUSIVE, leaning PASS.*; load, final did not run$/);
  });

  it("is FAIL of the gate named rbac when a credential case failed, not ERROR (before: ERROR, the phases never ran)", () => {
    const rbac: RbacCase[] = [
      { name: "no_credentials", description: "no credentials", expectedStatus: 401, actualStatus: 202, verdict: "FAIL" },
      { name: "all_valid", description: "every credential valid", expectedStatus: 202, actualStatus: 202, verdict: "PASS" },
    ];
    const notRun = (p: Phase) => asResult(p, good(p, { ran: false, replay: null }));
    const r = evaluateRun([notRun(smoke), notRun(load), notRun(final)], { rbac });
    expect(r.verdict).toBe("FAIL");
    expect(r.reason).toMatch(/^rbac: 1 of 2 credential cases failed \(no_credentials expected 401 got 202\)/);
    expect(evaluateRun([passed(smoke), passed(load), passed(final)], { rbac }).verdict).toBe("FAIL");
  });

  it("is ERROR, not FAIL, when the RBAC cases got no answer at all: an unreachable service measured nothing", () => {
    const rbac: RbacCase[] = [
      { name: "no_credentials", description: "no credentials", expectedStatus: 401, actualStatus: 0, verdict: "FAIL" },
      { name: "all_valid", description: "every credential valid", expectedStatus: 202, actualStatus: 0, verdict: "FAIL" },
    ];
    const notRun = (p: Phase) => asResult(p, good(p, { ran: false, replay: null }));
    const r = evaluateRun([notRun(smoke), notRun(load), notRun(final)], { rbac });
    expect(r.verdict).toBe("ERROR");
    expect(r.reason).toMatch(/^rbac: 2 of 2 credential cases got no answer \(no_credentials, all_valid\)/);
    // One wrong answer among unanswered cases is still a FAIL.
    const mixed = [{ ...rbac[0]!, actualStatus: 202 }, rbac[1]!];
    expect(evaluateRun([notRun(smoke), notRun(load), notRun(final)], { rbac: mixed }).verdict).toBe("FAIL");
  });

  it("is PARTIAL when the phases run all passed but the gate has more: no GO", () => {
    const r = evaluateRun([passed(smoke)], { gatePhases: 3 });
    expect(r.verdict).toBe("PARTIAL");
    expect(r.reason).toBe(
      "all 1 phase passed: smoke; but this is a partial run (1 of the gate's 3 phases), so it is no GO (the gate's partial_runs is PARTIAL)",
    );
  });

  it("is PASS for a partial run only when the gate file allows partial runs as PASS", () => {
    expect(evaluateRun([passed(smoke)], { gatePhases: 3, partialRuns: "PASS" }).verdict).toBe("PASS");
    expect(evaluateRun([passed(smoke), passed(load), passed(final)], { gatePhases: 3 }).verdict).toBe("PASS");
  });

  it("a partial run whose phase failed is FAIL, not PARTIAL", () => {
    const failed = asResult(smoke, good(smoke, { latency: latency(40, 35, 45, 1000) }));
    expect(evaluateRun([failed], { gatePhases: 3 }).verdict).toBe("FAIL");
  });

  it("is ERROR when there were no phases at all", () => {
    expect(evaluateRun([]).verdict).toBe("ERROR");
  });

  it("does not trust a PASS on a phase that did not run, has no SLOs, or has an SLO short of PASS", () => {
    const notRun = { ...passed(smoke), ran: false };
    expect(evaluateRun([notRun])).toEqual({ verdict: "ERROR", reason: "smoke did not run" });
    expect(evaluateRun([{ ...passed(smoke), slos: [] }]).reason).toBe("smoke: no objectives were evaluated");
    const p = passed(smoke);
    const lying = { ...p, slos: p.slos.map((s, i) => (i === 1 ? { ...s, verdict: "ERROR" as const } : s)) };
    expect(evaluateRun([lying])).toEqual({ verdict: "ERROR", reason: "smoke: marked PASS but acceptance did not pass" });
  });
});

describe("the error budget", () => {
  it("0.10% of 30,000 requests is 30 errors; 99.9% of the distinct events must be accepted", () => {
    expect(errorBudget(gateA, final)).toEqual({
      requests: 30_000,
      allowedErrors: 30,
      distinctEvents: 29_400,
      minAccepted: 29_371,
      allowedUnaccepted: 29,
    });
    expect(errorBudget(gateA, final, 30_000)).toMatchObject({ minAccepted: 29_970, allowedUnaccepted: 30 });
    expect(errorBudget(gateA, smoke).allowedErrors).toBe(1);
  });

  it("a phase can still pass until its budget is spent, then says why not", () => {
    expect(phaseCanStillPass(gateA, final, { sent: 12_000, errors: 30 })).toBeNull();
    expect(phaseCanStillPass(gateA, final, { sent: 12_000, errors: 31 })).toBe(
      "error budget spent: 31 errors after 12,000 of 30,000 requests; error_rate <= 0.10% allows at most 30",
    );
  });

  it("the early stop counts redeliveries: failed requests the redeliveries could excuse do not stop a phase that can still pass", () => {
    // Acceptance alone (no error_rate), 99.9%: 29 of 29,400 distinct events may go unaccepted.
    const acceptanceOnly: Gate = { ...gateA, slos: gateA.slos.filter((x) => x.name !== "error_rate") };
    const corpus = { distinctEvents: 29_400, redeliveries: 600 };
    // 600 failed requests may all be redeliveries of accepted events: nothing is lost yet (before: stopped at 30).
    expect(phaseCanStillPass(acceptanceOnly, final, { sent: 12_000, errors: 600 }, corpus)).toBeNull();
    expect(phaseCanStillPass(acceptanceOnly, final, { sent: 12_000, errors: 629 }, corpus)).toBeNull();
    expect(phaseCanStillPass(acceptanceOnly, final, { sent: 12_000, errors: 630 }, corpus)).toBe(
      "acceptance can no longer reach 99.9%: 630 failed requests after 12,000 of 30,000 leave at least 30 events unaccepted " +
        "(the 600 redeliveries can excuse no more); at most 29 of 29,400 may be",
    );
  });

  it("the early stop uses the corpus's own counts, not the gate's share, when it has them", () => {
    const acceptanceOnly: Gate = { ...gateA, slos: gateA.slos.filter((x) => x.name !== "error_rate") };
    // A recorded corpus without redeliveries: every failed request is an event lost for good.
    expect(phaseCanStillPass(acceptanceOnly, final, { sent: 100, errors: 31 }, { distinctEvents: 30_000, redeliveries: 0 })).toMatch(
      /at least 31 events unaccepted/,
    );
  });

  it("a shard's error limit is the most errors the whole phase can take and still pass, or none without such objectives", () => {
    expect(phaseErrorLimit(gateA, final)).toBe(30);
    expect(phaseCanStillPass(gateA, final, { sent: 30_000, errors: 30 })).toBeNull();
    const acceptanceOnly: Gate = { ...gateA, slos: gateA.slos.filter((x) => x.name !== "error_rate") };
    const corpus = { distinctEvents: 29_400, redeliveries: 600 };
    expect(phaseErrorLimit(acceptanceOnly, final, corpus)).toBe(629);
    expect(phaseErrorLimit(acceptanceOnly, final, { distinctEvents: 30_000, redeliveries: 0 })).toBe(30);
    const neither: Gate = { ...gateA, slos: gateA.slos.filter((x) => x.name !== "error_rate" && x.name !== "acceptance") };
    expect(phaseErrorLimit(neither, final, corpus)).toBeNull();
    // A gate that allows no error at all: the first error stops a shard.
    const strict = parseGate(
      readFileSync("gates/gate-a.yaml", "utf8").replace(/error_rate: "<= 0\.10%"/, 'error_rate: "<= 0%"'),
      "x.yaml",
      {},
    );
    expect(phaseErrorLimit(strict, final)).toBe(0);
  });
});
