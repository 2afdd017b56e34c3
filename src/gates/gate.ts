// What a gate demands, as data: the typed form of a gate file such as gates/gate-a.yaml.
// Parsing and validation live in gate-definition.ts; everything else reads this shape.

import type { CapacitySpec } from "./capacity-probe.js";
import type { Deadline, WarRoomCadence } from "./deadline.js";
import type { PreflightSpec } from "./preflight.js";

/** Comparison of a measured value against its bar. */
export type Comparator = "<=" | ">=" | "==";

export interface Slo {
  /** Stable name used in verdict tables and JSON: latency_p95, acceptance, error_rate,
   *  idempotency_violations, ordering_violations, lost_events. */
  name: SloName;
  comparator: Comparator;
  /** The bar in canonical units: milliseconds for latency, a ratio 0..1 for shares, a count otherwise. */
  bar: number;
  /** The bar as the gate file wrote it ("120ms", "99.9%", "0"), for people. */
  display: string;
}

export type SloName =
  | "latency_p95"
  | "acceptance"
  | "error_rate"
  | "idempotency_violations"
  | "ordering_violations"
  | "lost_events";

export interface Phase {
  /** smoke, load, final ... */
  name: string;
  /** Other words that select this phase in commands and flags: "1k", "5k", "30k". */
  aliases: string[];
  /** Requests sent in this phase (redeliveries included). */
  requests: number;
  /** Offered rate, requests per second (open loop). */
  rate: number;
  /** This phase's own latency bar (P95), milliseconds. */
  latencyP95Ms: number;
  /** How long to wait for the queue to drain after the last answer before measuring, ms. */
  drainTimeoutMs: number;
}

export interface BundledTarget {
  kind: "bundled";
  /** "queue" (202-then-queue) or "sync" (the seed's synchronous design). */
  mode: "queue" | "sync";
  workers: number;
  batchSize: number;
  batchLingerMs: number;
  redisUrl: string;
  databaseUrl: string;
}

export interface DeployedTarget {
  kind: "deployed";
  /** Base URL of the running service, e.g. https://ingest.example.com */
  url: string;
  /** The database it writes to, for the checks. */
  databaseUrl: string;
  /** PostgreSQL schema the service writes to. */
  schema: string;
}

export type Target = BundledTarget | DeployedTarget;

export interface CorpusSpec {
  /** Seed for the deterministic generator; same seed, same corpus byte for byte. */
  seed: string;
  /** Number of ordering keys events are spread over. */
  orderingKeys: number;
  /** Share of requests that re-send an earlier webhook-id (0..1). */
  redeliveryShare: number;
  /** A recorded NDJSON corpus instead of the generator (path relative to the gate file). */
  file?: string;
}

export interface SignoffPolicy {
  /** Approvals needed. */
  approvals: number;
  /** GitHub logins (or "@org/team") allowed to approve. Empty: anyone with `permission`. */
  approvers: string[];
  /** Minimum repository permission of an approver when approvers is empty. */
  permission: "admin" | "write" | "read";
}

export interface CommandPolicy {
  /** The PR comment prefix, e.g. "/gate-a". */
  prefix: string;
  /** Minimum repository permission to start or abort runs. */
  permission: "admin" | "write" | "read";
}

export interface Gate {
  /** Machine name, e.g. "gate-a". */
  name: string;
  title: string;
  application: string;
  dri: string;
  statusOwner: string;
  target: Target;
  slos: Slo[];
  phases: Phase[];
  corpus: CorpusSpec;
  /** Evidence item identifiers the bundle must contain. */
  evidence: string[];
  signoff: SignoffPolicy;
  command: CommandPolicy;
  /** Optional cron schedule for the scheduled workflow. */
  schedule?: string;
  /** War-room status updates at this cadence during a run, besides milestones (`updates: { every: 30min }`). */
  updates?: WarRoomCadence;
  /** TIME TO DEADLINE in every update; STATUS YELLOW near it, RED past it. */
  deadline?: Deadline;
  /** Who is mentioned (logins or @org/team) when the run turns RED, once per run. */
  escalation?: string[];
  /** Checks after deploy and before the first phase. */
  preflight?: PreflightSpec;
  /** A closed-loop capacity probe after the last phase: headroom, never in the verdict. */
  capacity?: CapacitySpec;
  /** The file it came from and the SHA-256 of its bytes, for the attestation. */
  source: { file: string; sha256: string };
}
