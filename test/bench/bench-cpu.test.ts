import { coLocatedCeiling, driverComparisons, renderCpuTable, renderDriverComparisons } from "../../bench/bench-cpu.js";
import type { BenchRun } from "../../bench/bench-report.js";

function run(over: Partial<BenchRun>): BenchRun {
  return {
    system: "ingest",
    db_rtt_ms: 0,
    rate: 1000,
    achieved_rate: 1000,
    p50_ms: 1,
    p95_ms: 4,
    p99_ms: 9,
    errors: 0,
    drain_ms: 100,
    rss_mb: 120,
    requests: 10000,
    sent: 10000,
    p95_ci_ms: [3.9, 4.1],
    max_ms: 20,
    send_lag_p99_ms: 1,
    valid: true,
    load_avg_1m: 1,
    purpose: "fixed",
    ...over,
  };
}

test("the lean driver is compared with its baseline on the same system and rate, over all their runs, as a ratio", () => {
  const runs = [
    run({ purpose: "driver", driver: "lean", cpu_us: { driver: 100, server: 180, workers: 90 } }),
    run({ purpose: "driver", driver: "baseline", cpu_us: { driver: 300, server: 182, workers: 91 }, send_lag_p99_ms: 2.5 }),
    run({ purpose: "driver", driver: "baseline", cpu_us: { driver: 200, server: 182, workers: 91 }, send_lag_p99_ms: 1.5 }),
    // Twice the requests: it weighs twice as much in the lean average.
    run({ purpose: "driver", driver: "lean", sent: 20000, cpu_us: { driver: 130, server: 180, workers: 90 } }),
    run({ system: "raw", purpose: "driver", driver: "lean", cpu_us: { driver: 100, server: 40, workers: null } }),
    // No baseline for raw at this rate, and a baseline at another rate: neither makes a pair.
    run({ system: "raw", rate: 500, purpose: "driver", driver: "baseline", cpu_us: { driver: 250, server: 40, workers: null } }),
    // Not a comparison run.
    run({ driver: "baseline", cpu_us: { driver: 999, server: 1, workers: 1 } }),
  ];
  const c = driverComparisons(runs);
  expect(c).toEqual([
    {
      system: "ingest",
      rate: 1000,
      runs: 4,
      lean_us: 120,
      baseline_us: 250,
      ratio: 2.08,
      lean_send_lag_p99_ms: 1,
      baseline_send_lag_p99_ms: 2.5,
    },
  ]);
  expect(renderDriverComparisons(c)).toContain(
    "ingest @1000/s: lean 120 µs/request, baseline 250 µs/request: baseline ÷ lean = 2.08x over 4 runs",
  );
  expect(renderDriverComparisons([])).toContain("no comparison pair");
});

test("the CPU table has a line per measured run, the ladder's steps marked, invalid ones marked", () => {
  const table = renderCpuTable([
    run({ cpu_us: { driver: 120.4, server: 181, workers: 88 } }),
    run({ purpose: "step", rate: 4000, cpu_us: { driver: 51, server: 100, workers: 26, redis: 46, postgres: 67, sum: 290 } }),
    run({ system: "raw", valid: false, cpu_us: { driver: 130, server: 40, workers: null } }),
    run({ system: "sync" }),
  ]).split("\n");
  expect(table).toHaveLength(5);
  expect(table[2]).toMatch(/^ingest .* 120 µs +181 µs +88 µs/);
  // A step of the search for the highest rate: what a request cost there, and the ceiling that implies.
  expect(table[3]).toMatch(/^ingest +0 ms +4000 .* 51 µs +100 µs +26 µs +46 µs +67 µs +290 µs +6,897\/s .*step$/);
  expect(table[4]).toMatch(/^raw .* 130 µs +40 µs +- .*INVALID \(driver\)$/);
});

test("the CPU table shows Redis, PostgreSQL, their sum with the rest, and the ceiling that sum implies on 2 cores", () => {
  const table = renderCpuTable([run({ cpu_us: { driver: 100, server: 150, workers: 60, redis: 40, postgres: 150, sum: 500 } })]).split(
    "\n",
  );
  expect(table[0]).toMatch(/redis CPU\/req +postgres CPU\/req +sum CPU\/req +co-located ceiling/);
  expect(table[2]).toMatch(/100 µs +150 µs +60 µs +40 µs +150 µs +500 µs +4,000\/s/);
  expect(coLocatedCeiling(250)).toBe(8000);
  expect(coLocatedCeiling(null)).toBeNull();
  expect(coLocatedCeiling(0)).toBeNull();
});
