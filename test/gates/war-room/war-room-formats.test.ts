import { loadGate } from "../../../src/gates/gate-file/index.js";
import type { Phase } from "../../../src/gates/model/gate.js";
import type { PhaseResult, SloResult } from "../../../src/gates/model/gate-run-record.js";
import {
  formatUtcTime,
  milestoneUpdate,
  renderDecisionLog,
  renderPlainVerdictTable,
  renderTimeline,
  renderVerdictTable,
  renderWarRoomUpdate,
  type VerdictSummary,
} from "../../../src/gates/war-room/war-room-formats.js";
import { notRun } from "../../../src/gates/measure/measure-phase.js";

const gateA = loadGate("gates/gate-a.yaml", {});
const gateB = loadGate("gates/gate-b.yaml", {});
const [smoke, load, final] = gateA.phases as [Phase, Phase, Phase];

function slo(name: string, measuredDisplay: string, bar: string, verdict: SloResult["verdict"] = "PASS", detail = ""): SloResult {
  return { name, measured: 1, measuredDisplay, bar, verdict, detail };
}

function phaseResult(phase: Phase, verdict: PhaseResult["verdict"], reason: string, slos: SloResult[], ran = true): PhaseResult {
  return { ...notRun(phase, reason), ran, verdict, slos };
}

const smokePass = phaseResult(smoke, "PASS", "all 2 objectives met", [
  slo("latency_p95", "12.1ms (95% CI 11.8ms-13ms, n=1,000)", "<= 20ms"),
  slo("acceptance", "100.00% (980 of 980)", ">= 99.9%"),
]);
const loadFail = phaseResult(load, "FAIL", "latency_p95 upper CI 56.2ms > 50ms (phase bar, over by 6.2ms)", [
  slo("latency_p95", "51ms (95% CI 49ms-56.2ms, n=5,000)", "<= 50ms", "FAIL", "latency_p95 upper CI 56.2ms > 50ms"),
  slo("acceptance", "100.00% (4,900 of 4,900)", ">= 99.9%"),
]);
const finalSkipped = phaseResult(final, "NOT_RUN", "phase did not run", [], false);
const failedRun: VerdictSummary = {
  verdict: "FAIL",
  reason: "load: latency_p95 upper CI 56.2ms > 50ms (phase bar, over by 6.2ms); final did not run",
  phases: [smokePass, loadFail, finalSkipped],
};

describe("a war-room status update", () => {
  it("is rendered in exactly the war room's format", () => {
    const text = renderWarRoomUpdate({
      time: "2025-11-12T20:30:00Z",
      milestone: "Remediation playbook delivered",
      status: "YELLOW",
      progress: "Playbook delivered",
      blockers: "Workspace access",
      next: "Platform Ops: Redis/DB provisioning",
      eta: "21:00 UTC",
      owner: "Agent3",
    });
    expect(text).toBe(
      [
        "TIME: 20:30 UTC",
        "MILESTONE: Remediation playbook delivered",
        "STATUS: YELLOW",
        "PROGRESS: Playbook delivered",
        "BLOCKERS: Workspace access",
        "NEXT: Platform Ops: Redis/DB provisioning",
        "ETA: 21:00 UTC",
        "OWNER: Agent3",
      ].join("\n"),
    );
  });

  it("keeps one line per field and says None when nothing blocks", () => {
    const text = renderWarRoomUpdate({
      time: "2025-11-13T02:00:00Z",
      milestone: "x",
      status: "GREEN",
      progress: "smoke PASS\nload PASS",
      blockers: "  ",
      next: "",
      eta: "now",
      owner: "Agent3",
    });
    expect(text.split("\n")).toHaveLength(8);
    expect(text).toContain("PROGRESS: smoke PASS; load PASS\n");
    expect(text).toContain("BLOCKERS: None\n");
    expect(text).toContain("NEXT: N/A\n");
  });

  it("shows times as HH:MM UTC, and text that is not a time as written", () => {
    expect(formatUtcTime("2025-11-13T01:05:59.999Z")).toBe("01:05 UTC");
    expect(formatUtcTime("2025-11-13T03:00:00+01:00")).toBe("02:00 UTC");
    expect(formatUtcTime("soon")).toBe("soon");
  });
});

