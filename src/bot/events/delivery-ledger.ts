// Deliveries are facts to check, not orders: each X-GitHub-Delivery is handled once, and each command
// comment once, whatever is resent. Kept in the bot's Redis so every bot process shares the ledger.

import type { Redis } from "ioredis";

/**
 * How long a delivery id is remembered. GitHub lets anyone with access to the App's settings redeliver a
 * delivery of the past 3 days (with its original X-GitHub-Delivery and signature); 7 days covers that window
 * with room for clock skew and a delivery that sat in a retry queue. One small key per delivery.
 */
export const DELIVERY_TTL_SECONDS = 7 * 24 * 3600;

export type LedgerEntry = "delivery" | "comment";

export class DeliveryLedger {
  constructor(
    private readonly redis: Redis,
    /** The bot's key prefix (RELEASE_GATE_PREFIX). */
    private readonly prefix: string,
  ) {}

  private key(kind: LedgerEntry, id: string | number): string {
    return `${this.prefix}:bot:seen:${kind}:${id}`;
  }

  /** True the first time `id` is seen within DELIVERY_TTL_SECONDS, false for every repeat. */
  async first(kind: LedgerEntry, id: string | number): Promise<boolean> {
    return (await this.redis.set(this.key(kind, id), new Date().toISOString(), "EX", DELIVERY_TTL_SECONDS, "NX")) === "OK";
  }

  /** Forgets `id` after its handler failed, so that GitHub's redelivery of it is handled. */
  async forget(kind: LedgerEntry, id: string | number): Promise<void> {
    await this.redis.del(this.key(kind, id));
  }
}

/**
 * A lock held while one run's sign-off is derived and written: every review event re-reads GitHub inside
 * it, so the last event handled always saw the last change (an approval and its dismissal 30 ms apart
 * converge to GitHub's state in either order). Shared by every bot process through Redis.
 */
export class RunLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async with<T>(runId: string, section: () => Promise<T>, o: { leaseMs?: number; waitMs?: number } = {}): Promise<T> {
    const key = `${this.prefix}:bot:lock:${runId}`;
    const lease = o.leaseMs ?? 60_000;
    const deadline = Date.now() + (o.waitMs ?? 120_000);
    while ((await this.redis.set(key, String(process.pid), "PX", lease, "NX")) !== "OK") {
      if (Date.now() > deadline) throw new Error(`run ${runId}: its sign-off lock (${key}) was held for too long`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const took = Date.now();
    try {
      return await section();
    } finally {
      // Our lease is ours to delete only while it has not expired (after that another process may hold it);
      // a plain DEL inside the lease keeps WATCH off the connection RunState shares.
      if (Date.now() - took < lease - 5_000) await this.redis.del(key);
    }
  }
}
