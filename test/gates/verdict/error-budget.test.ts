// The error budget ledger: allowed by the SLOs, spent by cause, left; per phase and overall.

import { buildErrorBudgetLedger } from "../../../src/gates/verdict/error-budget.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

let run: GateRun;

beforeAll(async () => {
  run = await buildGateRun({ scale: 0.1, seed: "ledger" });
});

test("an overspent phase shows a negative balance, not zero", () => {
  const final = run.phases.find((p) => p.name === "final")!;
  const overspent: GateRun = {
    ...run,
    phases: run.phases.map((p) => (p === final ? { ...p, errors: { byStatus: { "500": 4, "503": 2 }, timeouts: 1, transport: 0 } } : p)),
  };
  const line = buildErrorBudgetLedger(overspent).phases.find((l) => l.scope === "final")!;
  expect(line).toMatchObject({ allowed: 3, spent: 7, left: -4, status: "overspent" });
  expect(line.byCause).toEqual([
    { cause: "HTTP 500", count: 4 },
    { cause: "HTTP 503", count: 2 },
    { cause: "timeout", count: 1 },
  ]);
});

test("without an error_rate SLO the budget comes from the acceptance bar, and without either nothing is allowed", () => {
  const noErrorRate: GateRun = { ...run, gate: { ...run.gate, slos: run.gate.slos.filter((s) => s.name !== "error_rate") } };
  const byAcceptance = buildErrorBudgetLedger(noErrorRate);
  expect(byAcceptance.source).toBe("acceptance >= 99.9%");
  expect(byAcceptance.phases.find((l) => l.scope === "final")!.allowed).toBe(3);
  const neither: GateRun = {
    ...run,
    gate: { ...run.gate, slos: run.gate.slos.filter((s) => s.name !== "error_rate" && s.name !== "acceptance") },
  };
  const none = buildErrorBudgetLedger(neither);
  expect(none.allowedShare).toBeNull();
  expect(none.overall.allowed).toBe(0);
});

test("a phase that did not run spends and allows nothing, and says it did not run", () => {
  const skipped: GateRun = {
    ...run,
    phases: run.phases.map((p) =>
      p.name === "final" ? { ...p, ran: false, replay: null, errors: { byStatus: {}, timeouts: 0, transport: 0 } } : p,
    ),
  };
  const ledger = buildErrorBudgetLedger(skipped);
  expect(ledger.phases.find((l) => l.scope === "final")).toMatchObject({
    ran: false,
    sent: 0,
    allowed: 0,
    spent: 0,
    status: "did not run",
  });
  expect(ledger.overall.sent).toBe(600);
});