describe("the timeline and the decision log", () => {
  it("the timeline is a markdown table like the war room's", () => {
    const text = renderTimeline([
      { time: "2025-11-12T20:00:00Z", milestone: "CEO decision: Gate A DELAYED", owner: "CEO", status: "done", blocker: "" },
      {
        time: "2025-11-13T00:30:00Z",
        milestone: "Smoke test: 1K replay (P95 <= 20ms)",
        owner: "Engineer",
        status: "pending",
        blocker: "Deployment",
      },
      { time: "2025-11-13T01:00:00Z", milestone: "Load | 5K", owner: "Engineer", status: "failed", blocker: "P95 56ms" },
    ]);
    expect(text).toBe(
      [
        "| Time (UTC) | Milestone | Owner | Status | Blocker |",
        "|------------|-----------|-------|--------|---------|",
        "| 20:00 | CEO decision: Gate A DELAYED | CEO | ✅ done | N/A |",
        "| 00:30 | Smoke test: 1K replay (P95 <= 20ms) | Engineer | ⏰ pending | Deployment |",
        "| 01:00 | Load \\| 5K | Engineer | ❌ failed | P95 56ms |",
      ].join("\n"),
    );
  });

  it("the decision log numbers decisions in the war room's layout", () => {
    const text = renderDecisionLog([
      {
        time: "2025-11-12T20:00:00Z",
        title: "Gate A Status",
        authority: "CEO",
        decision: "NO-GO for production; observer mode and internal canary only",
        rationale: "P95 ≈895ms exceeds ≤120ms SLO by 7.5x",
      },
      {
        time: "2025-11-13T03:00:00Z",
        title: "Gate A verdict",
        authority: "Agent3 (DRI)",
        decision: "PASS",
        rationale: "all 3 phases passed",
      },
    ]);
    expect(text).toBe(
      [
        "## Decision Log",
        "",
        "### Decision #1: Gate A Status",
        "**Time**: 20:00 UTC  ",
        "**Authority**: CEO  ",
        "**Decision**: NO-GO for production; observer mode and internal canary only  ",
        "**Rationale**: P95 ≈895ms exceeds ≤120ms SLO by 7.5x",
        "",
        "### Decision #2: Gate A verdict",
        "**Time**: 03:00 UTC  ",
        "**Authority**: Agent3 (DRI)  ",
        "**Decision**: PASS  ",
        "**Rationale**: all 3 phases passed",
      ].join("\n"),
    );
    expect(renderDecisionLog([])).toBe("## Decision Log\n\nNo decisions recorded.");
  });
});

