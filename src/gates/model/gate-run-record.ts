// The record of one gate run: everything measured, checked and decided. The runner fills it,
// the verdict reads it, the evidence bundle writes it out, the bot and CLI render it.

import type { BaselineRecord } from "./baseline.js";
import type { Gate } from "./gate.js";
import type {
  CapacityResult,
  HostContention,
  MachineRecord,
  PhaseResources,
  ScheduleCheck,
  ServiceSourceEvidence,
} from "./measurements.js";

/**
 * PASS, FAIL; ERROR when something could not be measured or run; INCONCLUSIVE when it was measured
 * but the replay cannot prove either way (replay-validity.ts); PARTIAL for a run of only some of a
 * gate's phases, all of which passed (a run verdict only).
 */
export type Verdict = "PASS" | "FAIL" | "ERROR" | "INCONCLUSIVE" | "PARTIAL";

/**
 * A phase's verdict: a run's, or NOT_RUN for a phase that never ran (an earlier phase did not pass,
 * the run could not start or was stopped). NOT_RUN is never a PASS; the run it leaves undecided is
 * ERROR, or INCONCLUSIVE when what stopped it was a phase that could not tell (verdict.ts evaluateRun).
 */
export type PhaseVerdict = Verdict | "NOT_RUN";

/** Outcome of one replayed request, as the replay driver saw it. */
export type RequestOutcome = "accepted" | "duplicate" | "rejected" | "error" | "timeout";

/** One request of a replay. Times are milliseconds since the replay's t0 (fractional). */
export interface RequestSample {
  index: number;
  /** The webhook-id (idempotency key) sent. */
  eventId: string;
  orderingKey: string | null;
  seq: number | null;
  /** True when this request re-sends an earlier webhook-id. */
  redelivery: boolean;
  dueAt: number;
  sentAt: number;
  doneAt: number;
  /** doneAt - dueAt: coordinated-omission corrected latency. */
  latencyMs: number;
  /** sentAt - dueAt. */
  sendLagMs: number;
  /**
   * The driver's own delay to this request: from when it could be sent (due, or its key freed) to sentAt, plus how long
   * its answer may have waited for the driver's busy event loop before it was read (measure/replay/loop-wait.ts).
   */
  ownLagMs?: number;
  /** HTTP status; 0 for a transport error or timeout. */
  status: number;
  outcome: RequestOutcome;
  /** X-Request-Id the service answered with. */
  requestId: string | null;
  /** Transport error text, when status is 0. */
  error?: string;
}

export interface ReplayResult {
  samples: RequestSample[];
  /** Wall-clock time of t0. */
  startedAt: string;
  durationMs: number;
  targetRate: number;
  achievedRate: number;
  sendLagP99Ms: number;
  /** False when the offered rate did not hold (replay-validity.ts): a PASS on latency cannot stand, a FAIL still can. */
  valid: boolean;
  invalidReason?: string;
  /** The driver's schedule record the replay-validity rule judges; absent in replays recorded before it. */
  schedule?: ScheduleCheck;
  /** Set when the replay was stopped early, with why. */
  aborted?: string;
  /** CPU time (user + system) of the driver's process from t0 to the last answer, µs. */
  driverCpuUs?: number;
  /** Set when the phase was driven by runners through the coordination Redis (shards/): who drove what, merged how. */
  shards?: ShardedReplay;
}

/** One runner's shard of a phase, for the evidence. */
export interface ShardRecord {
  shard: number;
  runner: { id: string; host: string; pid: number; version: string; offsetMs: number; uncertaintyMs: number };
  /** Events in the shard, and answers it recorded. */
  requests: number;
  n: number;
  /** Upper edges of the HDR buckets of its own P95 and its driver's own lag P99 (send and answer, ownLagMs), ms. */
  p95Ms: number | null;
  sendLagP99Ms: number | null;
  /** Driver CPU per request it dispatched, µs. */
  cpuPerRequestUs: number | null;
  /** Its latency histogram (HDR, µs, 3 digits, compressed base64). */
  latencyHdr: string;
  samplesSha256: string;
}

