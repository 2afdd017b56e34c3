// The bot's ledger of attempts, in Redis beside the run records: one list per repository, gate and commit,
// each line a signed, chained attempt entry (src/gates/evidence/attempt-ledger.ts) stored under the run-state
// seal (HMAC over the key, the line's index and its text), with a sealed head (count and last digest) so
// that entries dropped from the end are noticed too. Read back checked, every time: a ledger that fails
// is reported and refuses both new attempts and a GO (fail closed), never repaired by a new write.

import type { KeyObject } from "node:crypto";
import type { Redis } from "ioredis";
import { attemptLine, checkAttemptLedger, ledgerHead, type LedgerSubject } from "../../gates/evidence/index.js";
import type { AttemptEntry } from "../../gates/model/index.js";
import type { BotLog } from "../boot/bot-log.js";
import type { RunStateSeal } from "./run-state-seal.js";

const LEDGER_TTL_SECONDS = 90 * 24 * 3600;

export interface LedgerRead {
  lines: string[];
  entries: AttemptEntry[];
  /** Why the ledger cannot be believed (forged, edited, reordered or cut), or null. */
  problem: string | null;
}

/** What a new entry says; its number, subject and link are the ledger's. */
export type NewAttempt = Pick<AttemptEntry, "run" | "verdict" | "full" | "alpha" | "origin" | "at">;

export class AttemptStore {
  /** WATCH is per connection: appends on this one take turns. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    /** A connection of its own (WATCH sections must not interleave with run-state's). */
    private readonly redis: Redis,
    /** The bot's state prefix (RunState's). */
    private readonly prefix: string,
    private readonly seal: RunStateSeal,
    /** The bot's evidence signing key: entries are signed with it and checked against it. */
    private readonly key: KeyObject | undefined,
    private readonly log?: Pick<BotLog, "error">,
  ) {}

  private listKey(s: LedgerSubject): string {
    return `${this.prefix}:attempts:${s.repository}:${s.gate}@${s.commit}`.toLowerCase();
  }

  private exclusive<T>(section: () => Promise<T>): Promise<T> {
    const result = this.turn.then(section, section);
    this.turn = result.catch(() => undefined);
    return result;
  }

  /** The commit's ledger, checked: each line's seal, the chain, every signature, and the sealed head. */
  async read(s: LedgerSubject): Promise<LedgerRead> {
    const key = this.listKey(s);
    const [stored, head] = await Promise.all([this.redis.lrange(key, 0, -1), this.redis.get(`${key}:head`)]);
    const lines: string[] = [];
    for (const [i, value] of stored.entries()) {
      const opened = this.seal.open(`${key}\n${i}`, value);
      if (!opened.ok) return this.broken(s, key, lines, `attempt ${i + 1} failed its integrity check (${opened.problem})`);
      lines.push(opened.text);
    }
    const check = checkAttemptLedger(lines, s, { key: this.key });
    if (check.problem) return this.broken(s, key, lines, check.problem);
    const expected = lines.length ? `${lines.length}\n${ledgerHead(s, lines)}` : null;
    const openedHead = head === null ? null : this.seal.open(`${key}:head`, head);
    const recorded = openedHead === null ? null : openedHead.ok ? openedHead.text : "forged";
    if (recorded !== expected)
      return this.broken(
        s,
        key,
        lines,
        recorded === null
          ? "its head record is missing while entries remain (the head was deleted)"
          : recorded === "forged"
            ? "its head record failed its integrity check"
            : `its head record says ${recorded.split("\n")[0]} attempt(s) ending in ${recorded.split("\n")[1]?.slice(0, 12)}…, but ${lines.length} remain: entries were removed`,
      );
    return { lines, entries: check.entries, problem: null };
  }

  private broken(s: LedgerSubject, key: string, lines: string[], problem: string): LedgerRead {
    const why = `the attempt ledger of ${s.gate} on ${s.repository}@${s.commit.slice(0, 7)} cannot be believed: ${problem}`;
    this.log?.error({ key }, `${why}; someone other than the bot wrote the bot's Redis`);
    return { lines, entries: [], problem: why };
  }

  /**
   * Appends the run's attempt, once: a run already in the ledger (a retried report, a redelivered event)
   * adds nothing. A ledger that fails its check is not written to; its problem is returned instead.
   */
  async append(s: LedgerSubject, attempt: NewAttempt): Promise<LedgerRead> {
    return this.exclusive(async () => {
      const key = this.listKey(s);
      for (let i = 0; i < 50; i++) {
        await this.redis.watch(key, `${key}:head`);
        const current = await this.read(s);
        if (current.problem || current.entries.some((e) => e.run === attempt.run)) {
          await this.redis.unwatch();
          return current;
        }
        const entry: AttemptEntry = {
          repository: s.repository,
          gate: s.gate,
          commit: s.commit,
          attempt: current.lines.length + 1,
          ...attempt,
          previous: ledgerHead(s, current.lines),
        };
        const line = attemptLine(entry, this.key);
        const lines = [...current.lines, line];
        const done = await this.redis
          .multi()
          .rpush(key, this.seal.seal(`${key}\n${current.lines.length}`, line))
          .set(`${key}:head`, this.seal.seal(`${key}:head`, `${lines.length}\n${ledgerHead(s, lines)}`))
          .expire(key, LEDGER_TTL_SECONDS)
          .expire(`${key}:head`, LEDGER_TTL_SECONDS)
          .exec();
        if (done) return { lines, entries: [...current.entries, entry], problem: null };
      }
      throw new Error(`too many concurrent appends to ${key}`);
    });
  }
}
