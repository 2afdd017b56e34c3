// The host watch's edges, each pinned down: which /proc readings count, which seconds are
// contended (the limit itself is not), how spans merge and what they hold, and what the watch of
// the real host samples and names. `npm run mutate` (docs/mutation-testing.md) checks that changing
// any of these decisions breaks a test.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  FOREIGN_CORES_LIMIT,
  GUARD_MS,
  HOST_SAMPLE_MS,
  HostWatch,
  judgeContention,
  parseProcStat,
  type HostSample,
} from "../../../src/gates/measure/host-contention.js";
import { processOfStat } from "../../../src/gates/measure/process-cpu.js";
import { driverFreeLowerBound } from "../../../src/gates/verdict/replay-validity.js";
import { clockTicksPerSecond } from "../../../src/gates/measure/process-cpu.js";

const t0 = 1_700_000_000_000;

/** One request per ms for `ms` ms, each with the given latency and lag. */
function requests(ms: number, latencyMs = 5, lag: { ownLagMs?: number; sendLagMs: number } = { ownLagMs: 0.2, sendLagMs: 0.2 }) {
  return Array.from({ length: ms }, (_, i) => ({ dueAt: i, latencyMs, ...lag }));
}

/** A sample ending `seconds` after t0. */
const at = (seconds: number, foreignCores: number): HostSample => ({ atWallMs: t0 + seconds * 1000, foreignCores });

describe("reading /proc/stat: the edges", () => {
  test("eight fields (a kernel without guest time) are enough; seven are not", () => {
    expect(parseProcStat("cpu  1 2 3 4 5 6 7 8\n")).toEqual({ busy: 1 + 2 + 3 + 6 + 7, steal: 8 });
    expect(parseProcStat("cpu  1 2 3 4 5 6 7\n")).toBeNull();
  });

  test("a negative or fractional count among the first eight is no reading; what follows them is not read", () => {
    expect(parseProcStat("cpu  1 2 3 4 5 6 -7 8")).toBeNull();
    expect(parseProcStat("cpu  1 2 3.5 4 5 6 7 8")).toBeNull();
    expect(parseProcStat("cpu  1 2 3 4 5 6 7 8 x -1")).toEqual({ busy: 19, steal: 8 });
  });

  test("fields are split on any run of white space; trailing white space is no eighth field", () => {
    expect(parseProcStat("cpu  1  2 3\t4 5 6 7 8\n")).toEqual({ busy: 19, steal: 8 });
    expect(parseProcStat("cpu  1 2 3 4 5 6 7 \n")).toBeNull();
  });

  test("only the machine's line counts, not a CPU's own", () => {
    expect(parseProcStat("cpu0 1 2 3 4 5 6 7 8\n")).toBeNull();
    expect(parseProcStat("softcpu  1 2 3 4 5 6 7 8\n")).toBeNull();
    expect(parseProcStat("intr 5\ncpu  10 0 0 0 0 0 0 2\n")).toEqual({ busy: 10, steal: 2 });
  });
});

describe("reading /proc/<pid>/stat: the edges", () => {
  const fields = (ppid: number) => `S ${ppid} 1 1 0 -1 4194560 100 0 0 0 250 40 0 0 20 0 1 0 100 0 0`;

  test("the kernel's own threads (parent 0) and kthreadd's children (parent 2) are kernel threads; init's are not", () => {
    expect(processOfStat(`2 (kthreadd) ${fields(0)}`)).toMatchObject({ kernel: true });
    expect(processOfStat(`99 (sshd) ${fields(1)}`)).toMatchObject({ kernel: false });
    expect(processOfStat(`100 (worker) ${fields(3)}`)).toMatchObject({ kernel: false });
  });

  test("a line without its command in parentheses, or without CPU times, is no reading", () => {
    expect(processOfStat(`42 node ${fields(1)}`)).toBeNull();
    expect(processOfStat(`42 )node( ${fields(1)}`)).toBeNull();
    expect(processOfStat("42 (node) S 1 1")).toBeNull();
    expect(processOfStat(`42 node) ${fields(1)}`)).toBeNull();
  });

  test("the command is whatever the parentheses hold, even at the very start of the line", () => {
    expect(processOfStat(`(node) ${fields(1)}`)).toEqual({ command: "node", ticks: 290, kernel: false, ppid: 1, start: 100 });
  });
});