/** A phase driven by N runners: the shards, and the merge of their histograms the verdict read. */
export interface ShardedReplay {
  runners: number;
  /** t0 on the coordination clock (Redis TIME + lead). */
  t0: string;
  leadMs: number;
  shards: ShardRecord[];
  /** Merged HDR histograms, encoded: latency from due time and send lag. */
  histograms: { latency: string; sendLag: string };
  /**
   * The merged latency per window of the windowed P95 interval (the phase's global positions
   * [fromIndex, toIndex), cut as one driver cuts its samples): answers in it, and its P95's bucket.
   */
  windows: { window: number; fromIndex: number; toIndex: number; n: number; p95LowerMs: number | null; p95UpperMs: number | null }[];
}

export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /**
   * 95% confidence interval for P95 from order statistics, [lower, upper] in ms. When the sample is
   * too small to hold a bound, the lower is 0 and the upper Infinity (serialised as null).
   */
  p95Ci: [number, number];
  /** The 1-based ranks of those bounds (statistics.ts p95ConfidenceRanks): 0 or n + 1 when outside the sample. */
  p95CiRanks: [number, number];
  /**
   * 95% windowed (sectioning) interval for P95, [lower, upper] in ms: honest when samples are
   * correlated in time (statistics.ts windowedP95Interval). Null under 200 samples (10 windows of 20).
   */
  p95CiBatch: [number, number] | null;
  /** The windows that interval comes from; null with it. */
  windows: WindowedP95 | null;
  /** n × (exact interval's standard error ÷ the windowed one)²: how many independent samples the phase was worth. */
  effectiveSampleSize: number | null;
  /**
   * The upper bounds a PASS is judged on, at the run's level (one-sided α, 0.025 = 97.5% unless the
   * run asks for stricter): the exact one (Infinity with rank n + 1 when outside the sample) and the
   * windowed one (null without windows).
   */
  passBounds: { oneSidedAlpha: number; exact: number; exactRank: number; batch: number | null };
}

/** The consecutive windows of a phase (by due time) the windowed P95 interval rests on. */
export interface WindowedP95 {
  count: number;
  /** Samples in the smallest window (sizes differ by at most one, unless some requests went unanswered). */
  size: number;
  /** Each window's nearest-rank P95, ms, in time order (from runners' histograms: its bucket's upper edge). */
  p95s: number[];
  /** s / √b: the overall P95's standard error from the windows' spread, ms (from runners' histograms: widened to cover the buckets). */
  standardError: number;
}

export interface IdempotencyReport {
  redeliveriesSent: number;
  answeredDuplicate: number;
  /** Redeliveries answered 202 as if new. */
  answeredNew: number;
  /** Distinct event ids stored more than once. */
  storedMoreThanOnce: number;
  violations: { eventId: string; kind: "stored_twice" | "redelivery_answered_new"; detail: string }[];
}

export interface OrderingReport {
  keysChecked: number;
  eventsChecked: number;
  /** Events per key: min / median / max. */
  eventsPerKey: { min: number; median: number; max: number };
  gaps: { orderingKey: string; fromSeq: number; toSeq: number }[];
  violations: { orderingKey: string; expected: number[]; actual: number[] }[];
}

export interface DatabaseConfirmation {
  /** Rows in webhook_events for this run. */
  rowCount: number;
  /** Distinct events answered 202 (or duplicate of an accepted one). */
  acceptedCount: number;
  /** enforced is true only when tested: a duplicate insert was tried and refused. */
  constraints: { name: string; definition: string; present: boolean; enforced: boolean; tested: boolean; detail: string }[];
  /** Accepted event ids missing from the database after the drain. */
  lostEvents: string[];
}

/** One request followed from HTTP accept to its database row. */
export interface Lineage {
  requestId: string;
  eventId: string;
  hops: { hop: "accepted" | "enqueued" | "committed" | "stored"; at: string; detail: string }[];
}

