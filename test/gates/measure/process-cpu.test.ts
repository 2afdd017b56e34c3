import { spawn } from "node:child_process";
import { clockTicksPerSecond, cpuSpent, cpuTicksOfStat, processCpuUs } from "../../../src/gates/measure/process-cpu.js";

describe("reading a process's CPU time from /proc/<pid>/stat", () => {
  test("utime + stime are fields 14 and 15, counted after the command name, whatever it holds", () => {
    const fields = ["S", "1", "2", "3", "0", "-1", "4194304", "100", "0", "0", "0", "1234", "56", "0", "0", "20", "0", "1"];
    expect(cpuTicksOfStat(`4321 (node) ${fields.join(" ")}`)).toBe(1290);
    // A name with spaces and a ")" inside it must not shift the fields.
    expect(cpuTicksOfStat(`4321 (gate ingest) w)x) ${fields.join(" ")}`)).toBe(1290);
  });

  test("a line that is not a stat line gives null, not a number", () => {
    expect(cpuTicksOfStat("")).toBeNull();
    expect(cpuTicksOfStat("4321 (node) S 1 2")).toBeNull();
  });

  test("the clock ticks per second are getconf CLK_TCK's answer", () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
  });

  test("a busy child's CPU time grows, and a process that is gone reads as null", async () => {
    // Busy for half a second, then idle until killed.
    const child = spawn(process.execPath, ["-e", "const end = Date.now() + 500; while (Date.now() < end); setTimeout(() => {}, 10_000);"], {
      stdio: "ignore",
    });
    const before = processCpuUs(child.pid!);
    await new Promise((r) => setTimeout(r, 1500));
    const after = processCpuUs(child.pid!);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill();
    await exited;
    expect(before).not.toBeNull();
    // At least a tenth of its busy half second, even on a machine shared with other work.
    expect(after! - before!).toBeGreaterThanOrEqual(50_000);
    expect(processCpuUs(child.pid!)).toBeNull();
  });

  test("CPU spent sums the processes, and one unreadable reading makes the sum unknown", () => {
    expect(cpuSpent([100, 200], [150, 260])).toBe(110);
    expect(cpuSpent([100, null], [150, 260])).toBeNull();
    expect(cpuSpent([100], [90])).toBeNull();
    expect(cpuSpent([], [])).toBeNull();
  });
});
