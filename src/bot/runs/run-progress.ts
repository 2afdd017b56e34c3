// Live progress of a running phase, in Redis: the runner writes it (at most once a second) and the web
// server's war-room pages read it, so a page shows the replay filling in while it runs, from any
// process. A short history of the running P95 and send rate feeds the page's chart.

import type { Redis } from "ioredis";
import type { ReplayProgress } from "../../gates/measure/index.js";

export interface ProgressPoint {
  /** Seconds since the phase started. */
  t: number;
  p95Ms: number | null;
  rate: number;
}

export interface PhaseProgress {
  phase: string;
  /** The phase's P95 bar, ms. */
  barMs: number;
  rate: number;
  total: number;
  sent: number;
  accepted: number;
  duplicates: number;
  errors: number;
  p95Ms: number | null;
  currentRate: number;
  elapsedMs: number;
  at: string;
  history: ProgressPoint[];
}

/** Points kept per phase: a chart of a long phase is thinned, not cut. */
export const HISTORY_POINTS = 240;
const TTL_SECONDS = 7 * 24 * 3600;

export class RunProgress {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(runId: string) {
    return `${this.prefix}:progress:${runId}`;
  }

  /** The progress of every phase of a run so far, by phase name. */
  async get(runId: string): Promise<Record<string, PhaseProgress>> {
    const raw = await this.redis.hgetall(this.key(runId));
    const out: Record<string, PhaseProgress> = {};
    for (const [phase, json] of Object.entries(raw)) out[phase] = JSON.parse(json) as PhaseProgress;
    return out;
  }

  async write(runId: string, p: PhaseProgress): Promise<void> {
    await this.redis.multi().hset(this.key(runId), p.phase, JSON.stringify(p)).expire(this.key(runId), TTL_SECONDS).exec();
  }
}

/** Keeps one phase's progress and history in memory; `next` gives what to write. Pure apart from the clock. */
export class PhaseProgressTracker {
  private history: ProgressPoint[] = [];

  constructor(private readonly phase: { name: string; latencyP95Ms: number; rate: number }) {}

  next(p: ReplayProgress, now = new Date()): PhaseProgress {
    this.history.push({ t: Math.round(p.elapsedMs / 100) / 10, p95Ms: p.p95Ms, rate: Math.round(p.currentRate) });
    // Thin to every other point when full: the whole phase stays on the chart at half the resolution.
    if (this.history.length > HISTORY_POINTS) this.history = this.history.filter((_, i) => i % 2 === 0 || i === this.history.length - 1);
    return {
      phase: this.phase.name,
      barMs: this.phase.latencyP95Ms,
      rate: this.phase.rate,
      total: p.total,
      sent: p.sent,
      accepted: p.accepted,
      duplicates: p.duplicates,
      errors: p.errors,
      p95Ms: p.p95Ms,
      currentRate: Math.round(p.currentRate),
      elapsedMs: Math.round(p.elapsedMs),
      at: now.toISOString(),
      history: [...this.history],
    };
  }
}