export interface RbacCase {
  name: string;
  description: string;
  expectedStatus: number;
  actualStatus: number;
  verdict: "PASS" | "FAIL";
}

export interface SloResult {
  name: string;
  /** Measured value in canonical units, null when it could not be measured. */
  measured: number | null;
  /** Human form of the measured value ("18.4ms", "99.95%"). */
  measuredDisplay: string;
  bar: string;
  verdict: Verdict;
  detail?: string;
}

/** Errors by cause, for the error budget ledger. */
export interface ErrorBreakdown {
  byStatus: Record<string, number>;
  timeouts: number;
  transport: number;
}

export interface PhaseResult {
  name: string;
  requests: number;
  rate: number;
  latencyBarMs: number;
  /** False when the phase did not run (an earlier phase failed, or the run was aborted). */
  ran: boolean;
  replay: ReplayResult | null;
  latency: LatencySummary | null;
  distinctEvents: number;
  accepted: number;
  duplicates: number;
  errors: ErrorBreakdown;
  /** Time from the last answer to the last committed row, ms (null if the drain timed out). */
  drainMs: number | null;
  idempotency: IdempotencyReport | null;
  ordering: OrderingReport | null;
  database: DatabaseConfirmation | null;
  /** NOT_RUN exactly when `ran` is false. */
  verdict: PhaseVerdict;
  reason: string;
  slos: SloResult[];
  /** CPU per request of driver, server and workers, and the queue's depth over time (when measured). */
  resources?: PhaseResources;
  /** Other work on the machine during the phase (host-contention.ts); absent where /proc could not be read. */
  contention?: HostContention;
  /** How many runners drove the phase (shards/), also when it did not finish; absent: one in-process driver. */
  runners?: number;
}

/** What the runner measured in a phase; the verdict (verdict.ts) adds the rest. */
export type PhaseMeasurement = Omit<PhaseResult, "verdict" | "reason" | "slos">;

export type Status = "GREEN" | "YELLOW" | "RED";

/** A status update in the war room's format. */
export interface WarRoomUpdate {
  time: string; // ISO; rendered HH:MM UTC
  milestone: string;
  status: Status;
  progress: string;
  blockers: string;
  next: string;
  eta: string;
  owner: string;
  /** "5 hours 30 minutes (deadline 18:00 UTC)", when the gate has a deadline. */
  timeToDeadline?: string;
  /** Who this update calls in: set on the first RED update of a run whose gate lists an escalation. */
  escalation?: string[];
}

export interface TimelineEntry {
  time: string;
  milestone: string;
  owner: string;
  status: "done" | "running" | "pending" | "failed" | "skipped";
  blocker: string;
}

export interface Decision {
  time: string;
  title: string;
  authority: string;
  decision: string;
  rationale: string;
}

export interface Approval {
  reviewer: string;
  at: string;
  commit: string;
  verdict: Verdict;
  state: "approved" | "dismissed";
  pullRequest?: string;
}

export interface GateRun {
  id: string;
  gate: Gate;
  /** The commit under test (git HEAD of the gated repository, or "unknown"). */
  commit: string;
  startedAt: string;
  finishedAt: string;
  verdict: Verdict;
  reason: string;
  phases: PhaseResult[];
  rbac: RbacCase[];
  lineages: Lineage[];
  timeline: TimelineEntry[];
  decisions: Decision[];
  updates: WarRoomUpdate[];
  approvals: Approval[];
  /** The Redis prefix and PostgreSQL schema the run's target wrote to. */
  namespace?: string;
  /** Paths of raw logs to include in the bundle (service logs), keyed by name. */
  logs: Record<string, string>;
  /** Values that must never appear in the bundle (secrets used in the run). */
  secrets: string[];
  /** The machine the run measured on: CPU, load and CPU pressure before and after, idle event-loop jitter. */
  machine?: MachineRecord;
  /** The commit's tree that was built and deployed, when the service came from the commit under test. */
  source?: ServiceSourceEvidence;
  /** Why the service could not be built: the step, its exit code and the end of its log. */
  sourceFailure?: { step: string; code: string; exitCode: number | null; logTail: string[] };
  /** The sealed room the service was built and run in; absent when it ran as the runner's own code. */
  room?: RoomRecord;
  /** Pre-flight results, when the gate asks for pre-flight checks. */
  preflight?: PreflightResult[];
  /** The closed-loop capacity probe (headroom), when the gate asks for one; never part of the verdict. */
  capacity?: CapacityResult;
  /** This run's place in the ledger of attempts on its commit (the bot keeps the ledger; a lone `gate run` has none). */
  attempts?: RunAttempts;
  /** For a gate with `baseline:`, the run it was compared with, or why there was none. */
  baseline?: BaselineRecord;
}

