// The retry helper: full-jitter exponential backoff, checked with a fixed random source instead of chance.

import { expect, test } from "@jest/globals";
import { Backoff, retry } from "../src/retry.js";

/** A random source that answers the given numbers in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

test("each wait is the random fraction of a cap that doubles from the first delay up to the maximum", () => {
  const highest = new Backoff({ firstDelayMs: 100, maxDelayMs: 1000 }, () => 0.999999);
  expect(Array.from({ length: 6 }, () => highest.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
  const half = new Backoff({ firstDelayMs: 100, maxDelayMs: 1000 }, () => 0.5);
  expect(Array.from({ length: 5 }, () => half.next())).toEqual([50, 100, 200, 400, 500]);
});

test("full jitter: a random source of 0 waits not at all, so failed workers do not return in step", () => {
  const backoff = new Backoff({ firstDelayMs: 100, maxDelayMs: 1000 }, sequence(0, 0.25));
  expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 50, 0]);
});

test("after reset the next wait is capped by the first delay again", () => {
  const backoff = new Backoff({ firstDelayMs: 10, maxDelayMs: 80 }, () => 0.999999);
  backoff.next();
  backoff.next();
  backoff.next();
  expect(backoff.failures).toBe(3);
  backoff.reset();
  expect(backoff.failures).toBe(0);
  expect(backoff.next()).toBe(10);
});

test("retry calls again after each failure, waits the jittered delays, and returns the first success", async () => {
  const waits: number[] = [];
  const seen: number[] = [];
  let calls = 0;
  const answer = await retry(
    async () => {
      if (++calls < 4) throw new Error(`outage ${calls}`);
      return "committed";
    },
    {
      backoff: { firstDelayMs: 100, maxDelayMs: 300 },
      retries: 5,
      random: () => 0.5,
      sleep: async (ms) => void waits.push(ms),
      onRetry: (_err, failures) => seen.push(failures),
    },
  );
  expect(answer).toBe("committed");
  expect(waits).toEqual([50, 100, 150]);
  expect(seen).toEqual([1, 2, 3]);
});

test("retry rethrows the last error once the retries are spent", async () => {
  let calls = 0;
  const failing = retry(
    async () => {
      throw new Error(`outage ${++calls}`);
    },
    { backoff: { firstDelayMs: 1, maxDelayMs: 1 }, retries: 2, random: () => 0, sleep: async () => {} },
  );
  await expect(failing).rejects.toThrow("outage 3");
  expect(calls).toBe(3);
});
