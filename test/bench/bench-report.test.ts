import { checkTargets, renderTable, ruleFailure } from "../../bench/bench-report.js";
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
    requests: 30000,
    sent: 30000,
    p95_ci_ms: [3.9, 4.1],
    max_ms: 20,
    send_lag_p99_ms: 1,
    valid: true,
    load_avg_1m: 1,
    purpose: "fixed",
    ...over,
  };
}

test("a run counts for the maximum rate only when the rate held, not stopped, P95 <= 20 ms and errors <= 0.1%", () => {
  expect(ruleFailure(run({}))).toBeNull();
  expect(ruleFailure(run({ p95_ms: 20.5 }))).toMatch(/P95 20\.5 ms > 20 ms at 1000\/s/);
  expect(ruleFailure(run({ valid: false, invalid_reason: "slow window" }))).toBe(
    "the driver did not hold the rate at 1000/s (slow window)",
  );
  expect(ruleFailure(run({ stopped: "hopeless" }))).toMatch(/stopped/);
  expect(ruleFailure(run({ errors: 31 }))).toMatch(/31 errors/);
  expect(ruleFailure(run({ errors: 30 }))).toBeNull();
});

test("a row the replay-validity rule could not PASS is reported with its outcome and does not count", () => {
  expect(ruleFailure(run({ rule: "PASS", rule_detail: "ok" }))).toBeNull();
  expect(ruleFailure(run({ p95_ms: 19, rule: "INCONCLUSIVE", rule_detail: "upper CI 21 ms over the bar" }))).toBe(
    "INCONCLUSIVE against P95 <= 20 ms at 1000/s (upper CI 21 ms over the bar)",
  );
  expect(ruleFailure(run({ p95_ms: 40, rule: "FAIL", rule_detail: "lower CI 38 ms" }))).toMatch(/^FAIL against P95 <= 20 ms/);
});

test("issue 2's numbers pass, fail, or say n/a when the driver, not the service, set the limit", () => {
  const runs = [
    run({ system: "ingest", db_rtt_ms: 0, rate: 1000, p95_ms: 4.2, p99_ms: 12, drain_ms: 900 }),
    run({ system: "ingest", db_rtt_ms: 0, rate: 500, p95_ms: 2 }),
    run({ system: "ingest", db_rtt_ms: 10, rate: 500, p95_ms: 5 }),
    run({ system: "sync", db_rtt_ms: 10, rate: 500, p95_ms: 900, stopped: "running P95 above 2 s" }),
  ];
  const byName = (checks: ReturnType<typeof checkTargets>, prefix: string) => checks.find((c) => c.name.startsWith(prefix))!;

  const serviceLimited = checkTargets(runs, {
    raw: { rate: 8000, limitedBy: "P95 30 ms > 20 ms at 10000/s" },
    ingest: { rate: 3000, limitedBy: "P95 25 ms > 20 ms at 4000/s" },
  });
  expect(byName(serviceLimited, "ingest at 1,000/s over").pass).toBe(true);
  expect(byName(serviceLimited, "ingest: highest rate").pass).toBe(false);
  expect(byName(serviceLimited, "ingest's highest rate vs raw's").pass).toBe(false);
  expect(byName(serviceLimited, "database 10 ms away").pass).toBe(true);
  expect(byName(serviceLimited, "ingest at 500/s: P95 with the database").pass).toBe(false);
  expect(byName(serviceLimited, "ingest at 1,000/s: 30000 events").pass).toBe(true);

  const driverLimited = checkTargets(runs, {
    raw: { rate: 8000, limitedBy: "driver could not keep up at 10000/s" },
    ingest: { rate: 3000, limitedBy: "driver could not keep up at 4000/s" },
  });
  expect(byName(driverLimited, "ingest: highest rate").pass).toBeNull();
  expect(byName(driverLimited, "ingest's highest rate vs raw's").pass).toBeNull();

  const rawCapped = checkTargets(runs, {
    raw: { rate: 6000, limitedBy: "driver could not keep up at 7000/s" },
    ingest: { rate: 4000, limitedBy: "P95 25 ms > 20 ms at 5000/s" },
  });
  expect(byName(rawCapped, "ingest: highest rate").pass).toBe(true);
  expect(byName(rawCapped, "ingest's highest rate vs raw's").pass).toBeNull();
});

test("the table has one line per run under a header, every row with its driver lag and the rule's outcome", () => {
  const table = renderTable([
    run({ rule: "PASS" }),
    run({
      system: "raw",
      valid: false,
      invalid_reason: "lag",
      drain_ms: null,
      purpose: "step",
      send_lag_p99_ms: 14.8,
      rule: "INCONCLUSIVE",
    }),
  ]);
  const lines = table.split("\n");
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^system\s+db\s+rate\/s\s+achieved\s+P50\s+P95\s+P99\s+errors\s+drain\s+RSS\s+load\s+lag p99\s+rule\s+note$/);
  expect(lines[2]).toMatch(/1\.00 ms\s+PASS$/);
  expect(lines[3]).toMatch(/^raw .*14\.8 ms\s+INCONCLUSIVE\s+step; rate not held$/);
  expect(lines[2]).toContain("4.00 ms");
});
