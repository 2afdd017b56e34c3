// The phase monitor against real Redis and real processes: the queue's depth as it moves, the
// CPU of the processes it was given, and nothing at all for what it was not given.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { phaseResources, startPhaseMonitor } from "../../../src/gates/measure/phase-monitor.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

test("the queue's depth is sampled as it grows and drains, and a busy process's CPU is counted", async () => {
  const redis = new Redis(REDIS_URL);
  const stream = `t_monitor_${randomBytes(4).toString("hex")}:events`;
  const busy = spawn(process.execPath, ["-e", "const end = Date.now() + 300; while (Date.now() < end); setTimeout(() => {}, 10_000);"], {
    stdio: "ignore",
  });
  try {
    const startedAt = new Date().toISOString();
    const monitor = startPhaseMonitor({ pids: { server: busy.pid!, workers: [] }, queue: { redisUrl: REDIS_URL, stream } }, 50);
    for (let i = 0; i < 30; i++) await redis.xadd(stream, "*", "n", String(i));
    await new Promise((r) => setTimeout(r, 300));
    await redis.del(stream);
    await new Promise((r) => setTimeout(r, 300));
    const readings = await monitor.stop();
    const depths = readings.queue!.map((q) => q.depth);
    expect(Math.max(...depths)).toBe(30);
    expect(depths[depths.length - 1]).toBe(0);
    expect(readings.serverUs).toBeGreaterThan(0);
    expect(readings.workersUs).toBeNull();

    const r = phaseResources(readings, { startedAt, driverCpuUs: 50_000, samples: { length: 500 } }, 400);
    expect(r.cpu.driverUsPerRequest).toBe(100);
    expect(r.cpu.serverUsPerRequest).toBe(readings.serverUs! / 500);
    expect(r.cpu.workersUsPerEvent).toBeNull();
    expect(r.queueDepth!.every((q) => q.atMs >= -50)).toBe(true);
  } finally {
    busy.kill();
    await redis.del(stream);
    redis.disconnect();
  }
});

test("a target the run cannot look inside (a deployed service) gets no CPU and no queue series", async () => {
  const readings = await startPhaseMonitor({}).stop();
  expect(readings).toMatchObject({ serverUs: null, workersUs: null, queue: null });
  const r = phaseResources(readings, { startedAt: new Date().toISOString(), samples: { length: 10 } }, 10);
  expect(r.cpu).toMatchObject({ driverUsPerRequest: null, serverUsPerRequest: null, workersUsPerEvent: null });
  expect(r.queueDepth).toBeNull();
});

test("an unreachable Redis leaves the queue series empty and the phase unharmed", async () => {
  const monitor = startPhaseMonitor({ queue: { redisUrl: "redis://127.0.0.1:1", stream: "nowhere:events" } }, 20);
  await new Promise((r) => setTimeout(r, 200));
  const readings = await monitor.stop();
  expect(readings.queue).toEqual([]);
});

test("the run's own replay runners on this machine are the run's work, not other work on the host", async () => {
  // A busy process standing in for a local runner, watched twice at once: as the run's runner, and as a stranger.
  const busy = spawn(process.execPath, ["-e", "const end = Date.now() + 2500; while (Date.now() < end); setTimeout(() => {}, 10_000);"], {
    stdio: "ignore",
  });
  try {
    const asRunner = startPhaseMonitor({}, 50, [busy.pid!]);
    const asStranger = startPhaseMonitor({}, 50);
    await new Promise((r) => setTimeout(r, 2600));
    const [mine, theirs] = await Promise.all([asRunner.stop(), asStranger.stop()]);
    const foreignSeconds = (r: typeof mine) => r.host!.samples.reduce((s, x) => s + x.foreignCores, 0);
    expect(theirs.host!.topForeign.map((p) => p.pid)).toContain(busy.pid);
    expect(mine.host!.topForeign.map((p) => p.pid)).not.toContain(busy.pid);
    expect(foreignSeconds(theirs)).toBeGreaterThan(foreignSeconds(mine) + 0.5);
  } finally {
    busy.kill();
  }
});
