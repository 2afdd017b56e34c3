// Deploys the target of a gate for one run: the bundled ingest service and its workers as child
// processes in a namespace of their own (Redis prefix and PostgreSQL schema), or an already deployed
// service by URL. Teardown always happens, whatever the run did.

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Redis } from "ioredis";
import type { Target } from "./gate.js";

export interface Credentials {
  bearerKey?: string;
  signingSecret?: string;
  githubSecret?: string;
}

export interface Deployment {
  /** Endpoint receiving webhooks, e.g. http://127.0.0.1:41234/webhooks */
  webhookUrl: string;
  baseUrl: string;
  databaseUrl: string;
  schema: string;
  credentials: Credentials;
  /** Log files of the deployed processes, by name (server, worker-1 ...). */
  logs: Record<string, string>;
  /** The bundled service's process ids, for its CPU per request (absent for a deployed target). */
  pids?: { server: number | null; workers: number[] };
  /** The bundled service's stream of accepted events (`<namespace>:events`), for its queue depth. */
  queue?: { redisUrl: string; stream: string };
  /** Stops the processes and removes the run's namespace; safe to call twice. */
  teardown(): Promise<void>;
}

export class DeploymentError extends Error {
  readonly code = "DEPLOY_FAILED";
  constructor(
    message: string,
    /** The service's exit code and log file, when it died or never became ready. */
    readonly detail: { exitCode?: number | null; logFile?: string } = {},
  ) {
    super(message);
  }
}

/** The compiled CLI the child processes run (built by `npm ci` / `npm run build`). */
export function cliPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "dist", "src", "cli.js");
    if (existsSync(join(dir, "package.json")) && existsSync(candidate)) return candidate;
    dir = resolve(dir, "..");
  }
  throw new DeploymentError("the compiled CLI (dist/src/cli.js) is missing: run `npm run build` first");
}

/** A port nothing listens on right now (the kernel's pick; a race with other starters is possible but rare). */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new DeploymentError(`the ingest service exited with code ${child.exitCode} before it was ready; see ${logFile}`, { exitCode: child.exitCode, logFile });
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new DeploymentError(`the ingest service was not ready within ${timeoutMs} ms (${url}: ${last}); see ${logFile}`, { exitCode: child.exitCode, logFile });
}

function stop(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill("SIGTERM");
  });
}

/** Removes a run's namespace: its PostgreSQL schema and its Redis keys. */
export async function dropNamespace(redisUrl: string, databaseUrl: string, namespace: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    await client.query(`drop schema if exists "${namespace}" cascade`);
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

export interface DeployOptions {
  namespace: string;
  credentials: Credentials;
  logDir: string;
  /** Extra environment for the service processes. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Keep the namespace's data after teardown (for inspection). */
  keepData?: boolean;
  /**
   * Deploy from a tree built from the commit under test (service-source.ts) instead of the runner's own
   * CLI. Its processes get `env` (an allow-list) in place of this process's environment.
   */
  service?: { cli: string; cwd: string; env: Record<string, string> };
}

export async function deploy(target: Target, o: DeployOptions): Promise<Deployment> {
  if (target.kind === "deployed") {
    const base = target.url.replace(/\/+$/, "");
    return {
      webhookUrl: `${base}/webhooks`,
      baseUrl: base,
      databaseUrl: target.databaseUrl,
      schema: target.schema,
      credentials: o.credentials,
      logs: {},
      teardown: async () => {},
    };
  }
  mkdirSync(o.logDir, { recursive: true });
  const cli = o.service?.cli ?? cliPath();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...(o.service ? o.service.env : process.env),
    ...o.env,
    REDIS_URL: target.redisUrl,
    DATABASE_URL: target.databaseUrl,
    LOG_LEVEL: "info",
  };
  delete env.WEBHOOK_BEARER_KEY;
  delete env.WEBHOOK_SIGNING_SECRET;
  delete env.GITHUB_WEBHOOK_SECRET;
  if (o.credentials.bearerKey) env.WEBHOOK_BEARER_KEY = o.credentials.bearerKey;
  if (o.credentials.signingSecret) env.WEBHOOK_SIGNING_SECRET = o.credentials.signingSecret;
  if (o.credentials.githubSecret) env.GITHUB_WEBHOOK_SECRET = o.credentials.githubSecret;

  const children: { name: string; child: ChildProcess; log: number }[] = [];
  const logs: Record<string, string> = {};
  const start = (name: string, args: string[]) => {
    const file = join(o.logDir, `${name}.log`);
    // The child writes its log file itself: no log line passes through this process, which runs the
    // replay driver and must keep its schedule.
    const log = openSync(file, "a");
    // The child holds a pipe from this process on its stdin: if this process dies, even by SIGKILL,
    // the pipe closes and the child shuts down instead of running on as an orphan.
    const child = spawn(process.execPath, [cli, "ingest", ...args], { cwd: o.service?.cwd, env: { ...env, INGEST_STOP_WITH_STDIN: "1" }, stdio: ["pipe", log, log] });
    children.push({ name, child, log });
    logs[name] = file;
    return child;
  };

  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    // Stop the front door first, then let the workers finish their current batch.
    const server = children.find((c) => c.name === "server");
    if (server) await stop(server.child, 3000);
    await Promise.all(children.filter((c) => c !== server).map((c) => stop(c.child, 5000)));
    for (const c of children) closeSync(c.log);
    if (!o.keepData) await dropNamespace(target.redisUrl, target.databaseUrl, o.namespace).catch(() => {});
  };

  try {
    const common = ["--namespace", o.namespace];
    const server = start("server", [
      "serve", ...common, "--port", String(port), "--host", "127.0.0.1", "--mode", target.mode,
    ]);
    if (target.mode === "queue") {
      for (let i = 1; i <= target.workers; i++) {
        start(`worker-${i}`, [
          "worker", ...common,
          "--batch-size", String(target.batchSize),
          "--batch-linger-ms", String(target.batchLingerMs),
        ]);
      }
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${baseUrl}/readyz`, server, logs.server, o.readyTimeoutMs ?? 20000);
    return {
      webhookUrl: `${baseUrl}/webhooks`,
      baseUrl,
      databaseUrl: target.databaseUrl,
      schema: o.namespace,
      credentials: o.credentials,
      logs,
      pids: { server: server.pid ?? null, workers: children.filter((c) => c.name.startsWith("worker-")).flatMap((c) => (c.child.pid ? [c.child.pid] : [])) },
      queue: target.mode === "queue" ? { redisUrl: target.redisUrl, stream: `${o.namespace}:events` } : undefined,
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
