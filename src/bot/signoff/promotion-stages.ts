// The war room's promotion after GO (canary-10, then production): the decisions the deployment
// protection rule made for each stage of a commit, kept in Redis, the order and soak rules between
// stages, and the stage table and decision log the war-room comment shows.

import type { Redis } from "ioredis";
import { type Gate, type GuardedEnvironment, formatDuration } from "../../gates/model/index.js";
import type { BotLog } from "../boot/bot-log.js";
import type { RunStateSeal } from "../runs/run-state-seal.js";

/** One decision on one stage (a deployment to an environment) of one commit. */
export interface StageRow {
  /** The environment. */
  stage: string;
  state: "approved" | "rejected";
  at: string;
  /** Who started the deployment. */
  who: string;
  /** Why, in one line: the sign-off, the run and its verdict, or what is missing. */
  basis: string;
  deploymentId: number;
  evidenceUrl?: string;
}

const TTL_SECONDS = 90 * 24 * 3600;

/**
 * Stage decisions per gate and commit, and the lock that keeps two gate runs off one environment. Each
 * decision is sealed like a run record: a forged "canary approved" must not open production.
 */
export class PromotionLedger {
  constructor(
    private readonly redis: Redis,
    /** Key prefix, e.g. "release-gate:bot"; tests use one of their own. */
    private readonly prefix: string,
    private readonly trust: { seal: RunStateSeal; log?: Pick<BotLog, "error"> },
  ) {}

  private key(owner: string, repo: string, gate: string, sha: string) {
    return `${this.prefix}:stages:${owner}/${repo}:${gate}:${sha}`.toLowerCase();
  }
  private lockKey(owner: string, repo: string, gate: string, environment: string) {
    return `${this.prefix}:env-lock:${owner}/${repo}:${gate}:${environment}`.toLowerCase();
  }

  /** The decisions on `sha`, oldest first. */
  async decisions(owner: string, repo: string, gate: string, sha: string): Promise<StageRow[]> {
    const key = this.key(owner, repo, gate, sha);
    const rows: StageRow[] = [];
    for (const stored of await this.redis.lrange(key, 0, -1)) {
      const opened = this.trust.seal.open(key, stored);
      if (opened.ok) rows.push(JSON.parse(opened.text) as StageRow);
      else this.trust.log?.error({ key }, `a stage decision failed its integrity check (${opened.problem}): ignored`);
    }
    return rows;
  }

  async record(owner: string, repo: string, gate: string, sha: string, row: StageRow): Promise<StageRow[]> {
    const key = this.key(owner, repo, gate, sha);
    await this.redis
      .multi()
      .rpush(key, this.trust.seal.seal(key, JSON.stringify(row)))
      .expire(key, TTL_SECONDS)
      .exec();
    return this.decisions(owner, repo, gate, sha);
  }

  /** Takes the environment for a run; returns null when taken, or who holds it. */
  async lock(owner: string, repo: string, gate: string, environment: string, holder: string, ttlMs: number): Promise<string | null> {
    const key = this.lockKey(owner, repo, gate, environment);
    const ok = await this.redis.set(key, holder, "PX", ttlMs, "NX");
    return ok ? null : ((await this.redis.get(key)) ?? "an earlier run");
  }

  async unlock(owner: string, repo: string, gate: string, environment: string, holder: string): Promise<void> {
    const key = this.lockKey(owner, repo, gate, environment);
    // Only the holder's own lock: one that expired and was taken by another run stays theirs.
    if ((await this.redis.get(key)) === holder) await this.redis.del(key);
  }
}

/**
 * Whether `environment` may be decided now for a commit, as a promotion stage: the stage before it
 * must have approved the same commit, and its soak must have passed since. Null when it may.
 */
export function stageProblem(gate: Gate, environment: GuardedEnvironment, decisions: StageRow[], sha: string, now: Date): string | null {
  const stages = gate.promotion ?? [];
  const index = stages.indexOf(environment.name);
  if (index <= 0) return null;
  const previous = stages[index - 1]!;
  const approved = decisions.filter((d) => d.stage === previous && d.state === "approved").at(-1);
  if (!approved) {
    return (
      `${environment.name} comes after ${previous} in the promotion (${stages.join(" → ")}), and ${previous} has not approved ${sha.slice(0, 7)}: ` +
      `deploy ${sha.slice(0, 7)} to ${previous} first`
    );
  }
  const soak = environment.soakMs ?? 0;
  const from = Date.parse(approved.at) + soak;
  if (now.getTime() < from) {
    return (
      `${previous} approved ${sha.slice(0, 7)} at ${clock(approved.at)} and ${environment.name} soaks ${formatDuration(soak)} after it: ` +
      `re-run this deployment from ${clock(new Date(from).toISOString())}`
    );
  }
  return null;
}

function clock(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const STATE_WORDS: Record<StageRow["state"] | "waiting", string> = {
  approved: "✅ approved",
  rejected: "❌ rejected",
  waiting: "⏳ not yet",
};

/**
 * The stage table (stage, state, when, who: the latest decision of each stage, in promotion order) and
 * the decision log (one line per decision), as Markdown for the war-room comment.
 */
export function renderStages(gate: Gate, rows: StageRow[]): string {
  const order = [...(gate.promotion ?? []), ...rows.map((r) => r.stage)].filter((s, i, all) => all.indexOf(s) === i);
  const table = order.map((stage) => {
    const latest = rows.filter((r) => r.stage === stage).at(-1);
    const requires = gate.environments?.find((e) => e.name === stage)?.requires ?? "?";
    return latest
      ? `| ${stage} | ${requires} | ${STATE_WORDS[latest.state]} | ${clock(latest.at)} | @${latest.who} |`
      : `| ${stage} | ${requires} | ${STATE_WORDS.waiting} | | |`;
  });
  const log = rows.map((r) => {
    const evidence = r.evidenceUrl ? ` ([evidence](${r.evidenceUrl}))` : "";
    return `- ${clock(r.at)} **${r.stage}** ${r.state.toUpperCase()} (deployment ${r.deploymentId} by @${r.who}): ${r.basis}${evidence}`;
  });
  return [
    "#### Promotion",
    "",
    "| stage | requires | state | when | who |",
    "|---|---|---|---|---|",
    ...table,
    "",
    "Decision log:",
    "",
    ...log,
  ].join("\n");
}