describe("which seconds were contended: the edges", () => {
  test("foreign CPU exactly at the limit is not contention; above it is", () => {
    expect(FOREIGN_CORES_LIMIT).toBe(0.25);
    expect(judgeContention([at(2, 0.25)], t0, requests(3000)).contended).toEqual([]);
    expect(judgeContention([at(2, 0.26)], t0, requests(3000)).contended).toEqual([{ fromMs: 1000, toMs: 3000, peakForeignCores: 0.26 }]);
  });

  test("a span is the sampled second and a guard second after it, and never starts before t0", () => {
    expect([HOST_SAMPLE_MS, GUARD_MS]).toEqual([1000, 1000]);
    expect(judgeContention([at(0.5, 1)], t0, requests(3000)).contended).toEqual([{ fromMs: 0, toMs: 1500, peakForeignCores: 1 }]);
  });

  test("a span that starts where the last one ends joins it; one that starts later is apart", () => {
    const touching = judgeContention([at(1, 0.5), at(3, 0.9)], t0, requests(6000));
    expect(touching.contended).toEqual([{ fromMs: 0, toMs: 4000, peakForeignCores: 0.9 }]);
    const apart = judgeContention([at(1, 0.9), at(4, 0.5)], t0, requests(6000));
    expect(apart.contended).toEqual([
      { fromMs: 0, toMs: 2000, peakForeignCores: 0.9 },
      { fromMs: 3000, toMs: 5000, peakForeignCores: 0.5 },
    ]);
  });

  test("a request due at a span's start is in it, one due at its end is not", () => {
    const c = judgeContention([at(2, 1)], t0, requests(4000));
    // Span [1000, 3000): requests due 1000..2999.
    expect(c.requestsInContended).toBe(2000);
    expect(c.cleanRequests).toBe(2000);
    const edges = judgeContention([at(2, 1)], t0, [
      { dueAt: 999.9, latencyMs: 1, sendLagMs: 0 },
      { dueAt: 1000, latencyMs: 1, sendLagMs: 0 },
      { dueAt: 2999.9, latencyMs: 1, sendLagMs: 0 },
      { dueAt: 3000, latencyMs: 1, sendLagMs: 0 },
    ]);
    expect(edges.requestsInContended).toBe(2);
  });

  test("the clean bound takes out each request's own lag, or its send lag when the driver recorded no own lag", () => {
    const own = judgeContention([], t0, requests(1000, 10, { ownLagMs: 1, sendLagMs: 4 }));
    expect(own.cleanFreeP95LowerMs).toBe(9);
    const send = judgeContention([], t0, requests(1000, 10, { sendLagMs: 4 }));
    expect(send.cleanFreeP95LowerMs).toBe(6);
  });

  test("peak and mean foreign CPU cover every second, contended or not, rounded to hundredths", () => {
    const c = judgeContention([at(1, 0.1), at(2, 0.2), at(3, 0.126)], t0, requests(10));
    expect(c.peakForeignCores).toBe(0.2);
    expect(c.meanForeignCores).toBe(0.14);
    expect(judgeContention([at(1, 0.333)], t0, requests(10))).toMatchObject({ peakForeignCores: 0.33, meanForeignCores: 0.33 });
    expect(judgeContention([], t0, requests(10))).toMatchObject({ peakForeignCores: 0, meanForeignCores: 0, contended: [] });
  });

  test("spans are whole milliseconds and their peak hundredths of a core", () => {
    const c = judgeContention([{ atWallMs: t0 + 2000.4, foreignCores: 1.234 }], t0, requests(10));
    expect(c.contended).toEqual([{ fromMs: 1000, toMs: 3000, peakForeignCores: 1.23 }]);
  });

  test("the limit can be set, and the busiest processes are passed through", () => {
    const top = [{ pid: 7, command: "make", cpuSeconds: 3 }];
    const c = judgeContention([at(2, 0.5)], t0, requests(10), top, 1);
    expect(c).toMatchObject({ limitCores: 1, contended: [], topForeign: top });
    expect(judgeContention([at(2, 0.5)], t0, requests(10)).limitCores).toBe(FOREIGN_CORES_LIMIT);
    expect(judgeContention([at(2, 0.5)], t0, requests(10)).topForeign).toEqual([]);
  });

  test("the clean bound is the driver-free bound of the requests outside the spans, with their lags alone", () => {
    // 3,000 requests, 1 ms apart, each lagging a different time: the span [1000, 3000) sets 2,000 aside.
    const all = Array.from({ length: 3000 }, (_, i) => ({ dueAt: i, latencyMs: 50 + (i % 7), ownLagMs: i / 100, sendLagMs: 0 }));
    const c = judgeContention([at(2, 1)], t0, all);
    const clean = all.filter((r) => r.dueAt < 1000);
    const expected = driverFreeLowerBound(
      clean.map((r) => r.latencyMs),
      clean.map((r) => r.ownLagMs),
    );
    expect(c.cleanRequests).toBe(1000);
    expect(expected.lowerMs).not.toBeNull();
    expect(c.cleanFreeP95LowerMs).toBe(expected.lowerMs);
  });
});

