// Retrying with full-jitter exponential backoff: the n-th wait is uniform in [0, min(max, first × 2^n)], so
// workers that failed together (a PostgreSQL or Redis restart) do not come back together. Used by the batch
// writer, the worker's queue reads and the bot's runner. Written here rather than taken from p-retry: p-retry
// multiplies by a random factor (not full jitter) and counts tries, while two of our loops retry until told
// to stop and start again from the first delay after a success, which a small stateful Backoff says plainly.

export interface BackoffPolicy {
  /** The cap of the first wait, ms. */
  firstDelayMs: number;
  /** The cap never grows past this, ms. */
  maxDelayMs: number;
}

/** A number in [0, 1): Math.random, or a seeded source in a test. */
export type RandomSource = () => number;

/** The waits of one run of failures: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  #failures = 0;

  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: RandomSource = Math.random,
  ) {}

  /** The wait before the next try, ms (whole milliseconds). */
  next(): number {
    const cap = Math.min(this.policy.maxDelayMs, this.policy.firstDelayMs * 2 ** Math.min(this.#failures, 52));
    this.#failures++;
    return Math.floor(this.random() * (cap + 1));
  }

  /** A success: the next failure waits as little as the first did. */
  reset(): void {
    this.#failures = 0;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  backoff: BackoffPolicy;
  /** Tries after the first; the last failure is thrown. */
  retries: number;
  random?: RandomSource;
  /** For a test that counts waits instead of waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait, e.g. to log it. */
  onRetry?: (err: unknown, failures: number, delayMs: number) => void;
}

/** Calls `attempt` until it resolves or `retries` more tries have failed (then rethrows the last error). */
export async function retry<T>(attempt: () => Promise<T>, o: RetryOptions): Promise<T> {
  const backoff = new Backoff(o.backoff, o.random);
  const wait = o.sleep ?? sleep;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (backoff.failures >= o.retries) throw err;
      const delay = backoff.next();
      o.onRetry?.(err, backoff.failures, delay);
      await wait(delay);
    }
  }
}
