// The bot's record of runs, in Redis: each run (who asked, which commit, where its comment and check run
// are, how it ended), the one-run-at-a-time slot per gate and repository (the active run and at most one
// waiting), and the runs of each PR (for status and stale marking). Shared by the app and every runner.
// Every record and sign-off link is sealed (run-state-seal.ts) and checked on every read: a value the bot
// did not write under that key is reported and treated as lost, never believed.

import type { KeyObject } from "node:crypto";
import type { Redis } from "ioredis";
import type { BotLog } from "../boot/bot-log.js";
import type { RunStateSeal } from "./run-state-seal.js";
import type { RunRecord } from "./run-record.js";

export type { PhaseSummary, RunPhase, RunRecord, RunSignoff, SignoffApproval } from "./run-record.js";

export type ClaimOutcome =
  | { outcome: "start" }
  | { outcome: "queued"; holder: RunRecord; replaced: RunRecord | null }
  | { outcome: "refused"; holder: RunRecord; reason: string };

export interface Slot {
  active: RunRecord | null;
  waiting: RunRecord | null;
}

const RECORD_TTL_SECONDS = 90 * 24 * 3600;

function sameRepo(r: RunRecord, owner: string, repo: string): boolean {
  return r.owner.toLowerCase() === owner.toLowerCase() && r.repo.toLowerCase() === repo.toLowerCase();
}

export function isTerminal(r: RunRecord): boolean {
  return r.phase === "finished" || r.phase === "cancelled" || r.phase === "lost";
}

/** What makes the store trustworthy: the seal on its values, and the key the sign-off chain is signed with. */
export interface RunTrust {
  seal: RunStateSeal;
  /** The bot's evidence signing key (EVIDENCE_SIGNING_KEY): a GO needs approvals signed with it. */
  approvalKey?: KeyObject;
  /** Where a value that fails its seal is reported (at error level). */
  log?: Pick<BotLog, "error">;
}

/** A run list read from an index, and the ids whose records failed their check there (reported, then ignored). */
export interface CheckedRuns {
  runs: RunRecord[];
  rejected: string[];
}

export class RunState {
  /** WATCH is per connection: sections on this connection take turns, other processes are caught by WATCH. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly seal: RunStateSeal;
  /** The key the signed sign-off entries are verified with (undefined: the bot signs nothing). */
  readonly approvalKey: KeyObject | undefined;
  private readonly log: Pick<BotLog, "error"> | undefined;

  constructor(
    private readonly redis: Redis,
    /** Key prefix, e.g. "release-gate"; tests use one of their own. */
    private readonly prefix: string,
    trust: RunTrust,
  ) {
    this.seal = trust.seal;
    this.approvalKey = trust.approvalKey;
    this.log = trust.log;
  }

  /** A run record sealed under its own key. */
  private sealRecord(record: RunRecord): string {
    return this.seal.seal(this.runKey(record.id), JSON.stringify(record));
  }

  /**
   * The record stored for `id`, or null when there is none or it fails its check: no seal, a wrong one, or
   * a valid record of another run copied under this id. A failure is reported with the id, every time.
   */
  private openRecord(id: string, stored: string | null): RunRecord | null {
    if (stored === null) return null;
    const key = this.runKey(id);
    const opened = this.seal.open(key, stored);
    let problem = opened.ok ? null : opened.problem;
    let record: RunRecord | null = null;
    if (opened.ok) {
      try {
        record = JSON.parse(opened.text) as RunRecord;
        if (record.id !== id) problem = `it is the record of run ${record.id}`;
      } catch {
        problem = "it is not JSON";
      }
    }
    if (problem === null) return record;
    this.reportForgery(id, key, problem);
    return null;
  }

  private reportForgery(id: string, key: string, problem: string): void {
    this.log?.error(
      { runId: id, key },
      `run record ${id} failed its integrity check (${problem}): it is treated as lost; someone other than the bot wrote the bot's Redis`,
    );
  }

  /** The records of `ids` that pass their check and belong where the index says (`belongs`); the others are rejected. */
  private async checkedRuns(ids: string[], belongs: (r: RunRecord) => boolean, index: string): Promise<CheckedRuns> {
    if (!ids.length) return { runs: [], rejected: [] };
    const stored = await this.redis.mget(ids.map((id) => this.runKey(id)));
    const runs: RunRecord[] = [];
    const rejected: string[] = [];
    ids.forEach((id, i) => {
      if (stored[i] === null) return;
      const record = this.openRecord(id, stored[i]!);
      if (record && belongs(record)) runs.push(record);
      else {
        rejected.push(id);
        // A genuine record listed under an index it does not belong to: moved there by someone else.
        if (record) this.reportForgery(id, index, `it is listed under ${index}, which is not its own`);
      }
    });
    return { runs, rejected };
  }

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

  /** The run's record, or null when it is gone or fails its check (then reported). */
  async get(id: string): Promise<RunRecord | null> {
    return this.openRecord(id, await this.redis.get(this.runKey(id)));
  }

  /** Read-modify-write of one record, retried when another process wrote it in between. */
  async update(id: string, change: (r: RunRecord) => Partial<RunRecord> | null): Promise<RunRecord | null> {
    return this.exclusive(async () => {
      const key = this.runKey(id);
      for (let attempt = 0; attempt < 50; attempt++) {
        await this.redis.watch(key);
        // A record failing its check is never rewritten: sealing it would bless the forgery.
        const current = this.openRecord(id, await this.redis.get(key));
        if (!current) {
          await this.redis.unwatch();
          return null;
        }
        const patch = change(current);
        if (!patch) {
          await this.redis.unwatch();
          return current;
        }
        const next = { ...current, ...patch, id };
        const done = await this.redis.multi().set(key, this.sealRecord(next), "EX", RECORD_TTL_SECONDS).exec();
        if (done) return next;
      }
      throw new Error(`run ${id}: too many concurrent updates to ${key}`);
    });
  }

