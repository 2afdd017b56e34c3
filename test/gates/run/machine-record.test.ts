import { machineLine } from "../../../src/gates/evidence/report/resources-report.js";
import { machineRecord, machineSnapshot, measureEventLoopJitter, parseCpuPressure } from "../../../src/gates/run/machine-record.js";

describe("the machine record", () => {
  test("/proc/pressure/cpu is read line by line, and a missing line is null", () => {
    const text = "some avg10=3.31 avg60=15.60 avg300=14.48 total=164727301\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    expect(parseCpuPressure(text)).toEqual({
      some: { avg10: 3.31, avg60: 15.6, avg300: 14.48, total: 164727301 },
      full: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
    });
    expect(parseCpuPressure("some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n").full).toBeNull();
  });

  test("an event loop blocked during the baseline shows in its max, an idle one stays low", async () => {
    const blocked = measureEventLoopJitter(300);
    setTimeout(() => {
      const end = Date.now() + 80;
      while (Date.now() < end);
    }, 50);
    const j = await blocked;
    expect(j.durationMs).toBe(300);
    expect(j.max).toBeGreaterThanOrEqual(70);
    expect(j.p50).toBeLessThan(j.max);
  });

  test("an abort ends the baseline early and says how long it watched", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const t0 = Date.now();
    const j = await measureEventLoopJitter(5000, abort.signal);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(j.durationMs).toBeGreaterThanOrEqual(90);
    expect(j.durationMs).toBeLessThan(2000);
  });

  test("one line says CPU, cores, load and pressure before and after, and the jitter baseline", () => {
    const before = {
      at: "2026-01-01T00:00:00.000Z",
      loadAverage: [1.5, 1, 0.5] as [number, number, number],
      cpuPressure: parseCpuPressure("some avg10=3.31 avg60=1 avg300=1 total=1\n"),
    };
    const m = machineRecord(before, { durationMs: 2000, p50: 1.05, p99: 1.2, p999: 2.8, max: 15.1, mean: 1.06 });
    m.after = { ...before, loadAverage: [2.25, 1, 0.5], cpuPressure: null };
    const line = machineLine(m);
    expect(line).toContain(`${m.cores} cores`);
    expect(line).toContain("load 1.50 before, 2.25 after");
    expect(line).toContain("CPU pressure (some, avg10) 3.31% before, n/a after");
    expect(line).toContain("p99 1.2 ms, p99.9 2.8 ms, max 15.1 ms");
    expect(line).not.toContain("\n");
  });

  test("a snapshot reads the load average of this machine", () => {
    const s = machineSnapshot(new Date("2026-01-01T00:00:00Z"));
    expect(s.at).toBe("2026-01-01T00:00:00.000Z");
    expect(s.loadAverage).toHaveLength(3);
    expect(s.loadAverage.every((x) => x >= 0)).toBe(true);
  });
});
