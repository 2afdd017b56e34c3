// What a gate demands, as data: the typed form of a gate file such as gates/gate-a.yaml.
// Parsing and validation live in gate-file/; everything else reads this shape.

import type { CapacitySpec, Deadline, PreflightSpec, WarRoomCadence } from "./gate-settings.js";
import type { SloName } from "./slo-name.js";

/** Comparison of a measured value against its bar. */
export type Comparator = "<=" | ">=" | "==";

/** One objective as the gate file states it (the catalogue in slos/ knows what each one means). */
export interface Slo {
  /** Stable name used in verdict tables and JSON. */
  name: SloName;
  comparator: Comparator;
  /** The bar in canonical units: milliseconds for latency, a ratio 0..1 for shares, a count otherwise. */
  bar: number;
  /** The bar as the gate file wrote it ("120ms", "99.9%", "0"), for people. */
  display: string;
}

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
  /**
   * Which code is deployed: "commit" builds the commit under test from its source archive; "installed"
   * runs the runner's own copy. Unset: "commit" for runs started from a pull request, else "installed".
   */
  source?: "commit" | "installed";
  /** The build of a commit's tree (default: npm ci --no-audit --no-fund && npm run build). */
  build?: string;
  /** How big a commit's source archive may be, downloaded and unpacked (default DEFAULT_SOURCE_LIMITS). */
  sourceLimits?: SourceLimits;
}

/** A cap on a commit's source archive, with the text the gate file gave it (quoted when it is hit). */
export interface SourceLimits {
  /** The gzipped archive as downloaded. */
  archive: { bytes: number; display: string };
  /** The sum of the sizes of its files once unpacked. */
  unpacked: { bytes: number; display: string };
  /** How many members (files, folders, symbolic links) it may hold. */
  files: { count: number; display: string };
}

/** Roomy for a service repository, far below what fills a runner's disk (a 510 KB archive once unpacked to 512 MiB). */
export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  archive: { bytes: 100 * 1024 ** 2, display: "100MB" },
  unpacked: { bytes: 1024 ** 3, display: "1GB" },
  files: { count: 100_000, display: "100000" },
};

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
  /** May the run's requester and the gated PR's authors sign off? (`allow_self`, default false.) */
  allowSelf?: boolean;
  /** The branch evidence PRs target (`evidence_base`, default release-gate/evidence); never the default branch. */
  evidenceBase?: string;
  /**
   * An author, committer or `Co-authored-by` of a measured commit whose email is linked to no GitHub account
   * could be the approver under another name: "refuse" (the default) counts no approval while one is there.
   */
  unlinkedIdentities?: "refuse" | "allow";
}

export interface CommandPolicy {
  /** The PR comment prefix, e.g. "/gate-a". */
  prefix: string;
  /** Minimum repository permission to start or abort runs. */
  permission: "admin" | "write" | "read";
  /** Runs on pull requests from forks without a maintainer's `approve-run` first. */
  allowForks?: boolean;
}

