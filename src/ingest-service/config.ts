// Settings of `gate ingest serve` and `gate ingest worker`: read once from flags and environment
// into typed options (flags win), so nothing deeper in the service ever looks at process.env.

import { parseArgs } from "node:util";
import { signingSecretProblem } from "../webhook-signatures.js";
import type { AuthSettings } from "./authenticate.js";
import { socketActivation } from "./socket-activation.js";

export type IngestMode = "queue" | "sync";

export interface ConnectionOptions {
  /** Redis key prefix and PostgreSQL schema: runs in different namespaces never meet. */
  namespace: string;
  redisUrl: string;
  databaseUrl: string;
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
  /** Where JSON logs go: a file path, or stdout when absent. */
  logFile?: string;
}

export interface ServerOptions extends ConnectionOptions {
  host: string;
  /** 0 picks a free port (the started server reports it). */
  port: number;
  /** A listening socket handed over by whoever started the service (socket-activation.ts). */
  listenFd?: number;
  mode: IngestMode;
  /** Accept unauthenticated webhooks (only when no scheme is configured). */
  insecure: boolean;
  auth: AuthSettings;
  maxBodyBytes: number;
  idempotencyTtlS: number;
  /** Lower-case header names. */
  orderingKeyHeader: string;
  sequenceHeader: string;
  /** Sequence a new ordering key starts at (sync mode applies order itself). */
  firstSeq: number;
  /** Sync mode's gap sweep (queue mode: the workers'). */
  gapTimeoutMs: number;
  /** A request (headers and body) must arrive within this; silent connections are closed after it. */
  requestTimeoutMs: number;
  /** Each 202 is held back this long, ms: a slower build on purpose, for calibration (0: off, no timer). */
  addedLatencyMs: number;
}

export interface WorkerOptions extends ConnectionOptions {
  batchSize: number;
  /** The shortest wait for a batch to fill (0: never wait); the wait adapts to the arrival rate up to batchLingerMaxMs. */
  batchLingerMs: number;
  batchLingerMaxMs: number;
  gapTimeoutMs: number;
  /** Pending entries idle longer than this are taken over from a worker presumed dead. */
  visibilityTimeoutMs: number;
  firstSeq: number;
  /** Consumer name in the Redis consumer group; unique per process by default. */
  consumer?: string;
  /** Scheduling niceness (0-19): batch work yields the CPU to the accept path on a shared machine. */
  nice: number;
}

export interface ConfigError {
  code: "bad_option" | "bad_value" | "missing_secret" | "bad_secret" | "bad_socket_activation";
  message: string;
}

export type Parsed<T> = { ok: true; options: T } | { ok: false; error: ConfigError } | { ok: "help"; text: string };

export const NAMESPACE_PATTERN = /^[a-z][a-z0-9_]{0,40}$/;

const connectionDefaults: ConnectionOptions = {
  namespace: "ingest",
  redisUrl: "redis://127.0.0.1:6379",
  databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
  logLevel: "info",
};

export function defaultServerOptions(): ServerOptions {
  return {
    ...connectionDefaults,
    host: "127.0.0.1",
    port: 8080,
    mode: "queue",
    insecure: false,
    auth: {},
    maxBodyBytes: 1024 * 1024,
    idempotencyTtlS: 86400,
    orderingKeyHeader: "x-ordering-key",
    sequenceHeader: "x-sequence",
    firstSeq: 1,
    gapTimeoutMs: 2000,
    requestTimeoutMs: 5_000,
    addedLatencyMs: 0,
  };
}

export function defaultWorkerOptions(): WorkerOptions {
  return {
    ...connectionDefaults,
    batchSize: 50,
    batchLingerMs: 5,
    batchLingerMaxMs: 100,
    gapTimeoutMs: 2000,
    visibilityTimeoutMs: 5000,
    firstSeq: 1,
    nice: 10,
  };
}

/** One setting: its flag, its environment variable, and how to read it into the options. */
interface Setting<T> {
  flag: string;
  env?: string;
  help: string;
  /** Flags without a value (--insecure). */
  boolean?: boolean;
  /** What the value is, for --help (default N, a number). */
  arg?: string;
  apply(options: T, value: string, source: string): ConfigError | null;
}

