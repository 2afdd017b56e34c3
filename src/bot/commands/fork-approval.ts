// A maintainer's `/gate-a approve-run` on a pull request from a fork: code from a fork is built and run
// by the gate only for the head commit a maintainer approved. A push after the approval needs a new one.
// An approval is sealed like a run record: one written into Redis by anyone else lets no fork run.

import type { Redis } from "ioredis";
import type { RunStateSeal } from "../runs/run-state-seal.js";

const APPROVAL_TTL_SECONDS = 30 * 24 * 3600;

export class ForkApprovals {
  constructor(
    private readonly redis: Redis,
    /** The bot's key prefix (RELEASE_GATE_PREFIX). */
    private readonly prefix: string,
    private readonly seal: RunStateSeal,
  ) {}

  private key(owner: string, repo: string, pull: number, sha: string): string {
    return `${this.prefix}:bot:fork-approval:${owner}/${repo}#${pull}@${sha}`.toLowerCase();
  }

  async approve(owner: string, repo: string, pull: number, sha: string, by: string): Promise<void> {
    const key = this.key(owner, repo, pull, sha);
    await this.redis.set(key, this.seal.seal(key, JSON.stringify({ by, at: new Date().toISOString() })), "EX", APPROVAL_TTL_SECONDS);
  }

  /** Who approved runs of this exact head commit, or null. */
  async approvedBy(owner: string, repo: string, pull: number, sha: string): Promise<string | null> {
    const key = this.key(owner, repo, pull, sha);
    const raw = await this.redis.get(key);
    const opened = raw === null ? null : this.seal.open(key, raw);
    return opened?.ok ? (JSON.parse(opened.text) as { by: string }).by : null;
  }
}
