import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarizeBundle, summarizeRuns } from "../../bench/repeat-runs.js";

const root = mkdtempSync(join(tmpdir(), "repeat-runs-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function bundle(name: string, verdict: string, phases: [string, string, number | null][]): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "01-replay-logs"), { recursive: true });
  const v = {
    verdict,
    started_at: "2026-11-29T08:00:00.000Z",
    finished_at: "2026-11-29T08:00:47.500Z",
    reason: "r",
    phases: phases.map(([n, pv, p95]) => ({ name: n, verdict: pv, slos: [{ name: "latency_p95", measured: p95 }] })),
  };
  writeFileSync(join(dir, "verdict.json"), JSON.stringify(v));
  writeFileSync(
    join(dir, "01-replay-logs", "cpu.json"),
    JSON.stringify({
      phases: phases.map(([n]) => ({ phase: n, driverUsPerRequest: 150, serverUsPerRequest: 400, workersUsPerEvent: 100 })),
    }),
  );
  writeFileSync(
    join(dir, "01-replay-logs", "machine.json"),
    JSON.stringify({ otherWork: phases.map(([n]) => ({ phase: n, peakForeignCores: 0.1 })) }),
  );
  return dir;
}

test("a bundle's verdict, exit code, time and per-phase P95 and CPU are read back", () => {
  const r = summarizeBundle(
    bundle("a", "FAIL", [
      ["smoke", "FAIL", 43.1],
      ["load", "ERROR", null],
    ]),
  );
  expect(r).toMatchObject({ verdict: "FAIL", exitCode: 1, seconds: 47.5 });
  expect(r.phases[0]).toEqual({
    name: "smoke",
    verdict: "FAIL",
    p95Ms: 43.1,
    driverUs: 150,
    serverUs: 400,
    workersUs: 100,
    peakForeignCores: 0.1,
  });
});

test("runs are summarized per phase: verdict counts, P95 spread, INCONCLUSIVE count; a phase that did not run is not counted as run", () => {
  const runs = [
    summarizeBundle(
      bundle("b", "PASS", [
        ["smoke", "PASS", 4],
        ["load", "PASS", 9],
      ]),
    ),
    summarizeBundle(
      bundle("c", "FAIL", [
        ["smoke", "INCONCLUSIVE", 22],
        ["load", "FAIL", 3000],
      ]),
    ),
    summarizeBundle(
      bundle("d", "FAIL", [
        ["smoke", "FAIL", 60],
        ["load", "ERROR", null],
      ]),
    ),
  ];
  const s = summarizeRuns(runs);
  expect(s.verdicts).toEqual({ PASS: 1, FAIL: 2 });
  expect(s.inconclusivePhases).toBe(1);
  expect(s.phases[0]).toMatchObject({ name: "smoke", ran: 3, p95Ms: { lowest: 4, median: 22, highest: 60 } });
  expect(s.phases[1]).toMatchObject({ name: "load", ran: 2, verdicts: { PASS: 1, FAIL: 1, INCONCLUSIVE: 0, ERROR: 1 } });
});

test("a folder that is not a bundle is refused by name", () => {
  expect(() => summarizeBundle(root)).toThrow(`${root} has no verdict.json: not an evidence bundle`);
});