/** Where a run was asked for: what NEXT can name to run it again there. */
export type RunOrigin =
  /** A PR comment; `command` is the one that runs it again (`/gate-a replay 5k`). */
  | { kind: "pr"; command: string }
  /** A GitHub Actions workflow; `workflow` its file (`.github/workflows/gate-a.yml`), run again by a dispatch. */
  | { kind: "actions"; workflow: string }
  /** The command line; `command` the one that runs it again (`gate run gates/gate-a.yaml`). */
  | { kind: "cli"; command: string }
  /** A deployment waiting on the gate (`requires: run`) in `environment`; run again by deploying again. */
  | { kind: "deployment"; environment: string };

/** One attempt on a commit as the ledger records it (signed, each entry naming the digest of the one before). */
export interface AttemptEntry {
  /** "owner/repo" */
  repository: string;
  gate: string;
  commit: string;
  /** 1 for the first run of the gate on this commit. */
  attempt: number;
  run: string;
  verdict: Verdict;
  /** The run included every phase of its gate. */
  full: boolean;
  /** The one-sided alpha its PASS bound was judged at. */
  alpha: number;
  origin: RunOrigin["kind"];
  at: string;
  /** SHA-256 (hex) of the previous line, or of the ledger's genesis text for the first entry. */
  previous: string;
}

/** A run's attempt on its commit: its number, the rule, and the ledger up to and including it. */
export interface RunAttempts {
  number: number;
  max: number;
  /** The gate file's rule as written. */
  rule: string;
  /** The one-sided alpha this attempt's PASS bound is judged at. */
  alpha: number;
  /** The ledger's lines (DSSE envelopes, or `{"unsigned": …}` on a bot without a signing key), this run's last. */
  lines: string[];
  entries: AttemptEntry[];
  /** Where each earlier attempt can be seen (evidence PR or war room), by run id. */
  links: Record<string, string>;
  /** Why the rule withholds a GO from this attempt even if it PASSes and is signed off, or null. */
  goWithheld: string | null;
}

/** The sealed room of a run, for the evidence: what sealed it, and what making it cost. */
export interface RoomRecord {
  id: string;
  /** The room's user (a number with no account: neither root nor the runner's user). */
  uid: number;
  network: string;
  cgroup: "v1" | "v2";
  limits: { pids: number; memoryBytes: number };
  /** The runner's folders (and /run, the machine's sockets) laid over with an empty one inside the room. */
  hidden: string[];
  /** Folders the room has a private, empty copy of (/tmp ...). */
  privateFolders: string[];
  /** Making the room, and starting its Redis and PostgreSQL, ms. */
  setupMs: { room: number; data: number };
}

export type PreflightCheckName =
  | "redis_maxmemory_policy"
  | "redis_aof"
  | "redis_free_memory"
  | "postgres_max_connections"
  | "postgres_pool_headroom"
  | "secrets_present"
  | "service_ready";

export interface PreflightResult {
  check: PreflightCheckName;
  /** What the check demands, as people read it. */
  expected: string;
  /** What was found (never a secret's value). */
  actual: string;
  verdict: Extract<Verdict, "PASS" | "FAIL">;
  detail?: string;
}