function integer<T>(key: keyof T & string, min: number, max: number) {
  return (options: T, value: string, source: string): ConfigError | null => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      return { code: "bad_value", message: `${source} must be an integer from ${min} to ${max}, got "${value}"` };
    }
    (options as Record<string, unknown>)[key] = n;
    return null;
  };
}

function text<T>(key: keyof T & string, check?: (v: string) => string | null) {
  return (options: T, value: string, source: string): ConfigError | null => {
    const problem = check?.(value);
    if (problem) return { code: "bad_value", message: `${source} ${problem}, got "${value}"` };
    (options as Record<string, unknown>)[key] = value;
    return null;
  };
}

/** "2ms", "1s", "0": whole milliseconds (timers have no finer resolution), at most 10 s. */
function addedLatency(options: ServerOptions, value: string, source: string): ConfigError | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : NaN;
  if (!m || (m[2] === undefined && ms !== 0) || !Number.isInteger(ms) || ms > 10_000) {
    return {
      code: "bad_value",
      message: `${source} must be a delay in whole milliseconds such as 2ms or 1s, at most 10s, or 0 (off), got "${value}"`,
    };
  }
  options.addedLatencyMs = ms;
  return null;
}

const headerName = (v: string) => (/^[a-z0-9!#$%&'*+.^_`|~-]+$/i.test(v) ? null : "must be an HTTP header name");
const url = (schemes: string[]) => (v: string) => {
  try {
    return schemes.includes(new URL(v).protocol) ? null : `must be a ${schemes.join(" or ")}// URL`;
  } catch {
    return "must be a URL";
  }
};
const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function connectionSettings<T extends ConnectionOptions>(): Setting<T>[] {
  return [
    {
      flag: "--namespace",
      arg: "NAME",
      env: "INGEST_NAMESPACE",
      help: "Redis key prefix and PostgreSQL schema (default ingest)",
      apply: text<T>("namespace", (v) => (NAMESPACE_PATTERN.test(v) ? null : "must match ^[a-z][a-z0-9_]{0,40}$")),
    },
    {
      flag: "--redis-url",
      arg: "URL",
      env: "REDIS_URL",
      help: "Redis (default redis://127.0.0.1:6379)",
      apply: text<T>("redisUrl", url(["redis:", "rediss:"])),
    },
    {
      flag: "--database-url",
      arg: "URL",
      env: "DATABASE_URL",
      help: "PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres)",
      apply: text<T>("databaseUrl", url(["postgres:", "postgresql:"])),
    },
    {
      flag: "--log-level",
      arg: "LEVEL",
      env: "LOG_LEVEL",
      help: `one of ${LEVELS.join(", ")} (default info)`,
      apply: text<T>("logLevel", (v) => (LEVELS.includes(v) ? null : `must be one of ${LEVELS.join(", ")}`)),
    },
    {
      flag: "--log-file",
      arg: "FILE",
      env: "INGEST_LOG_FILE",
      help: "write JSON logs to this file (default stdout)",
      apply: text<T>("logFile"),
    },
  ];
}

const serverSettings: Setting<ServerOptions>[] = [
  { flag: "--port", env: "PORT", help: "listen port (default 8080; 0 picks a free one)", apply: integer("port", 0, 65535) },
  { flag: "--host", arg: "ADDRESS", env: "HOST", help: "listen address (default 127.0.0.1)", apply: text("host") },
  {
    flag: "--mode",
    arg: "queue|sync",
    env: "INGEST_MODE",
    help: "queue (202, then Redis and workers; default) or sync (INSERT and COMMIT inside the request)",
    apply: text("mode", (v) => (v === "queue" || v === "sync" ? null : 'must be "queue" or "sync"')),
  },
  {
    flag: "--insecure",
    boolean: true,
    help: "accept webhooks without authentication (only when no secret is set; for local tests)",
    apply: (o) => ((o.insecure = true), null),
  },
  {
    flag: "--max-body-bytes",
    env: "INGEST_MAX_BODY_BYTES",
    help: "largest accepted body (default 1048576)",
    apply: integer("maxBodyBytes", 1, 64 * 1024 * 1024),
  },
  {
    flag: "--request-timeout-ms",
    env: "INGEST_REQUEST_TIMEOUT_MS",
    help: "close senders slower than this to send headers and body (default 5000)",
    apply: integer("requestTimeoutMs", 100, 600_000),
  },
  {
    flag: "--added-latency",
    arg: "DURATION",
    env: "INGEST_ADDED_LATENCY",
    help: "hold each 202 back this long, e.g. 2ms: a slower build on purpose, for calibration (default 0, off)",
    apply: addedLatency,
  },
  {
    flag: "--idempotency-ttl-s",
    env: "INGEST_IDEMPOTENCY_TTL_S",
    help: "how long Redis remembers an idempotency key (default 86400)",
    apply: integer("idempotencyTtlS", 1, 365 * 86400),
  },
  {
    flag: "--ordering-key-header",
    arg: "HEADER",
    env: "INGEST_ORDERING_KEY_HEADER",
    help: "header naming the ordering key (default x-ordering-key)",
    apply: (o, v, s) => text<ServerOptions>("orderingKeyHeader", headerName)(o, v.toLowerCase(), s),
  },
  {
    flag: "--sequence-header",
    arg: "HEADER",
    env: "INGEST_SEQUENCE_HEADER",
    help: "header carrying the sequence number (default x-sequence)",
    apply: (o, v, s) => text<ServerOptions>("sequenceHeader", headerName)(o, v.toLowerCase(), s),
  },
  {
    flag: "--first-seq",
    env: "INGEST_FIRST_SEQ",
    help: "sequence a new ordering key starts at, sync mode (default 1)",
    apply: integer("firstSeq", 0, Number.MAX_SAFE_INTEGER),
  },
  {
    flag: "--gap-timeout-ms",
    env: "INGEST_GAP_TIMEOUT_MS",
    help: "sync mode: wait this long for a missing sequence number (default 2000)",
    apply: integer("gapTimeoutMs", 1, 3_600_000),
  },
  ...connectionSettings<ServerOptions>(),
];

const workerSettings: Setting<WorkerOptions>[] = [
  {
    flag: "--batch-size",
    env: "INGEST_BATCH_SIZE",
    help: "events per transaction, at most (default 50)",
    apply: integer("batchSize", 1, 1000),
  },
  {
    flag: "--batch-linger-ms",
    env: "INGEST_BATCH_LINGER_MS",
    help: "wait at least this long for a batch to fill; 0 never waits (default 5)",
    apply: integer("batchLingerMs", 0, 10_000),
  },
  {
    flag: "--batch-linger-max-ms",
    env: "INGEST_BATCH_LINGER_MAX_MS",
    help: "wait at most this long: the wait grows with the arrival rate up to here (default 100)",
    apply: integer("batchLingerMaxMs", 0, 10_000),
  },
  {
    flag: "--gap-timeout-ms",
    env: "INGEST_GAP_TIMEOUT_MS",
    help: "wait this long for a missing sequence number before skipping it (default 2000)",
    apply: integer("gapTimeoutMs", 1, 3_600_000),
  },
  {
    flag: "--visibility-timeout-ms",
    env: "INGEST_VISIBILITY_TIMEOUT_MS",
    help: "take over events another worker has held this long (default 5000)",
    apply: integer("visibilityTimeoutMs", 100, 3_600_000),
  },
  {
    flag: "--first-seq",
    env: "INGEST_FIRST_SEQ",
    help: "sequence a new ordering key starts at (default 1)",
    apply: integer("firstSeq", 0, Number.MAX_SAFE_INTEGER),
  },
  {
    flag: "--nice",
    env: "INGEST_WORKER_NICE",
    help: "scheduling niceness 0-19, so batches yield the CPU to the accept path (default 10)",
    apply: integer("nice", 0, 19),
  },
  {
    flag: "--consumer",
    arg: "NAME",
    env: "INGEST_CONSUMER",
    help: "consumer name in the Redis group (default host-pid-random)",
    apply: text("consumer", (v) => (/^[\w.-]{1,100}$/.test(v) ? null : "must be letters, digits, _ . - (1-100)")),
  },
  ...connectionSettings<WorkerOptions>(),
];

function usage<T>(command: string, summary: string, settings: Setting<T>[], extra: string): string {
  const lines = settings.map((s) => {
    const name = s.boolean ? s.flag : `${s.flag} ${s.arg ?? "N"}`;
    const env = s.env ? ` [${s.env}]` : "";
    return `  ${(name + env).padEnd(52)} ${s.help}`;
  });
  return `Usage: gate ingest ${command} [options]\n\n${summary}\n\nOptions (flags override environment variables):\n${lines.join("\n")}\n${extra}`;
}

function parse<T>(args: string[], env: Record<string, string | undefined>, settings: Setting<T>[], options: T, help: string): Parsed<T> {
  for (const s of settings) {
    const value = s.env ? env[s.env] : undefined;
    if (value === undefined || value === "") continue;
    const problem = s.apply(options, value, s.env!);
    if (problem) return { ok: false, error: problem };
  }
  let tokens;
  try {
    const flags = settings.map((x) => [x.flag.slice(2), { type: x.boolean ? "boolean" : "string" }] as const);
    const parsed = parseArgs({ args, options: { ...Object.fromEntries(flags), help: { type: "boolean", short: "h" } }, tokens: true });
    if (parsed.values.help) return { ok: "help", text: help };
    tokens = parsed.tokens;
  } catch (err) {
    // parseArgs names the flag: unknown, missing its value, or a value given to a flag that takes none.
    const code = (err as { code?: string }).code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" ? "bad_value" : "bad_option";
    return { ok: false, error: { code, message: `${(err as Error).message}; see --help for the list` } };
  }
  // In the order given, so the first wrong value is the one reported.
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const s = settings.find((x) => x.flag === `--${t.name}`)!;
    const problem = s.apply(options, t.value ?? "", t.rawName);
    if (problem) return { ok: false, error: problem };
  }
  return { ok: true, options };
}

const SECRETS_HELP = `
Authentication (environment only, so secrets stay out of process lists); a request must pass every one set:
  WEBHOOK_BEARER_KEY       Authorization: Bearer <key>
  WEBHOOK_SIGNING_SECRET   Standard Webhooks (whsec_<base64>): webhook-id, webhook-timestamp, webhook-signature
  GITHUB_WEBHOOK_SECRET    GitHub: X-Hub-Signature-256
With none set the service refuses to start unless --insecure is given.
`;

export function parseServeArgs(args: string[], env: Record<string, string | undefined>): Parsed<ServerOptions> {
  const help = usage(
    "serve",
    "Runs the webhook accept path: POST /webhooks, GET /healthz, /readyz, /metrics.",
    serverSettings,
    SECRETS_HELP,
  );
  const parsed = parse(args, env, serverSettings, defaultServerOptions(), help);
  if (parsed.ok !== true) return parsed;
  const o = parsed.options;
  const auth: AuthSettings = {};
  if (env.WEBHOOK_BEARER_KEY) auth.bearerKey = env.WEBHOOK_BEARER_KEY;
  if (env.WEBHOOK_SIGNING_SECRET) {
    const problem = signingSecretProblem(env.WEBHOOK_SIGNING_SECRET);
    if (problem) return { ok: false, error: { code: "bad_secret", message: `WEBHOOK_SIGNING_SECRET ${problem}` } };
    auth.signingSecret = env.WEBHOOK_SIGNING_SECRET;
  }
  if (env.GITHUB_WEBHOOK_SECRET) auth.githubSecret = env.GITHUB_WEBHOOK_SECRET;
  o.auth = auth;
  const activated = socketActivation(env);
  if (activated && "message" in activated) return { ok: false, error: activated };
  if (activated) o.listenFd = activated.fd;
  const configured = Object.keys(auth).length > 0;
  if (!configured && !o.insecure) {
    return {
      ok: false,
      error: {
        code: "missing_secret",
        message:
          "no webhook authentication is configured: set WEBHOOK_BEARER_KEY, WEBHOOK_SIGNING_SECRET (whsec_...) or GITHUB_WEBHOOK_SECRET, or pass --insecure for a local test",
      },
    };
  }
  // A secret and --insecure together: the secret wins; --insecure only ever means "none configured".
  if (configured) o.insecure = false;
  return parsed;
}

export function parseWorkerArgs(args: string[], env: Record<string, string | undefined>): Parsed<WorkerOptions> {
  const help = usage(
    "worker",
    "Drains the namespace's Redis stream into PostgreSQL in batches, one transaction and one statement each,\napplying events of each ordering key in sequence order. Start several for more throughput.",
    workerSettings,
    "",
  );
  return parse(args, env, workerSettings, defaultWorkerOptions(), help);
}
