// Deploys the target of a gate for one run: the bundled ingest service and its workers as child
// processes in a namespace of their own (Redis prefix and PostgreSQL schema), or an already deployed
// service by URL. Teardown always happens, whatever the run did.

import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Redis } from "ioredis";
import { createServer } from "node:net";
import { answers2xx, freePort, SupervisedProcess } from "../../process-supervisor.js";
import type { Target } from "../model/index.js";
import type { RoomData, SealedRoom } from "./room/index.js";

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
  /** The sealed room the service runs in: every process in it is the run's own (host-contention.ts). */
  room?: { pids(): Promise<number[]> };
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

/**
 * The environment of the bundled service's processes: `base` with the run's Redis, PostgreSQL and
 * credentials in place of any webhook secret of its own.
 */
export function ingestEnv(
  base: NodeJS.ProcessEnv,
  o: { redisUrl: string; databaseUrl: string; credentials: Credentials },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, REDIS_URL: o.redisUrl, DATABASE_URL: o.databaseUrl, LOG_LEVEL: "info" };
  delete env.WEBHOOK_BEARER_KEY;
  delete env.WEBHOOK_SIGNING_SECRET;
  delete env.GITHUB_WEBHOOK_SECRET;
  if (o.credentials.bearerKey) env.WEBHOOK_BEARER_KEY = o.credentials.bearerKey;
  if (o.credentials.signingSecret) env.WEBHOOK_SIGNING_SECRET = o.credentials.signingSecret;
  if (o.credentials.githubSecret) env.GITHUB_WEBHOOK_SECRET = o.credentials.githubSecret;
  return env;
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
  /**
   * Run the service in this sealed room, on the room's own Redis and PostgreSQL: it gets a listening socket
   * of the runner's (socket activation) and reaches nothing else.
   */
  room?: { room: SealedRoom; data: RoomData };
}

/**
 * A listening socket on the host's loopback, for socket activation: the sealed service accepts on it from
 * inside a network namespace where nothing of the host can be reached. `close` drops this process's copy.
 */
async function listeningSocket(): Promise<{ fd: number; port: number; close(): void }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", backlog: 511 }, () => resolve());
  });
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  if (typeof fd !== "number" || fd < 0)
    throw new DeploymentError("no descriptor for the service's listening socket (socket activation needs Linux)");
  return { fd, port: (server.address() as { port: number }).port, close: () => server.close() };
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
  const sealed = o.room;
  if (sealed && !o.service) throw new DeploymentError("a sealed room runs a built tree: pass the service built for it");
  const socket = sealed ? await listeningSocket() : null;
  const port = socket ? socket.port : await freePort();
  const data = sealed ? sealed.data.service : target;
  const env = ingestEnv({ ...(o.service ? o.service.env : process.env), ...o.env }, { ...data, credentials: o.credentials });

  const processes = new Map<string, SupervisedProcess>();
  const logs: Record<string, string> = {};
  const start = (name: string, args: string[]) => {
    logs[name] = join(o.logDir, `${name}.log`);
    // The stdin lifeline: if this process dies, even by SIGKILL, the service shuts down instead of running on as an orphan.
    const spawn = { command: process.execPath, args: [cli, "ingest", ...args], cwd: o.service?.cwd, logFile: logs[name] };
    const p = sealed
      ? sealed.room.spawn({
          ...spawn,
          as: "service",
          env: { ...(env as Record<string, string>), INGEST_STOP_WITH_STDIN: "1" },
          lifeline: "stdin",
          listenFd: name === "server" ? socket!.fd : undefined,
        })
      : SupervisedProcess.spawn({ ...spawn, env: { ...env, INGEST_STOP_WITH_STDIN: "1" }, lifeline: "stdin" });
    // The service holds its own copy of the listening socket now; this process must not accept on it.
    if (name === "server") socket?.close();
    processes.set(name, p);
    return p;
  };

  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    // Stop the front door first, then let the workers finish their current batch.
    const server = processes.get("server");
    await server?.stop(3000);
    await Promise.all([...processes.values()].filter((p) => p !== server).map((p) => p.stop(5000)));
    // A room's Redis and PostgreSQL go with the room.
    if (!o.keepData && !sealed) await dropNamespace(target.redisUrl, target.databaseUrl, o.namespace).catch(() => {});
  };

  try {
    const common = ["--namespace", o.namespace];
    const server = start("server", ["serve", ...common, "--port", String(port), "--host", "127.0.0.1", "--mode", target.mode]);
    if (target.mode === "queue") {
      for (let i = 1; i <= target.workers; i++) {
        start(`worker-${i}`, [
          "worker",
          ...common,
          "--batch-size",
          String(target.batchSize),
          "--batch-linger-ms",
          String(target.batchLingerMs),
        ]);
      }
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    const readyTimeoutMs = o.readyTimeoutMs ?? 20000;
    const ready = await server.waitReady(answers2xx(`${baseUrl}/readyz`), readyTimeoutMs);
    if (!ready.ready) {
      const detail = { exitCode: server.exitCode, logFile: logs.server };
      if (ready.exited)
        throw new DeploymentError(
          `the ingest service exited with ${server.exitDescription} before it was ready; see ${logs.server}`,
          detail,
        );
      throw new DeploymentError(
        `the ingest service was not ready within ${readyTimeoutMs} ms (${baseUrl}/readyz: ${ready.last}); see ${logs.server}`,
        detail,
      );
    }
    const runnerSide = sealed ? sealed.data.runner : target;
    return {
      webhookUrl: `${baseUrl}/webhooks`,
      baseUrl,
      databaseUrl: runnerSide.databaseUrl,
      schema: o.namespace,
      credentials: o.credentials,
      logs,
      pids: { server: server.pid, workers: [...processes].flatMap(([name, p]) => (name.startsWith("worker-") && p.pid ? [p.pid] : [])) },
      queue: target.mode === "queue" ? { redisUrl: runnerSide.redisUrl, stream: `${o.namespace}:events` } : undefined,
      room: sealed ? { pids: () => sealed.room.pids() } : undefined,
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