  async slot(owner: string, repo: string, gate: string): Promise<Slot> {
    const ids = await this.redis.hmget(this.slotKey(owner, repo, gate), "active", "waiting");
    const [active, waiting] = await Promise.all(ids.map((id) => (id ? this.slotHolder(id, owner, repo, gate) : null)));
    return { active, waiting };
  }

  /** The record a slot names, only when it is a genuine run of that gate on that repository. */
  private async slotHolder(id: string, owner: string, repo: string, gate: string): Promise<RunRecord | null> {
    const r = await this.get(id);
    return r && sameRepo(r, owner, repo) && r.gate === gate ? r : null;
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
        let active = activeId ? await this.slotHolder(activeId, record.owner, record.repo, record.gate) : null;
        // A record that ended (or expired, or failed its check) without releasing the slot does not hold it.
        if (active && isTerminal(active)) active = null;
        const waiting = waitingId ? await this.slotHolder(waitingId, record.owner, record.repo, record.gate) : null;
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
              this.sealRecord({
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
        tx.set(this.runKey(record.id), this.sealRecord(record), "EX", RECORD_TTL_SECONDS);
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
        const waiting = waitingId ? await this.slotHolder(waitingId, record.owner, record.repo, record.gate) : null;
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
        const waiting = waitingId ? await this.slotHolder(waitingId, owner, repo, gate) : null;
        if (!waiting) {
          await this.redis.unwatch();
          return null;
        }
        const dropped: RunRecord = { ...waiting, phase: "cancelled", cancelledBecause: because };
        const tx = this.redis
          .multi()
          .hdel(slotKey, "waiting")
          .set(this.runKey(waiting.id), this.sealRecord(dropped), "EX", RECORD_TTL_SECONDS);
        if (await tx.exec()) return dropped;
      }
      throw new Error(`too many concurrent changes to ${slotKey}`);
    });
  }

  /** The latest runs, newest first (records that expired are left out and their ids dropped). */
  async recentRuns(limit = 200): Promise<RunRecord[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, limit - 1);
    const { runs } = await this.checkedRuns(ids, () => true, this.indexKey());
    const kept = new Set(runs.map((r) => r.id));
    // Expired records leave the list; ones failing their check too (they were reported as they were read).
    const gone = ids.filter((id) => !kept.has(id));
    if (gone.length) await this.redis.zrem(this.indexKey(), ...gone);
    return runs;
  }

  /** Runs requested on a PR, oldest first. */
  async runsForPull(owner: string, repo: string, pull: number): Promise<RunRecord[]> {
    const key = this.pullKey(owner, repo, pull);
    const ids = await this.redis.zrange(key, "0", "-1");
    return (await this.checkedRuns(ids, (r) => sameRepo(r, owner, repo) && r.pullNumber === pull, key)).runs;
  }

  /** Runs of `gate` requested for commit `sha`, newest first (what a promotion decision is read from). */
  async runsForCommit(owner: string, repo: string, gate: string, sha: string): Promise<RunRecord[]> {
    return (await this.checkedRunsForCommit(owner, repo, gate, sha)).runs;
  }

  /**
   * The same, with the ids whose records failed their check or belong to another repository, gate or
   * commit, so a decision can say that it ignored them.
   */
  async checkedRunsForCommit(owner: string, repo: string, gate: string, sha: string): Promise<CheckedRuns> {
    const key = this.commitKey(owner, repo, gate, sha);
    const ids = await this.redis.zrevrange(key, 0, -1);
    return this.checkedRuns(ids, (r) => sameRepo(r, owner, repo) && r.gate === gate && r.headSha.toLowerCase() === sha.toLowerCase(), key);
  }

  private signoffKey(owner: string, repo: string, branch: string) {
    return `${this.prefix}:signoff:${owner}/${repo}:${branch}`.toLowerCase();
  }

  /** Remembers that the bot's sign-off commit `sha` sits on `parent` and changed only the sign-off records. */
  async recordSignoffCommit(owner: string, repo: string, branch: string, sha: string, parent: string): Promise<void> {
    const key = this.signoffKey(owner, repo, branch);
    await this.redis
      .multi()
      .hset(key, sha, this.seal.seal(`${key}\n${sha}`, parent))
      .expire(key, RECORD_TTL_SECONDS)
      .exec();
  }

  /**
   * The commits whose review still counts when `head` is the branch head: head itself, and the commits
   * under a chain of the bot's own sign-off commits (which change the sign-off records, not the evidence).
   */
  async reviewableCommits(owner: string, repo: string, branch: string, head: string): Promise<string[]> {
    const key = this.signoffKey(owner, repo, branch);
    const parents: Record<string, string> = {};
    // Only links the bot sealed under this branch count: a forged link would make a stranger's commit reviewable.
    for (const [sha, stored] of Object.entries(await this.redis.hgetall(key))) {
      const opened = this.seal.open(`${key}\n${sha}`, stored);
      if (opened.ok) parents[sha] = opened.text;
      else this.log?.error({ key, sha }, `sign-off commit link ${sha} failed its integrity check (${opened.problem}): ignored`);
    }
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
