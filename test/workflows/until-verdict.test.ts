// The end-to-end tests' retry rule (test/support/until-verdict.ts): a machine too busy to decide may
// be tried again, a bounded number of times, but only the expected verdict passes a test, and every
// call records how many tries it took.

import { jest } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { triesLine, untilVerdict, type TriesRecord } from "../support/until-verdict.js";

const dir = mkdtempSync(join(tmpdir(), "tries-"));
const file = join(dir, "tries.jsonl");
const saved = process.env.TRIES_FILE;
beforeAll(() => (process.env.TRIES_FILE = file));
afterAll(() => {
  if (saved === undefined) delete process.env.TRIES_FILE;
  else process.env.TRIES_FILE = saved;
  rmSync(dir, { recursive: true, force: true });
});

/** A run whose tries end in these verdicts, in order. */
function runs(...verdicts: string[]) {
  let i = 0;
  const run = jest.fn(async () => ({ verdict: verdicts[i++], reason: `reason ${i}` }));
  return run;
}
const records = (): TriesRecord[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test("three INCONCLUSIVEs are a failure for a test that expects a FAIL, naming every try", async () => {
  const run = runs("INCONCLUSIVE", "INCONCLUSIVE", "INCONCLUSIVE");
  await expect(untilVerdict("FAIL", 3, run)).rejects.toThrow(
    "expected FAIL within 3 tries, got INCONCLUSIVE, INCONCLUSIVE, INCONCLUSIVE:\n  try 1: INCONCLUSIVE: reason 1\n",
  );
  expect(run).toHaveBeenCalledTimes(3);
  expect(records().at(-1)).toMatchObject({ expected: "FAIL", verdicts: ["INCONCLUSIVE", "INCONCLUSIVE", "INCONCLUSIVE"], ok: false });
});

test("an INCONCLUSIVE try is tried again, and the expected verdict ends the tries, counting them", async () => {
  const discard = jest.fn<() => void>();
  const { result, tries } = await untilVerdict("FAIL", 3, runs("INCONCLUSIVE", "FAIL", "FAIL"), { discard });
  expect(result.verdict).toBe("FAIL");
  expect(tries).toBe(2);
  expect(discard).toHaveBeenCalledTimes(1);
  const last = records().at(-1)!;
  expect(last).toMatchObject({ expected: "FAIL", verdicts: ["INCONCLUSIVE", "FAIL"], tries: 2, of: 3, ok: true });
  expect(last.test).toBe("an INCONCLUSIVE try is tried again, and the expected verdict ends the tries, counting them");
  expect(last.file).toBe("test/workflows/until-verdict.test.ts");
});

test("another decided verdict ends the tries at once: a PASS is no FAIL, and is not tried again", async () => {
  const run = runs("PASS", "FAIL");
  await expect(untilVerdict("FAIL", 3, run)).rejects.toThrow("expected FAIL within 3 tries, got PASS");
  expect(run).toHaveBeenCalledTimes(1);
});

test("the verdicts tried again can be widened, and the verdict read from any result", async () => {
  const { tries } = await untilVerdict("PASS", 3, async (attempt) => ({ latency: attempt === 1 ? "ERROR" : "PASS" }), {
    verdictOf: (r) => r.latency,
    retryOn: ["INCONCLUSIVE", "ERROR"],
  });
  expect(tries).toBe(2);
});

test("the line on stderr says how many tries of how many, for which verdict", () => {
  expect(triesLine({ tries: 2, of: 3, expected: "FAIL", verdicts: ["INCONCLUSIVE", "FAIL"], ok: true, test: "a FAIL exits 1" })).toBe(
    "tries: 2 of 3 for FAIL (INCONCLUSIVE, FAIL): a FAIL exits 1",
  );
  expect(triesLine({ tries: 1, of: 3, expected: "FAIL", verdicts: ["PASS"], ok: false, test: "t" })).toBe(
    "tries: 1 of 3 for FAIL (PASS) NOT REACHED: t",
  );
});

test("a gate run's try that ended otherwise names the machine, and per phase the CPU per request and the other work", async () => {
  const run = async () => ({
    verdict: "FAIL",
    reason: "smoke: latency_p95 over the bar",
    machine: { summary: "2 cores; load 0.40 before" },
    phases: [
      {
        name: "smoke",
        resources: { cpu: { driverUsPerRequest: 512.4, serverUsPerRequest: 790, workersUsPerEvent: null } },
        contention: {
          peakForeignCores: 0.12,
          meanForeignCores: 0.03,
          topForeign: [{ command: "postgres: autovacuum worker", cpuSeconds: 0.4 }],
        },
      },
      { name: "load" },
    ],
  });
  await expect(untilVerdict("PASS", 1, run)).rejects.toThrow(
    "  try 1: FAIL: smoke: latency_p95 over the bar\n    machine: 2 cores; load 0.40 before\n" +
      "    smoke: CPU per request driver 512 µs, server 790 µs, workers -; other work peak 0.12 cores, mean 0.03 (postgres: autovacuum worker 0.4 CPU-s)\n" +
      "    load: CPU per request driver -, server -, workers -; other work not read",
  );
});

test("a call that reached its verdict on a later try says on stderr why each earlier try was tried again", async () => {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await untilVerdict("FAIL", 3, runs("INCONCLUSIVE", "INCONCLUSIVE", "FAIL"), { name: "retried" });
    await untilVerdict("FAIL", 3, runs("FAIL"), { name: "first" });
  } finally {
    spy.mockRestore();
  }
  expect(lines).toEqual([
    "tries: 3 of 3 for FAIL (INCONCLUSIVE, INCONCLUSIVE, FAIL): retried\n  try 1: INCONCLUSIVE: reason 1\n  try 2: INCONCLUSIVE: reason 2\n",
    "tries: 1 of 3 for FAIL (FAIL): first\n",
  ]);
});