describe("the verdict table", () => {
  it("in markdown: per phase and overall, each SLO with measured, bar and verdict", () => {
    const text = renderVerdictTable(failedRun);
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "**Gate verdict: ❌ FAIL**: load: latency_p95 upper CI 56.2ms > 50ms (phase bar, over by 6.2ms); final did not run",
    );
    expect(lines).toContain("| smoke | 1,000 | 500/s | ✅ PASS | all 2 objectives met |");
    expect(lines).toContain("| load | 5,000 | 1000/s | ❌ FAIL | latency_p95 upper CI 56.2ms > 50ms (phase bar, over by 6.2ms) |");
    expect(lines).toContain("| final | 30,000 | 1000/s | ⏭️ not run | phase did not run |");
    expect(lines).toContain(
      "| **Overall** | 6,000 |  | ❌ **FAIL** | load: latency_p95 upper CI 56.2ms > 50ms (phase bar, over by 6.2ms); final did not run |",
    );
    expect(lines).toContain("**load** (5,000 requests at 1000/s): ❌ FAIL");
    expect(lines).toContain("| latency_p95 | 51ms (95% CI 49ms-56.2ms, n=5,000) | ≤ 50ms | ❌ FAIL |");
    expect(lines).toContain("| acceptance | 100.00% (980 of 980) | ≥ 99.9% | ✅ PASS |");
    expect(text).not.toContain("**final** (");
  });

  it("an ERROR shows the warning sign", () => {
    const run: VerdictSummary = {
      verdict: "ERROR",
      reason: "smoke: latency_p95 not measured",
      phases: [phaseResult(smoke, "ERROR", "latency_p95 not measured", [slo("latency_p95", "not measured", "<= 20ms", "ERROR")])],
    };
    expect(renderVerdictTable(run)).toContain("| latency_p95 | not measured | ≤ 20ms | ⚠️ ERROR |");
  });

  it("in plain text: aligned columns, each phase and the overall verdict", () => {
    const text = renderPlainVerdictTable(failedRun);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^PHASE\s+SLO\s+MEASURED\s+BAR\s+VERDICT$/);
    const verdictColumn = lines[0]!.indexOf("VERDICT");
    const barColumn = lines[0]!.indexOf("BAR");
    const rows = lines.slice(1);
    expect(rows).toHaveLength(8); // 2 + phase row, 2 + phase row, not run, overall
    for (const row of rows.filter((r) => !r.includes("not run"))) {
      expect(row.slice(verdictColumn)).toMatch(/^(PASS|FAIL|ERROR)/);
    }
    expect(rows[0]!.slice(barColumn)).toMatch(/^<= 20ms /);
    expect(rows[0]).toMatch(/^smoke \(1k@500\/s\)\s+latency_p95\s+12\.1ms \(95% CI 11\.8ms-13ms, n=1,000\)\s+<= 20ms\s+PASS$/);
    expect(rows[3]!.slice(verdictColumn)).toBe("FAIL     latency_p95 upper CI 56.2ms > 50ms");
    expect(rows[6]).toMatch(/^final \(30k@1000\/s\)\s+-\s+not run\s+-\s+phase did not run$/);
    expect(rows[7]!.startsWith("OVERALL")).toBe(true);
    expect(rows[7]!.slice(verdictColumn)).toBe(`FAIL     ${failedRun.reason}`);
  });
});

