// The bot's record of runs, in Redis: each run (who asked, which commit, where its comment and check run
// are, how it ended), the one-run-at-a-time slot per gate and repository (the active run and at most one
// waiting), and the runs of each PR (for status and stale marking). Shared by the app and every runner.

import type { Redis } from "ioredis";
import type { Decision, TimelineEntry, Verdict, WarRoomUpdate } from "../gates/gate-run.js";
import type { PreflightResult } from "../gates/preflight.js";
import type { CapacityResult } from "../gates/capacity-probe.js";
import type { PinnedGateFile } from "./repository-gates.js";
import type { StageRow } from "./promotion-stages.js";

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
  verdict: Verdict;
  reason: string;
}

export type ClaimOutcome =
  | { outcome: "start" }
  | { outcome: "queued"; holder: RunRecord; replaced: RunRecord | null }
  | { outcome: "refused"; holder: RunRecord; reason: string };

export interface Slot {
  active: RunRecord | null;
  waiting: RunRecord | null;
}

const RECORD_TTL_SECONDS = 90 * 24 * 3600;

export function isTerminal(r: RunRecord): boolean {
  return r.phase === "finished" || r.phase === "cancelled" || r.phase === "lost";
}

export class RunState {
  /** WATCH is per connection: sections on this connection take turns, other processes are caught by WATCH. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    /** Key prefix, e.g. "release-gate"; tests use one of their own. */
    private readonly prefix: string,
  ) {}

  private runKey(id: string) {
    return `${this.prefix}:run:${id}`;
  }
  private slotKey(owner: string, repo: string, gate: string) {
    return `${this.prefix}:slot:${owner}/${repo}:${gate}`.toLowerCase();
  }
  /** Every run, by request time: the war-room list page. */
  private indexKey() {
    return `${this.prefix}:runs`;
  }
  private pullKey(owner: string, repo: string, pull: number) {
    return `${this.prefix}:pull:${owner}/${repo}#${pull}`.toLowerCase();
  }
  private commitKey(owner: string, repo: string, gate: string, sha: string) {
    return `${this.prefix}:commit:${owner}/${repo}:${gate}@${sha}`.toLowerCase();
  }

  private exclusive<T>(section: () => Promise<T>): Promise<T> {
    const result = this.turn.then(section, section);
    this.turn = result.catch(() => undefined);
    return result;
  }

  async get(id: string): Promise<RunRecord | null> {
    const raw = await this.redis.get(this.runKey(id));
    return raw ? (JSON.parse(raw) as RunRecord) : null;
  }

  /** Read-modify-write of one record, retried when another process wrote it in between. */
  async update(id: string, change: (r: RunRecord) => Partial<RunRecord> | null): Promise<RunRecord | null> {
    return this.exclusive(async () => {
      const key = this.runKey(id);
      for (let attempt = 0; attempt < 50; attempt++) {
        await this.redis.watch(key);
        const raw = await this.redis.get(key);
        if (!raw) {
          await this.redis.unwatch();
          return null;
        }
        const current = JSON.parse(raw) as RunRecord;
        const patch = change(current);
        if (!patch) {
          await this.redis.unwatch();
          return current;
        }
        const next = { ...current, ...patch };
        const done = await this.redis.multi().set(key, JSON.stringify(next), "EX", RECORD_TTL_SECONDS).exec();
        if (done) return next;
      }
      throw new Error(`run ${id}: too many concurrent updates to ${key}`);
    });
  }

  async slot(owner: string, repo: string, gate: string): Promise<Slot> {
    const ids = await this.redis.hmget(this.slotKey(owner, repo, gate), "active", "waiting");
    const [active, waiting] = await Promise.all(ids.map((id) => (id ? this.get(id) : null)));
    return { active, waiting };
  }

  /**
   * Records a requested run and takes the gate's slot for it: it starts when the slot is free, waits
   * when a run holds it (replacing an earlier waiting run), and is refused when the same command on the
   * same commit is already running or waiting.
   */
  async claim(record: RunRecord): Promise<ClaimOutcome> {
    return this.exclusive(async () => {
      const slotKey = this.slotKey(record.owner, record.repo, record.gate);
      for (let attempt = 0; attempt < 50; attempt++) {
        await this.redis.watch(slotKey);
        const [activeId, waitingId] = await this.redis.hmget(slotKey, "active", "waiting");
        let active = activeId ? await this.get(activeId) : null;
        // A record that ended (or expired) without releasing the slot does not hold it.
        if (active && isTerminal(active)) active = null;
        const waiting = waitingId ? await this.get(waitingId) : null;
        const same = (r: RunRecord | null) =>
          r !== null && r.pullNumber === record.pullNumber && r.headSha === record.headSha && r.scope === record.scope;
        const tx = this.redis.multi();
        let outcome: ClaimOutcome;
        if (!active) {
          tx.hset(slotKey, "active", record.id);
          if (waiting) tx.hdel(slotKey, "waiting");
          outcome = { outcome: "start" };
        } else if (same(active) || same(waiting)) {
          await this.redis.unwatch();
          const holder = same(active) ? active : waiting!;
          return {
            outcome: "refused",
            holder: active,
            reason: `the same command on the same commit is already ${holder === active ? "running" : "waiting"} (run \`${holder.id}\`, requested by @${holder.requestedBy})`,
          };
        } else {
          tx.hset(slotKey, "waiting", record.id);
          if (waiting) {
            tx.set(
              this.runKey(waiting.id),
              JSON.stringify({
                ...waiting,
                phase: "cancelled",
                cancelledBecause: `replaced by @${record.requestedBy}'s \`${record.label}\``,
              }),
              "EX",
              RECORD_TTL_SECONDS,
            );
          }
          outcome = { outcome: "queued", holder: active, replaced: waiting };
        }
        tx.set(this.runKey(record.id), JSON.stringify(record), "EX", RECORD_TTL_SECONDS);
        tx.zadd(this.pullKey(record.owner, record.repo, record.pullNumber), Date.now(), record.id);
        tx.expire(this.pullKey(record.owner, record.repo, record.pullNumber), RECORD_TTL_SECONDS);
        const commitKey = this.commitKey(record.owner, record.repo, record.gate, record.headSha);
        tx.zadd(commitKey, Date.now(), record.id).expire(commitKey, RECORD_TTL_SECONDS);
        tx.zadd(this.indexKey(), Date.now(), record.id);
        if (await tx.exec()) return outcome;
      }
      throw new Error(`too many concurrent commands for ${record.gate} on ${record.owner}/${record.repo}`);
    });
  }

  /**
   * Frees the slot held by `runId` and hands it to the waiting run, if any, which the caller must then
   * dispatch. Returns that run, or null. A run that does not hold the slot changes nothing.
   */
  async release(record: RunRecord): Promise<RunRecord | null> {
    return this.exclusive(async () => {
      const slotKey = this.slotKey(record.owner, record.repo, record.gate);
      for (let attempt = 0; attempt < 50; attempt++) {
        await this.redis.watch(slotKey);
        const [activeId, waitingId] = await this.redis.hmget(slotKey, "active", "waiting");
        if (activeId !== record.id) {
          await this.redis.unwatch();
          return null;
        }
        const waiting = waitingId ? await this.get(waitingId) : null;
        const next = waiting && waiting.phase === "queued" ? waiting : null;
        const tx = this.redis.multi().hdel(slotKey, "waiting");
        if (next) tx.hset(slotKey, "active", next.id);
        else tx.hdel(slotKey, "active");
        if (await tx.exec()) return next;
      }
      throw new Error(`too many concurrent releases of ${slotKey}`);
    });
  }

  /** Drops the waiting run (abort with nothing running). Returns it, or null when none waited. */
  async dropWaiting(owner: string, repo: string, gate: string, because: string): Promise<RunRecord | null> {
    return this.exclusive(async () => {
      const slotKey = this.slotKey(owner, repo, gate);
      for (let attempt = 0; attempt < 50; attempt++) {
        await this.redis.watch(slotKey);
        const waitingId = await this.redis.hget(slotKey, "waiting");
        const waiting = waitingId ? await this.get(waitingId) : null;
        if (!waiting) {
          await this.redis.unwatch();
          return null;
        }
        const dropped: RunRecord = { ...waiting, phase: "cancelled", cancelledBecause: because };
        const tx = this.redis
          .multi()
          .hdel(slotKey, "waiting")
          .set(this.runKey(waiting.id), JSON.stringify(dropped), "EX", RECORD_TTL_SECONDS);
        if (await tx.exec()) return dropped;
      }
      throw new Error(`too many concurrent changes to ${slotKey}`);
    });
  }

  /** The latest runs, newest first (records that expired are left out and their ids dropped). */
  async recentRuns(limit = 200): Promise<RunRecord[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, limit - 1);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    const gone = ids.filter((_, i) => records[i] === null);
    if (gone.length) await this.redis.zrem(this.indexKey(), ...gone);
    return records.filter((r): r is RunRecord => r !== null);
  }

  /** Runs requested on a PR, oldest first. */
  async runsForPull(owner: string, repo: string, pull: number): Promise<RunRecord[]> {
    const ids = await this.redis.zrange(this.pullKey(owner, repo, pull), "0", "-1");
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((r): r is RunRecord => r !== null);
  }

  /** Runs of `gate` requested for commit `sha`, newest first (what a promotion decision is read from). */
  async runsForCommit(owner: string, repo: string, gate: string, sha: string): Promise<RunRecord[]> {
    const ids = await this.redis.zrevrange(this.commitKey(owner, repo, gate, sha), 0, -1);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((r): r is RunRecord => r !== null);
  }

  private signoffKey(owner: string, repo: string, branch: string) {
    return `${this.prefix}:signoff:${owner}/${repo}:${branch}`.toLowerCase();
  }

  /** Remembers that the bot's sign-off commit `sha` sits on `parent` and changed only the sign-off records. */
  async recordSignoffCommit(owner: string, repo: string, branch: string, sha: string, parent: string): Promise<void> {
    const key = this.signoffKey(owner, repo, branch);
    await this.redis.multi().hset(key, sha, parent).expire(key, RECORD_TTL_SECONDS).exec();
  }

  /**
   * The commits whose review still counts when `head` is the branch head: head itself, and the commits
   * under a chain of the bot's own sign-off commits (which change the sign-off records, not the evidence).
   */
  async reviewableCommits(owner: string, repo: string, branch: string, head: string): Promise<string[]> {
    const parents = await this.redis.hgetall(this.signoffKey(owner, repo, branch));
    const out = [head];
    for (let sha = head; parents[sha] && !out.includes(parents[sha]); sha = parents[sha]) out.push(parents[sha]);
    return out;
  }

  /** True the first time `what` is asked within `seconds`, false after (a rate limit shared by every bot process). */
  async firstWithin(what: string, seconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:once:${what}`.toLowerCase(), "1", "EX", seconds, "NX")) === "OK";
  }

  /** Removes every key under this prefix (tests). */
  async clear(): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", `${this.prefix}:*`, "COUNT", "500");
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
}
