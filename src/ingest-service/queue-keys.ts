// Names of everything the service keeps in Redis for one namespace.

export interface QueueKeys {
  /** Stream of accepted events, read by the workers' consumer group. */
  events: string;
  /** Prefix of the per-idempotency-key markers: `${idem}${key}`. */
  idem: string;
  /** Consumer group of the workers on `events`. */
  group: string;
  /** Hash of counters the workers publish and /metrics reads. */
  metrics: string;
  /** Who holds the workers' collecting turn (take-turn.lua). */
  turn: string;
}

export function queueKeys(namespace: string): QueueKeys {
  return {
    events: `${namespace}:events`,
    idem: `${namespace}:idem:`,
    group: "workers",
    metrics: `${namespace}:metrics`,
    turn: `${namespace}:turn`,
  };
}
