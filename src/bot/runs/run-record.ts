// A run as the bot records it: who asked, which commit, where its comment and check run are, how it
// ended, and its sign-off. The types every bot module shares; the store that keeps them is run-state.ts.

import type {
  Decision,
  PhaseVerdict,
  TimelineEntry,
  Verdict,
  WarRoomUpdate,
  PreflightResult,
  CapacityResult,
} from "../../gates/model/index.js";
import type { ApprovalAttempts } from "../../gates/evidence/index.js";
import type { StageRow } from "../signoff/promotion-stages.js";

export type RunPhase =
  | "queued"
  | "running"
  | "finished"
  /** Dropped before it started: replaced by a newer command, or aborted while waiting. */
  | "cancelled"
  /** Its runner died mid-run. */
  | "lost";

export interface RunRecord {
  id: string;
  gate: string;
  owner: string;
  repo: string;
  installationId: number;
  pullNumber: number;
  /** The PR head commit the run was requested for: the commit under test. */
  headSha: string;
  /** "5k", "all" ... and the label shown everywhere ("replay 5k"). */
  selector: string;
  /** The phases it runs ("smoke+load"): "5k" and "all" may be the same run. */
  scope: string;
  label: string;
  requestedBy: string;
  requestedAt: string;
  phase: RunPhase;
  startedAt?: string;
  finishedAt?: string;
  runner?: string;
  verdict?: Verdict;
  reason?: string;
  aborted?: boolean;
  abortRequestedBy?: string;
  /** Why the run was stopped when no person aborted it (the runner shut down, or lost its lock). */
  stoppedBecause?: string;
  /** The comment that asked for the run (reactions go on it). */
  commandCommentId?: number;
  /** The run holding the slot when this one was queued behind it. */
  waitingBehind?: { id: string; requestedBy: string; label: string; pullNumber: number };
  cancelledBecause?: string;
  /** Set when commits were pushed to the PR after the commit this run measured. */
  staleSince?: { headSha: string; at: string };
  warRoomCommentId?: number;
  warRoomUrl?: string;
  checkRunId?: number;
  checkRunUrl?: string;
  /** When the PR was last told about the end of the run (check run, comments, evidence PR): the run is done. */
  reportedAt?: string;
  evidencePullNumber?: number;
  evidenceUrl?: string;
  /** The gate file read from the repository's default branch when the command arrived (repository-gates.ts). */
  gateFile?: PinnedGateFile;
  /** Set when that gate file differs on the PR: its changes apply after merge. */
  gateFileNote?: string;
  /** The repository the PR's head comes from, when it is a fork ("owner/repo"). */
  headRepo?: string;
  /** Why the service under test could not be fetched or built: the step, exit code and log tail. */
  sourceFailure?: { step: string; code: string; exitCode: number | null; logTail: string[] };
  /** The latest war-room update and timeline, so the comment can be re-rendered by any process. */
  lastUpdate?: WarRoomUpdate;
  timeline?: TimelineEntry[];
  /** The run included every phase of its gate: only such a run can be a promotion decision. */
  full: boolean;
  /** The sign-off of this run's evidence, as the bot recorded it (never read back from a branch). */
  signoff?: RunSignoff;
  /** The evidence PR's base branch, and every commit the bot made on its evidence branch (approvals count only on these). */
  evidenceBase?: string;
  evidenceCommits?: string[];
  /** SHA-256 of the bundle's signed attestation envelope: the first link of the signed sign-off chain. */
  attestationDigest?: string;
  /** The signed sign-off entries (DSSE envelopes, one JSON line each), in the order recorded. */
  signoffLog?: string[];
  /** How many of signoffLog the bundle on the evidence branch already holds. */
  signoffWritten?: number;
  /** The promotion stages this run backs (deployment protection rule decisions), for the war room. */
  stages?: StageRow[];
  /** Each phase's outcome so far (the war-room page's phase table). */
  phases?: PhaseSummary[];
  preflight?: PreflightResult[];
  capacity?: CapacityResult;
  /** When the escalation list was mentioned (at most once per run). */
  escalatedAt?: string;
  /** The run's decision log as the engine wrote it. */
  decisions?: Decision[];
  /** Its attempt on this commit (the ledger's), set when it starts and completed when it ends. */
  attempt?: RecordAttempt;
  /**
   * For a gate with `baseline:`: the run it is compared with (null: none), the line that says so, and why its PASS
   * is no GO when a GO to compare with existed but could not be read (signoff/last-go.ts).
   */
  baseline?: { runId: string | null; line: string; withheld: string | null };
}

/** A run's place in the ledger of attempts on its commit, as the war room, check run and status show it. */
export interface RecordAttempt extends ApprovalAttempts {
  /** The one-sided alpha its PASS bound was judged at. */
  alpha: number;
  /** Why its ledger cannot be believed (or could not record it): then no GO, whatever the sign-off. */
  ledgerProblem?: string;
}

export interface SignoffApproval {
  login: string;
  at: string;
  reviewId: number;
  /** The evidence-branch commit the review approved. */
  commitId: string;
}

export interface RunSignoff {
  /** "superseded": a newer run on the same commit replaced this one's evidence. */
  status: "pending" | "complete" | "withdrawn" | "superseded";
  approvals: SignoffApproval[];
  decidedAt?: string;
  supersededBy?: string;
}

/** A phase as the war-room page shows it once it has ended. */
export interface PhaseSummary {
  name: string;
  requests: number;
  rate: number;
  barMs: number;
  ran: boolean;
  sent: number;
  accepted: number;
  errors: number;
  p95Ms: number | null;
  /** NOT_RUN (or, in records kept before it existed, ERROR) when `ran` is false. */
  verdict: PhaseVerdict;
  reason: string;
}

/** A gate file as read from the default branch: enough to parse it again, and to name it in evidence. */
export interface PinnedGateFile {
  /** Path in the repository, e.g. gates/gate-a.yaml. */
  path: string;
  /** Its git blob SHA on the default branch. */
  blobSha: string;
  /** The default branch it was read from. */
  ref: string;
  text: string;
}
