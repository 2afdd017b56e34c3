// The coordination clock against the real Redis: a clean reading is known to well under the default bound, and a
// path held 50 ms (the runner's clock-fault hook) is never reported as known to better than half of that, whatever
// the host's timers do.

import { Redis } from "ioredis";
import { readCoordinationClock } from "../../../../src/gates/measure/shards/index.js";

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true });

beforeAll(() => redis.connect());
afterAll(() => redis.quit());

test("a reading maps this process's clock onto Redis TIME, from the sample with the smallest round trip", async () => {
  const clock = await readCoordinationClock(redis);
  expect(clock.samples).toBe(6);
  expect(clock.uncertaintyMs).toBeCloseTo(clock.rttMs / 2, 9);
  // Redis runs on this host, so its TIME and this process's wall clock are one clock, to within the round trip
  // (and the wall clock's reading of it).
  expect(Math.abs(clock.offsetMs)).toBeLessThan(clock.uncertaintyMs + 5);
  const now = performance.now();
  expect(clock.toLocal(clock.toCoordination(now))).toBeCloseTo(now, 2);
});

test("an answer held 50 ms is known to no better than ±25 ms, every time", async () => {
  for (let i = 0; i < 3; i++) {
    const clock = await readCoordinationClock(redis, { samples: 2, faultMs: 50 });
    expect(clock.rttMs).toBeGreaterThanOrEqual(50);
    expect(clock.uncertaintyMs).toBeGreaterThanOrEqual(25);
  }
});
