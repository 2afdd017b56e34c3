// Parts of a gate as data that their own modules act on: the war room's deadline and cadence, the
// pre-flight checks and the capacity probe. Types only, so the gate's shape imports nothing above model/.

export type Deadline =
  /** The next time this wall-clock time comes round in `zone`, at or after the command. */
  | { kind: "time_of_day"; hour: number; minute: number; zone: string; display: string }
  /** This long after the command. */
  | { kind: "after"; ms: number; display: string };

/** The status cadence and escalation a gate file may declare next to its deadline. */
export interface WarRoomCadence {
  /** A status update this often during a run, besides the milestones (ms). */
  everyMs: number;
  display: string;
}

/** The gate file's `preflight:` block, parsed. Absent parts are not checked. */
export interface PreflightSpec {
  redis?: {
    /** The Redis the service queues in; default the bundled target's redis_url. */
    url?: string;
    /** Required eviction policy: a queue in Redis must never be evicted ("noeviction"). */
    maxmemoryPolicy?: string;
    /** "required": appendonly must be on (production targets); "any": not checked. */
    aof?: "required" | "any";
    /** Free memory bar, bytes, and as written. */
    freeMemory?: { bytes: number; display: string };
  };
  postgres?: {
    /** max_connections bar. */
    maxConnections?: { min: number; display: string };
    /** Connections the service opens (all its processes); default the bundled service's own pools. */
    poolSize?: number;
  };
  /** Environment variables that must be set for the run (names only; values are never read out). */
  secrets?: string[];
  /** GET the service's /readyz and expect 200. */
  serviceReady?: boolean;
}

/** The gate file's `capacity:` block. */
export interface CapacitySpec {
  durationMs: number;
  connections: number;
  display: { duration: string };
}
