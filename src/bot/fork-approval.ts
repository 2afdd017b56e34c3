// A maintainer's `/gate-a approve-run` on a pull request from a fork: code from a fork is built and run
// by the gate only for the head commit a maintainer approved. A push after the approval needs a new one.

import type { Redis } from "ioredis";

const APPROVAL_TTL_SECONDS = 30 * 24 * 3600;

export class ForkApprovals {
  constructor(
    private readonly redis: Redis,
    /** The bot's key prefix (RELEASE_GATE_PREFIX). */
    private readonly prefix: string,
  ) {}

  private key(owner: string, repo: string, pull: number, sha: string): string {
    return `${this.prefix}:bot:fork-approval:${owner}/${repo}#${pull}@${sha}`.toLowerCase();
  }

  async approve(owner: string, repo: string, pull: number, sha: string, by: string): Promise<void> {
    await this.redis.set(
      this.key(owner, repo, pull, sha),
      JSON.stringify({ by, at: new Date().toISOString() }),
      "EX",
      APPROVAL_TTL_SECONDS,
    );
  }

  /** Who approved runs of this exact head commit, or null. */
  async approvedBy(owner: string, repo: string, pull: number, sha: string): Promise<string | null> {
    const raw = await this.redis.get(this.key(owner, repo, pull, sha));
    return raw ? (JSON.parse(raw) as { by: string }).by : null;
  }
}
