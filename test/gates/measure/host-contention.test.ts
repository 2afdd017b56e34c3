// Other work on the machine during a phase: a FAIL must stand without the seconds it held the CPU.

import { spawn } from "node:child_process";
import {
  FOREIGN_CORES_LIMIT,
  GUARD_MS,
  HostWatch,
  MEMORY_KERNEL_THREADS,
  judgeContention,
  parseProcStat,
  type HostSample,
} from "../../../src/gates/measure/host-contention.js";
import { processOfStat } from "../../../src/gates/measure/process-cpu.js";
import { judgeP95 } from "../../../src/gates/verdict/replay-validity.js";
import { summarizeLatency } from "../../../src/gates/verdict/statistics.js";

describe("reading /proc/stat", () => {
  test("busy is user + nice + system + irq + softirq; steal apart; idle and iowait are not busy", () => {
    const text = "cpu  100 5 50 9000 40 3 7 11 0 0\ncpu0 50 2 25 4500 20 1 3 5 0 0\nintr 1\n";
    expect(parseProcStat(text)).toEqual({ busy: 165, steal: 11 });
  });

  test("anything else is no reading, not zero", () => {
    expect(parseProcStat("intr 1 2 3")).toBeNull();
    expect(parseProcStat("cpu  1 2 x 4 5 6 7 8")).toBeNull();
  });
});

/** 30 s at 1000/s; latencyOf(dueMs) gives each request's latency. */
function requests(latencyOf: (dueMs: number) => number) {
  return Array.from({ length: 30_000 }, (_, i) => ({ dueAt: i, latencyMs: latencyOf(i), sendLagMs: 0.2, ownLagMs: 0.2 }));
}
const quiet = (t0: number, seconds = 30, cores = 0.05): HostSample[] =>
  Array.from({ length: seconds }, (_, s) => ({ atWallMs: t0 + (s + 1) * 1000, foreignCores: cores }));

describe("reading /proc/<pid>/stat", () => {
  test("a command with spaces and parentheses, its CPU ticks, and whether it is a kernel thread (parent kthreadd)", () => {
    const fields = (ppid: number) => `S ${ppid} 1 1 0 -1 4194560 100 0 0 0 250 40 0 0 20 0 1 0 100 0 0`;
    expect(processOfStat(`4242 (node (x) y) ${fields(1)}`)).toEqual({
      command: "node (x) y",
      ticks: 290,
      kernel: false,
      ppid: 1,
      start: 100,
    });
    expect(processOfStat(`31 (kworker/u8:0-events) ${fields(2)}`)).toMatchObject({ command: "kworker/u8:0-events", kernel: true });
    expect(processOfStat("garbage")).toBeNull();
  });

  test("of the kernel's threads, only the memory managers are other work; those doing I/O work for whoever caused it", () => {
    for (const other of ["kswapd0", "kcompactd0", "khugepaged", "kdamond.0"]) expect(MEMORY_KERNEL_THREADS.test(other)).toBe(true);
    for (const run of ["kworker/u8:0-events", "ksoftirqd/0", "jbd2/vda-8", "rcu_preempt", "migration/1"])
      expect(MEMORY_KERNEL_THREADS.test(run)).toBe(false);
  });
});

describe("which seconds were contended", () => {
  const t0 = 1_700_000_000_000;

  test("a quiet host contends nothing, and the clean lower bound is the whole phase's", () => {
    const c = judgeContention(
      quiet(t0),
      t0,
      requests(() => 5),
    );
    expect(c.contended).toEqual([]);
    expect(c.requestsInContended).toBe(0);
    expect(c.cleanRequests).toBe(30_000);
    expect(c.cleanFreeP95LowerMs).toBeCloseTo(4.8, 6);
  });

  test("a busy second and the guard second after it are set aside; neighbours merge into one span", () => {
    const samples = quiet(t0);
    samples[9].foreignCores = 1.4; // the second 9-10 s
    samples[10].foreignCores = 0.9; // 10-11 s
    const c = judgeContention(
      samples,
      t0,
      requests(() => 5),
    );
    expect(c.contended).toEqual([{ fromMs: 9000, toMs: 11_000 + GUARD_MS, peakForeignCores: 1.4 }]);
    expect(c.requestsInContended).toBe(3000);
    expect(c.peakForeignCores).toBe(1.4);
  });

  test("a service slow only while other work held the CPU has a clean lower bound within the bar", () => {
    const samples = quiet(t0);
    for (let s = 5; s < 8; s++) samples[s].foreignCores = 1.8;
    // 3 s of 300 ms answers (10% of the phase) while a build ran: P95 is over a 20 ms bar
    const c = judgeContention(
      samples,
      t0,
      requests((due) => (due >= 5000 && due < 9000 ? 300 : 4)),
    );
    expect(c.cleanFreeP95LowerMs).toBeLessThan(20);
  });
});