/** Node spinning for up to 10 s (killed by `stop`), with an optional long script so its command line is long. */
function spinner(command = process.execPath, pad = ""): ChildProcess {
  return spawn(command, ["-e", `const end = Date.now() + 10000; while (Date.now() < end) {} /* ${pad} */`], { stdio: "ignore" });
}
async function stop(...ps: ChildProcess[]): Promise<void> {
  const exited = ps.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once("exit", r))));
  for (const p of ps) p.kill("SIGKILL");
  await Promise.all(exited);
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A process's CPU ticks so far, from its /proc/<pid>/stat. */
const ticksOf = (pid: number) => processOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"))?.ticks ?? 0;

describe("watching the real host: the edges", () => {
  test("before its first reading the watch names no one", () => {
    const watch = new HostWatch([]);
    expect(watch.topForeign()).toEqual([]);
  });

  test("a sample asked for while one is reading /proc is that same reading, not a second one", async () => {
    const watch = new HostWatch([]);
    const a = watch.sample();
    expect(watch.sample()).toBe(a);
    await a;
    const b = watch.sample();
    expect(b).not.toBe(a);
    await b;
  });

  test("the first reading is the baseline; a reading within 0.2 s of the last is not a sample", async () => {
    const watch = new HostWatch([]);
    await watch.sample();
    await watch.sample();
    expect(watch.samples).toEqual([]);
    await pause(300);
    await watch.sample();
    expect(watch.samples).toHaveLength(1);
    expect(watch.samples[0].atWallMs).toBeLessThanOrEqual(Date.now());
    expect(watch.samples[0].foreignCores).toBeGreaterThanOrEqual(0);
  });

  test("names at most `limit` processes, the busiest first, each by its command line cut to 80 characters", async () => {
    const long = spinner(process.execPath, "x".repeat(120));
    try {
      const watch = new HostWatch([]);
      await watch.sample();
      await pause(600);
      await watch.sample();
      const all = watch.topForeign(1000);
      const mine = all.find((p) => p.pid === long.pid)!;
      expect(mine.command).toHaveLength(80);
      expect(mine.command.endsWith("...")).toBe(true);
      expect(mine.command.startsWith(process.execPath)).toBe(true);
      expect(mine.cpuSeconds).toBeGreaterThan(0);
      const seconds = all.map((p) => p.cpuSeconds);
      expect(seconds).toEqual([...seconds].sort((x, y) => y - x));
      expect(watch.topForeign(1)).toHaveLength(1);
    } finally {
      await stop(long);
    }
  });

  test("names only processes that used CPU since the watch began, by the CPU they used since; foreign CPU is in cores", async () => {
    const warm = spinner();
    const idle = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      // The spinner uses a second of CPU before the watch begins: none of it is the watch's to count.
      const tps = clockTicksPerSecond();
      const until = Date.now() + 20_000;
      while (ticksOf(warm.pid!) < tps && Date.now() < until) await pause(100);
      expect(ticksOf(warm.pid!)).toBeGreaterThanOrEqual(tps);
      const began = Date.now();
      const watch = new HostWatch([]);
      await watch.sample();
      await pause(300);
      await watch.sample();
      const wallS = (Date.now() - began) / 1000;
      const named = watch.topForeign(1000);
      expect(named.map((p) => p.pid)).not.toContain(idle.pid);
      for (const p of named) {
        expect(p.cpuSeconds).toBeGreaterThan(0);
        expect(p.cpuSeconds).toBeLessThanOrEqual(wallS * cpus().length + 0.05);
      }
      // One thread spinning uses at most one core: never more than the wall time the watch ran.
      expect(named.find((p) => p.pid === warm.pid)?.cpuSeconds ?? 0).toBeLessThanOrEqual(wallS + 0.05);
      // Over a longer second sample the spinner keeps at least one core busy, foreign whoever runs on it.
      await pause(2500);
      await watch.sample();
      expect(watch.samples).toHaveLength(2);
      for (const s of watch.samples) expect(s.foreignCores).toBeLessThanOrEqual(cpus().length + 0.5);
    } finally {
      await stop(warm, idle);
    }
  });

  test("names a process by its whole command line up to 80 characters; a longer one is cut to 77 and '...'", async () => {
    const base = `${process.execPath} -e for(;;);`;
    const withLength = (n: number) => spawn(process.execPath, ["-e", "for(;;);", "x".repeat(n - base.length - 1)], { stdio: "ignore" });
    const [short, at80, at81] = [base.length + 2, 80, 81].map(withLength);
    try {
      const watch = new HostWatch([]);
      await watch.sample();
      await pause(600);
      await watch.sample();
      const named = new Map(watch.topForeign(1000).map((p) => [p.pid, p.command]));
      expect(named.get(short.pid!)).toBe(`${base} x`);
      expect(named.get(at80.pid!)).toBe(`${base} ${"x".repeat(80 - base.length - 1)}`);
      expect(named.get(at81.pid!)).toBe(`${base} ${"x".repeat(77 - base.length - 1)}...`);
    } finally {
      await stop(short, at80, at81);
    }
  });

  test("without the run's servers located, local Redis and PostgreSQL processes are the run's own by name, whatever their pid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-watch-"));
    symlinkSync(process.execPath, join(dir, "postgres"));
    symlinkSync(process.execPath, join(dir, "redis-server"));
    const pg = spinner(join(dir, "postgres"));
    const redis = spinner(join(dir, "redis-server"));
    const other = spinner(process.execPath);
    try {
      const watch = new HostWatch([]);
      await watch.sample();
      await pause(600);
      await watch.sample();
      const pids = watch.topForeign(1000).map((p) => p.pid);
      expect(pids).toContain(other.pid);
      expect(pids).not.toContain(pg.pid);
      expect(pids).not.toContain(redis.pid);
    } finally {
      await stop(pg, redis, other);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a sealed room that cannot be listed keeps the processes it listed last", async () => {
    const busy = spinner();
    try {
      let calls = 0;
      const watch = new HostWatch([], { pids: async () => (calls++ === 0 ? [busy.pid!] : Promise.reject(new Error("cgroup gone"))) });
      await watch.sample();
      await pause(600);
      await watch.sample();
      expect(calls).toBe(2);
      expect(watch.topForeign(1000).map((p) => p.pid)).not.toContain(busy.pid);
    } finally {
      await stop(busy);
    }
  });
});
