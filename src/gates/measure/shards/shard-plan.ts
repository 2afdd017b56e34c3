// What the coordinator puts on a shard's job, and what the runner returns: plans and results only,
// never a request. The runner rebuilds its events from the corpus spec (phase-corpus.ts).

import type { CorpusSpec } from "../../model/index.js";
import type { ShardSummary } from "./shard-summary.js";

export const SHARD_QUEUE = "replay-shards";
export const MERGE_QUEUE = "replay-merge";

/** A shard's raw samples travel back only up to this many requests per shard; above it, the histograms alone. */
export const DEFAULT_RAW_SAMPLE_CAP = 250_000;

export interface ShardPlan {
  runId: string;
  phase: { name: string; requests: number; rate: number };
  corpus: CorpusSpec;
  /** The gate file's path: a recorded corpus is read relative to it, on the runner's machine. */
  gateFile: string;
  runTag?: string;
  url: string;
  /** The service's credentials: the coordination Redis must be as private as the runners (docs/distributed-runners.md). */
  credentials: { bearerKey?: string; signingSecret?: string; githubSecret?: string };
  shard: number;
  shards: number;
  /** t0 on the coordination clock (Redis TIME, ms since the epoch): request i is due at t0 + i/rate. */
  t0Ms: number;
  /**
   * A flow of one shard in the coordinator's own process: no other runner to agree a t0 with, so the
   * shard starts as soon as it is ready and its start is t0 (t0Ms and leadMs are then only the plan's time).
   */
  startWhenReady?: boolean;
  /** How long before t0 the plan was made: a runner not ready by t0 is late and refuses. */
  leadMs: number;
  /** Per request, ms. */
  timeoutMs: number;
  /** The largest clock uncertainty a runner may drive with, ms. */
  clockBoundMs: number;
  rawSampleCap: number;
  /** The most errors the whole phase can take and still pass (verdict.ts phaseErrorLimit); a shard past it stops sending. Absent: no limit. */
  errorLimit?: number;
}

/** A shard's job result. `raw` is absent when the shard had more requests than the plan's cap. */
export interface ShardOutcome {
  summary: ShardSummary;
  raw: string | null;
}
