// The ingest service's public API, for the gate runner and tests: start servers and workers in
// process, migrate a namespace, and the options they take.

export { startIngestServer, type IngestServer } from "./server.js";
export { startIngestWorker, type IngestWorker } from "./worker.js";
export { migrate, migrations, type Migration } from "./migrate.js";
export {
  defaultServerOptions,
  defaultWorkerOptions,
  parseServeArgs,
  parseWorkerArgs,
  NAMESPACE_PATTERN,
  type ServerOptions,
  type WorkerOptions,
  type ConnectionOptions,
  type IngestMode,
  type ConfigError,
  type Parsed,
} from "./config.js";
export { createAuthenticator, SIGNATURE_TOLERANCE_S, type AuthSettings, type AuthFailure, type Authenticator } from "./authenticate.js";
export { IngestStartError } from "./connect.js";
export { queueKeys, type QueueKeys } from "./queue-keys.js";
export { DEFAULT_RETRY, type RetryPolicy } from "./batch-writer.js";
