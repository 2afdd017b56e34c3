// The shards room's one door: a phase split over runners (key hash mod N, one global schedule), the
// summaries shards send back, and their merge into what the verdict reads.

export { shardOfKey, splitSchedule, type ShardPart } from "./shard-split.js";
export {
  bucketOfMs,
  bucketsAtRanks,
  decodeHdr,
  encodeHdr,
  hdrBuckets,
  mergeHdr,
  newHdr,
  recordMs,
  SIGNIFICANT_DIGITS,
  type Bucket,
  type Hdr,
} from "./shard-histogram.js";
export { OUTCOMES, rawSampleDigest, summarizeShard, type ClockReading, type RunnerInfo, type ShardSummary } from "./shard-summary.js";
export {
  driverFreeFromHistograms,
  MergeError,
  mergeShards,
  summarizeHistogram,
  type MergedPhase,
  type MergedWindow,
  type ShardView,
} from "./merge-shards.js";
export {
  CLOCK_SAMPLES,
  DEFAULT_CLOCK_BOUND_MS,
  ownClock,
  readCoordinationClock,
  redisTimeMs,
  type CoordinationClock,
} from "./redis-clock.js";
export { DEFAULT_RAW_SAMPLE_CAP, MERGE_QUEUE, SHARD_QUEUE, type ShardOutcome, type ShardPlan } from "./shard-plan.js";
export { driveShard, ShardRefusal, type ShardDriving } from "./drive-shard.js";
export { ReplayRunner, SHARD_LOCK_MS, type ReplayRunnerOptions } from "./replay-runner.js";
export {
  DEFAULT_LEAD_MS,
  localLeadMs,
  ShardCoordinator,
  ShardFlowError,
  type PhasePlan,
  type ShardCoordinatorOptions,
} from "./shard-coordinator.js";
export { joinShards, type JoinedReplay } from "./sharded-replay.js";
export { startLocalRunners, type LocalRunners, type LocalRunnerOptions } from "./local-runners.js";
export { driveLocalPhase, driveShardedPhase, type ShardedDriving } from "./drive-sharded-phase.js";
