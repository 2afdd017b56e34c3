// The door to building the service under test from a commit's source archive (see prepare-service.ts).

export { BuildCache, CACHE_ENTRIES, CACHE_MAX_AGE_MS, cacheKey, type BuildKey, type CacheDecision } from "./build-cache.js";
export { hostBuilder, type Builder, type BuildOutcome, type BuildRun } from "./builder.js";
export {
  DEFAULT_BUILD_COMMAND,
  isolatedEnv,
  LOG_TAIL_LINES,
  logTail,
  prepareService,
  TREE_CLI,
  type BuiltService,
  type ServiceSourceOptions,
} from "./prepare-service.js";
export { ServiceSourceError, type ServiceSourceEvidence } from "./source-evidence.js";
export { gitTreeSha, treeDigest, type TreeDigest } from "./tree-digest.js";