export interface Gate {
  /** Machine name, e.g. "gate-a". */
  name: string;
  title: string;
  application: string;
  dri: string;
  statusOwner: string;
  target: Target;
  /** The objectives the gate file states, in the catalogue's order; a gate may leave any out. */
  slos: Slo[];
  phases: Phase[];
  corpus: CorpusSpec;
  /** Evidence item identifiers the bundle must contain. */
  evidence: string[];
  signoff: SignoffPolicy;
  command: CommandPolicy;
  /** Optional cron schedule for the scheduled workflow. */
  schedule?: string;
  /**
   * What a run of only the first phases (`--phase smoke`) decides when they pass: PARTIAL (the
   * default: exit 3, no GO) or PASS. Absent means PARTIAL.
   */
  partialRuns?: "PARTIAL" | "PASS";
  /** GitHub environments the gate guards as a deployment protection rule. */
  environments?: GuardedEnvironment[];
  /** Promotion stages after GO, in order: names of `environments`. */
  promotion?: string[];
  /** What a merge queue's merge group runs. */
  mergeQueue?: MergeQueuePolicy;
  /** War-room status updates at this cadence during a run, besides milestones (`updates: { every: 30min }`). */
  updates?: WarRoomCadence;
  /** TIME TO DEADLINE in every update; STATUS YELLOW near it, RED past it. */
  deadline?: Deadline;
  /** Who is mentioned (logins or @org/team) when the run turns RED, once per run. */
  escalation?: string[];
  /**
   * What the candidate is compared with (`baseline: last_go`): the last signed-off GO of the same gate and target
   * on the same machine class, judged by the latency_p95_regression objective. Absent: no comparison.
   */
  baseline?: "last_go";
  /** Checks after deploy and before the first phase. */
  preflight?: PreflightSpec;
  /** A closed-loop capacity probe after the last phase: headroom, never in the verdict. */
  capacity?: CapacitySpec;
  /** How attempts on one commit combine (`attempts:`); DEFAULT_ATTEMPT_RULE when absent (see attemptRuleOf). */
  attempts?: AttemptRule;
  /** Phases driven by runners through the coordination Redis (`replay: { runners: 3 }`); absent: one in-process driver. */
  replay?: ReplaySpec;
  /** The file it came from and the SHA-256 of its bytes, for the attestation. */
  source: { file: string; sha256: string; blobSha?: string };
}

/**
 * The retry rule a gate declares in advance (`attempts:`): how many runs one commit may have, and how
 * they combine into a GO. `display` is what the gate file said, quoted in messages.
 */
export type AttemptRule =
  /** Attempt j's PASS bound holds at one-sided alpha / 2^j: the false-GO chance over all attempts stays at most alpha. */
  | { rule: "alpha_spending"; max: number; alpha: number; display: string }
  /** A GO needs `passes` consecutive full PASSes on the commit, each at the base level. */
  | { rule: "consecutive_passes"; max: number; passes: number; display: string };

/** `attempts: { max: 3, rule: alpha_spending }`, the rule of a gate file that says nothing. */
export const DEFAULT_ATTEMPT_RULE: AttemptRule = {
  rule: "alpha_spending",
  max: 3,
  alpha: 0.05,
  display: "max 3, alpha_spending (total alpha 0.05)",
};

/** The gate's retry rule, the default when its file declares none. */
export function attemptRuleOf(gate: Pick<Gate, "attempts">): AttemptRule {
  return gate.attempts ?? DEFAULT_ATTEMPT_RULE;
}

/** `replay:` how many runners drive each phase, and how strictly their clocks must agree. */
export interface ReplaySpec {
  runners: number;
  /** Time from the plan to t0, for runners to take their shard and warm up, ms (`lead: 15s`). */
  leadMs?: number;
  /** The largest clock uncertainty a runner may drive with, ms (`clock_bound: 1ms`, the default). */
  clockBoundMs?: number;
}

/** What a deployment to a guarded environment needs before the gate approves it. */
export type EnvironmentRequirement =
  /** A full PASS of the deployment's commit whose sign-off is complete. */
  | "signoff"
  /** A full PASS of the deployment's commit. */
  | "pass"
  /** A run of the gate, now, against the environment itself. */
  | "run";

/** A GitHub environment the gate guards as a deployment protection rule (gate file `environments:`). */
export interface GuardedEnvironment {
  /** The environment's name on GitHub ("production", "canary-10"). */
  name: string;
  requires: EnvironmentRequirement;
  /** The running service behind the environment, for `requires: run`. */
  target?: DeployedTarget;
  /** The credentials the environment's service takes, for `requires: run` (from ${VARS}). */
  credentials?: { signingSecret?: string; bearerKey?: string };
  /** The short gate `requires: run` replays against the environment; the gate's first phase when absent. */
  phase?: Phase;
  /** As a promotion stage: how long after the previous stage's approval this one may be approved, ms. */
  soakMs?: number;
}

/** What a merge queue's merge group runs: a phase selector ("smoke", "all"), or nothing (not required). */
export interface MergeQueuePolicy {
  /** null: the gate reports itself as not required for the merge queue. */
  selector: string | null;
}
