// What a commit's build reports, to the evidence bundle and to the run when it fails.

import type { CacheDecision } from "./build-cache.js";

/** What ran, for the evidence bundle: enough to rebuild and to check the same bytes were built. */
export interface ServiceSourceEvidence {
  commit: string;
  /** `owner/repo` the commit is of: part of the build cache's key. */
  repository: string;
  /** SHA-256 of the archive as downloaded. */
  tarballSha256: string;
  /** The git tree SHA-1 of the unpacked files, computed here (not taken from anyone's word). */
  treeSha: string;
  /** SHA-256 of package-lock.json, or null when the tree has none. */
  lockfileSha256: string | null;
  buildCommand: string;
  /** Who built it (the builder's version, e.g. "host/1 node v20.20.2"): part of the cache key. */
  builder: string;
  /** Null when the build was killed (timeout, abort) or never started. */
  exitCode: number | null;
  durationMs: number;
  builtAt: string;
  /** True when this run reused a cached build (cache.decision "hit"). */
  cached: boolean;
  /** What the build cache did: hit, miss, or an entry rejected (and why) and the tree rebuilt. */
  cache: CacheDecision;
  /** The build's output (stdout and stderr together); redacted when written to the evidence. */
  log: string;
  /** Set when the service could not be built: the step and what went wrong. */
  failure?: { step: "unpack" | "build"; message: string };
}

export class ServiceSourceError extends Error {
  constructor(
    readonly code:
      | "archive_unavailable"
      | "archive_too_large"
      | "archive_invalid"
      | "build_failed"
      | "build_output_missing"
      | "build_timeout"
      | "build_aborted",
    readonly step: "fetch" | "unpack" | "build",
    message: string,
    readonly exitCode: number | null,
    readonly logTail: string[],
    readonly evidence: ServiceSourceEvidence | null,
  ) {
    super(message);
  }
}
