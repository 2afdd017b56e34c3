// The words a gate file is written in: which keys each mapping takes, and the defaults it falls back on.

export const TOP_KEYS = {
  required: ["gate", "title", "application", "dri", "target", "objectives", "phases", "corpus", "evidence"],
  optional: [
    "status_owner",
    "signoff",
    "commands",
    "schedule",
    "partial_runs",
    "environments",
    "promotion",
    "merge_queue",
    "updates",
    "deadline",
    "escalation",
    "preflight",
    "capacity",
    "attempts",
    "replay",
    "env",
    "baseline",
  ],
} as const;

export const ENVIRONMENT_KEYS = { required: ["requires"], optional: ["target", "credentials", "phase", "soak"] } as const;
export const BUNDLED_KEYS = {
  required: ["redis_url", "database_url"],
  optional: ["mode", "workers", "batch_size", "batch_linger", "source", "build", "source_limits"],
} as const;
export const SOURCE_LIMIT_KEYS = { required: [], optional: ["archive", "unpacked", "files"] } as const;
export const DEPLOYED_KEYS = { required: ["url", "database_url"], optional: ["schema"] } as const;
export const PHASE_KEYS = { required: ["name", "requests", "rate", "latency_p95"], optional: ["aliases", "drain_timeout"] } as const;
export const REPLAY_KEYS = { required: ["runners"], optional: ["lead", "clock_bound"] } as const;
export const CORPUS_KEYS = { required: [], optional: ["seed", "ordering_keys", "redelivery_share", "file"] } as const;
/** Where evidence PRs go when the gate file names no branch: never the default branch, so approving evidence merges no code. */
export const DEFAULT_EVIDENCE_BASE = "release-gate/evidence";
export const SIGNOFF_KEYS = {
  required: [],
  optional: ["approvals", "approvers", "permission", "allow_self", "evidence_base", "unlinked_identities"],
} as const;
export const COMMAND_KEYS = { required: [], optional: ["prefix", "permission", "allow_forks"] } as const;
export const PREFLIGHT_KEYS = { required: [], optional: ["redis", "postgres", "secrets", "service_ready"] } as const;
export const PREFLIGHT_REDIS_KEYS = { required: [], optional: ["url", "maxmemory_policy", "aof", "free_memory"] } as const;
export const PREFLIGHT_POSTGRES_KEYS = { required: [], optional: ["max_connections", "pool_size"] } as const;

export const PERMISSIONS = ["admin", "write", "read"] as const;
/** What an author, committer or co-author not linked to a GitHub account does to an approval. */
export const UNLINKED_IDENTITIES = ["refuse", "allow"] as const;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