describe("a latency FAIL on a busy host", () => {
  const t0 = 1_700_000_000_000;
  const slowWhileBusy = requests((due) => (due >= 5000 && due < 9000 ? 300 : 4));
  const latency = summarizeLatency(slowWhileBusy.map((r) => r.latencyMs))!;
  const schedule = {
    targetRate: 1000,
    achievedRate: 1000,
    rateHeld: true,
    windows: [],
    slowestWindow: null,
    sendLagP99Ms: 0.2,
    lagAboveP99: 0,
    driverFreeP95LowerMs: 299.8,
  };

  test("without a contention record it is a FAIL, as before", () => {
    expect(judgeP95(latency, 20, schedule).verdict).toBe("FAIL");
  });

  test("is INCONCLUSIVE, leaning FAIL, when the slow requests were due while other work held the CPU, and names it", () => {
    const samples = quiet(t0);
    for (let s = 5; s < 8; s++) samples[s].foreignCores = 1.8;
    const c = judgeContention(samples, t0, slowWhileBusy, [{ pid: 4242, command: "npm ci", cpuSeconds: 5.2 }]);
    const j = judgeP95(latency, 20, schedule, "phase bar", c);
    expect(j).toMatchObject({ verdict: "INCONCLUSIVE", leaning: "FAIL" });
    expect(j.detail).toContain("other work held the machine's CPU: up to 1.80 cores outside this run (busiest: npm ci 5.2 CPU-s)");
    expect(j.detail).toContain("rerun on a quiet machine");
  });

  test("stays a FAIL for a deployed target on this machine: its processes cannot be told from other work", () => {
    const samples = quiet(t0);
    for (let s = 5; s < 8; s++) samples[s].foreignCores = 1.8;
    const c = {
      ...judgeContention(samples, t0, slowWhileBusy, [{ pid: 4242, command: "node service.js", cpuSeconds: 5.2 }]),
      unattributable: "the target is deployed on this machine: its processes cannot be told from other work",
    };
    expect(judgeP95(latency, 20, schedule, "phase bar", c).verdict).toBe("FAIL");
  });

  test("counts every process of the sealed room as the run's own, whatever it is called", async () => {
    // Spins for up to 10 s (a loaded machine may take seconds to sample twice); killed once seen.
    const busy = spawn(process.execPath, ["-e", "const end = Date.now() + 10000; while (Date.now() < end);"]);
    try {
      const watch = new HostWatch([], { pids: async () => [busy.pid!] });
      await watch.sample();
      await new Promise((r) => setTimeout(r, 1200));
      await watch.sample();
      expect(watch.topForeign().map((p) => p.pid)).not.toContain(busy.pid);
      const blind = new HostWatch([]);
      await blind.sample();
      await new Promise((r) => setTimeout(r, 1200));
      await blind.sample();
      expect(blind.topForeign(1000).map((p) => p.pid)).toContain(busy.pid); // a busy machine may have busier ones
    } finally {
      busy.kill("SIGKILL");
    }
  });

  test("on a quiet host a FAIL stands and says how quiet the host was; a deployed target's record is not quoted", () => {
    const samples = quiet(t0, 30, 0.05);
    samples[7].foreignCores = 0.25; // at the limit: not contended
    const c = judgeContention(samples, t0, slowWhileBusy);
    const j = judgeP95(latency, 20, schedule, "phase bar", c);
    expect(j.verdict).toBe("FAIL");
    expect(j.detail).toMatch(/; other work on the host stayed at or under 0\.25 cores every second \(peak 0\.25, mean 0\.06\)$/);
    const deployed = judgeP95(latency, 20, schedule, "phase bar", { ...c, unattributable: "deployed here" });
    expect(deployed.verdict).toBe("FAIL");
    expect(deployed.detail).not.toContain("other work");
  });

  test("stays a FAIL when the service is slow in the clean seconds too", () => {
    const slowThroughout = requests(() => 300);
    const samples = quiet(t0);
    samples[3].foreignCores = 1.2;
    const c = judgeContention(samples, t0, slowThroughout);
    const j = judgeP95(summarizeLatency(slowThroughout.map((r) => r.latencyMs))!, 20, schedule, "phase bar", c);
    expect(j.verdict).toBe("FAIL");
    expect(j.detail).toMatch(/with the 2000 requests due while other work held the CPU set aside, it is still 299\.8ms/);
  });

  test("a PASS is not touched by contention: other work only slows the service", () => {
    const fast = requests(() => 4);
    const samples = quiet(t0, 30, 1.9);
    const c = judgeContention(samples, t0, fast);
    expect(c.cleanRequests).toBe(0);
    expect(
      judgeP95(summarizeLatency(fast.map((r) => r.latencyMs))!, 20, { ...schedule, driverFreeP95LowerMs: 3.8 }, "phase bar", c).verdict,
    ).toBe("PASS");
  });
});

describe("watching the real host", () => {
  test("a busy process outside the run shows as foreign cores, and is named; the run's own processes are not", async () => {
    let samples: HostSample[];
    // Each spins for up to 10 s and is stopped once the watch has seen it (its command line is read while it runs).
    const spin = "const end = Date.now() + 10000; while (Date.now() < end) {}";
    const burner = spawn(process.execPath, ["-e", spin], { stdio: "ignore" });
    const ours = spawn(process.execPath, ["-e", spin], { stdio: "ignore" });
    const exited = [burner, ours].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r))));
    let top;
    try {
      const watch = new HostWatch([ours.pid!]);
      for (let s = 0; s < 2; s++) {
        await new Promise((r) => setTimeout(r, 1000));
        await watch.sample();
      }
      top = watch.topForeign(1000); // every foreign process that ran: a busy machine may have busier ones
      samples = watch.samples;
    } finally {
      burner.kill("SIGKILL");
      ours.kill("SIGKILL");
      await Promise.all(exited);
    }
    expect(samples).toHaveLength(2);
    expect(Math.max(...samples.map((s) => s.foreignCores))).toBeGreaterThan(FOREIGN_CORES_LIMIT);
    expect(top.map((p) => p.pid)).toContain(burner.pid);
    expect(top.map((p) => p.pid)).not.toContain(ours.pid);
    expect(top.find((p) => p.pid === burner.pid)!.command).toContain("Date.now() + 10000");
  });
});