describe("milestone updates", () => {
  const now = "2025-11-13T01:59:30Z";

  it("deploy: GREEN, next is the first phase, ETA from the phases' requests and rates", () => {
    const u = milestoneUpdate(gateA, { kind: "deploy" }, now);
    expect(u).toEqual({
      time: "2025-11-13T01:59:30.000Z",
      milestone: "Deploy bundled ingest service (queue mode, 2 workers, batch 50)",
      status: "GREEN",
      progress: "target deployed and ready",
      blockers: "",
      next: "start smoke: 1k replay at 500/s (P95 <= 20ms)",
      eta: "02:00 UTC (~37s of replay, plus drains)",
      owner: "Agent3",
    });
  });

  it("a failed deploy is RED and blocks", () => {
    const u = milestoneUpdate(gateA, { kind: "deploy", error: "PostgreSQL refused the connection at 127.0.0.1:5432" }, now);
    expect(u.status).toBe("RED");
    expect(u.blockers).toBe("PostgreSQL refused the connection at 127.0.0.1:5432");
    expect(u.next).toBe("fix the deployment and re-run (`gate run gates/gate-a.yaml`)");
  });

  it("a phase start is YELLOW, with what passed so far and the time left for the remaining phases", () => {
    const u = milestoneUpdate(gateA, { kind: "phase_start", phase: load, results: [smokePass] }, now);
    expect(u.status).toBe("YELLOW");
    expect(u.milestone).toBe("Phase 2/3 started: load: 5k replay at 1000/s (P95 <= 50ms)");
    expect(u.progress).toBe("smoke PASS");
    expect(u.next).toBe("replay, drain, check; then final: 30k replay at 1000/s (P95 <= 120ms)");
    expect(u.eta).toBe("02:00 UTC (~35s of replay, plus drains)");
  });

  it("a passed phase is GREEN and points at the next; a failed one is RED and stops the run", () => {
    const ok = milestoneUpdate(gateA, { kind: "phase_end", phase: "smoke", result: smokePass }, now);
    expect(ok).toMatchObject({
      status: "GREEN",
      progress: "smoke PASS: all 2 objectives met",
      next: "start load: 5k replay at 1000/s (P95 <= 50ms)",
      eta: "02:00 UTC (~35s of replay, plus drains)",
    });
    const bad = milestoneUpdate(gateA, { kind: "phase_end", phase: "load", result: loadFail }, now);
    expect(bad.status).toBe("RED");
    expect(bad.milestone).toBe("Phase 2/3 FAIL: load");
    expect(bad.progress).toBe("load FAIL (see blockers)");
    expect(bad.blockers).toBe(loadFail.reason);
    expect(bad.next).toBe("stop: later phases do not run; fix and re-run (`gate run gates/gate-a.yaml`)");
    expect(bad.eta).toBe("blocked");
  });

  it("the last phase passing leads to the verdict", () => {
    const sel = gateA.phases.slice(0, 1);
    const u = milestoneUpdate(gateA, { kind: "phase_end", phase: "smoke", result: smokePass, phases: sel }, now);
    expect(u).toMatchObject({ status: "GREEN", milestone: "Phase 1/1 PASS: smoke", next: "verdict and evidence bundle" });
  });

  it("the verdict comes from the DRI: PASS is GREEN and asks for sign-off, FAIL is RED", () => {
    const pass = milestoneUpdate(
      gateA,
      { kind: "verdict", run: { verdict: "PASS", reason: "all 3 phases passed: smoke, load, final", phases: [] } },
      now,
    );
    expect(pass).toMatchObject({
      milestone: "Gate A: Production Promotion: PASS/FAIL decision: PASS",
      status: "GREEN",
      next: "sign-off: 1 approval from Agent3 on the evidence PR",
      eta: "awaiting sign-off",
      owner: "Agent3 (DRI)",
    });
    const fail = milestoneUpdate(gateA, { kind: "verdict", run: failedRun }, now);
    expect(fail).toMatchObject({
      status: "RED",
      progress: "smoke PASS, load FAIL, final not run",
      blockers: failedRun.reason,
      next: "fix what failed and re-run (`gate run gates/gate-a.yaml`)",
    });
  });

  it("another gate speaks with its own owner, prefix and sign-off", () => {
    expect(milestoneUpdate(gateB, { kind: "deploy" }, now).owner).toBe("release-captain-on-call");
    const pass = milestoneUpdate(gateB, { kind: "verdict", run: { verdict: "PASS", reason: "ok", phases: [] } }, now);
    expect(pass.next).toBe("sign-off: 2 approvals from @auto-com/release-captains on the evidence PR");
    // Asked for on a PR, NEXT names the PR command with the gate's own prefix (there is no `/gate-b run`).
    const bad = milestoneUpdate(gateB, { kind: "phase_end", phase: "smoke", result: { ...loadFail, name: "smoke" } }, now, {
      origin: { kind: "pr", command: "/gate-b replay 5k" },
    });
    expect(bad.next).toContain("(`/gate-b replay 5k`)");
    // A deployment's run (`requires: run`) is run again by deploying again.
    const deployed = milestoneUpdate(gateB, { kind: "phase_end", phase: "smoke", result: { ...loadFail, name: "smoke" } }, now, {
      origin: { kind: "deployment", environment: "canary-10" },
    });
    expect(deployed.next).toContain("(a new deployment to canary-10)");
  });
});
