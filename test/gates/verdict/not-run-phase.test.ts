// A phase that never ran is NOT_RUN (ran: false) in `gate run --json` and in the evidence, not an
// ERROR that reads as if it had been measured; and it never counts as a PASS.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verdictDocument, writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import type { GateRun, PhaseResult } from "../../../src/gates/model/gate-run-record.js";
import { notRun } from "../../../src/gates/measure/measure-phase.js";
import { evaluateRun } from "../../../src/gates/verdict/verdict.js";
import { renderPlainVerdictTable, renderVerdictTable } from "../../../src/gates/war-room/war-room-formats.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

let run: GateRun;
let dir: string;

beforeAll(async () => {
  // smoke misses its bar and FAILs; load and final do not run.
  run = await buildGateRun({ scale: 0.1, failLatencyIn: "smoke" });
  dir = await mkdtemp(join(tmpdir(), "not-run-"));
  await writeEvidenceBundle(join(dir, "bundle"), run);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a phase that did not run is NOT_RUN with ran: false in the --json document, its reason saying why", () => {
  const doc = verdictDocument(run, "out");
  expect(doc.phases.map((p) => [p.name, p.ran, p.verdict])).toEqual([
    ["smoke", true, "FAIL"],
    ["load", false, "NOT_RUN"],
    ["final", false, "NOT_RUN"],
  ]);
  expect(doc.phases[1]!.reason).toMatch(/^not run: smoke did not pass/);
  expect(doc.phases[1]!.slos).toEqual([]);
});

test("a run recorded before NOT_RUN existed (ERROR, ran: false) is shown as NOT_RUN too", () => {
  const old = { ...run, phases: run.phases.map((p) => (p.ran ? p : { ...p, verdict: "ERROR" as const })) };
  expect(verdictDocument(old, null).phases.map((p) => p.verdict)).toEqual(["FAIL", "NOT_RUN", "NOT_RUN"]);
});

test("the bundle's verdict.json, summary and report say NOT_RUN for those phases", async () => {
  const verdict = JSON.parse(await readFile(join(dir, "bundle", "verdict.json"), "utf8"));
  expect(verdict.phases.map((p: { verdict: string; ran: boolean }) => `${p.verdict}/${p.ran}`)).toEqual([
    "FAIL/true",
    "NOT_RUN/false",
    "NOT_RUN/false",
  ]);
  const summary = await readFile(join(dir, "bundle", "summary.md"), "utf8");
  expect(summary).toMatch(/\| load \| [^\n]*\| \*\*NOT_RUN\*\* \| not run: smoke did not pass/);
  expect(summary).not.toMatch(/\| load \| [^\n]*\| \*\*ERROR\*\* \|/);
  const report = await readFile(join(dir, "bundle", "report.html"), "utf8");
  expect(report).toContain('<span class="badge NOT_RUN">NOT_RUN</span>');
});

test("the war room shows it as not run, in Markdown and on a terminal", () => {
  expect(renderVerdictTable(run)).toMatch(/\| load \| [^\n]*\| ⏭️ not run \|/);
  expect(renderPlainVerdictTable(run)).toMatch(/^load \(\S+\)\s+-\s+not run\s+-\s+not run: smoke did not pass/m);
});

describe("NOT_RUN never counts as a PASS, and leaves the run's verdict as before", () => {
  const passed = (): PhaseResult => {
    const p = run.phases[0]!;
    return { ...p, verdict: "PASS", reason: "all objectives met", slos: p.slos.map((s) => ({ ...s, verdict: "PASS" as const })) };
  };
  const skipped = (name: string): PhaseResult => notRun({ ...run.gate.phases[1]!, name }, "not run: the run was aborted");

  test("notRun() gives NOT_RUN with ran: false", () => {
    expect(skipped("load")).toMatchObject({ ran: false, verdict: "NOT_RUN", reason: "not run: the run was aborted" });
  });

  test("passed phases then a phase that did not run: ERROR, naming it", () => {
    expect(evaluateRun([passed(), skipped("load")])).toEqual({ verdict: "ERROR", reason: "load did not run" });
  });

  test("a FAIL then phases that did not run: FAIL", () => {
    expect(evaluateRun(run.phases).verdict).toBe("FAIL");
  });

  test("a phase marked NOT_RUN is not run even if it claims to have run, and a PASS claimed by a phase that did not run is not trusted", () => {
    expect(evaluateRun([passed(), { ...passed(), name: "load", verdict: "NOT_RUN" }])).toEqual({
      verdict: "ERROR",
      reason: "load did not run",
    });
    expect(evaluateRun([{ ...passed(), ran: false }]).verdict).toBe("ERROR");
  });
});
