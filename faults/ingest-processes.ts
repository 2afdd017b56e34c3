// The bundled ingest service as separate OS processes (one server, N workers) that a fault scenario
// can kill with any signal and start again, one by one, on the same port and namespace.

import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { cliPath, type Credentials } from "../src/gates/deployment.js";
import { freePort } from "../test/support/instances.js";

export interface IngestProcessOptions {
  namespace: string;
  redisUrl: string;
  databaseUrl: string;
  credentials: Credentials;
  /** Each process logs to `${logDir}/${name}.log` (appended across restarts). */
  logDir: string;
  /** Fixed so a restarted server keeps its URL; a free port by default. */
  port?: number;
  /** Extra flags for `gate ingest serve` / `gate ingest worker`. */
  serverArgs?: string[];
  workerArgs?: string[];
  /** Accept unauthenticated webhooks (only when credentials is empty). */
  insecure?: boolean;
  /** Flags for node itself, e.g. ["--max-semi-space-size=2"]. */
  nodeArgs?: string[];
}

export class IngestProcessError extends Error {
  constructor(
    readonly code: "ingest_not_ready" | "ingest_exited",
    message: string,
  ) {
    super(message);
    this.name = "IngestProcessError";
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

// Last resort when the suite dies without its finally blocks: no service process outlives it.
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) if (isRunning(c)) c.kill("SIGKILL");
});

export class IngestProcesses {
  private server: Running | null = null;
  private readonly workers = new Map<string, Running>();
  private workerCount = 0;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    private readonly o: IngestProcessOptions,
    readonly port: number,
  ) {
    mkdirSync(o.logDir, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: o.redisUrl, DATABASE_URL: o.databaseUrl, LOG_LEVEL: "info" };
    delete env.WEBHOOK_BEARER_KEY;
    delete env.WEBHOOK_SIGNING_SECRET;
    delete env.GITHUB_WEBHOOK_SECRET;
    delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the service
    if (o.credentials.bearerKey) env.WEBHOOK_BEARER_KEY = o.credentials.bearerKey;
    if (o.credentials.signingSecret) env.WEBHOOK_SIGNING_SECRET = o.credentials.signingSecret;
    if (o.credentials.githubSecret) env.GITHUB_WEBHOOK_SECRET = o.credentials.githubSecret;
    this.env = env;
  }

  /** Starts the server (waiting for /readyz) and `workers` workers. */
  static async start(o: IngestProcessOptions, workers = 2): Promise<IngestProcesses> {
    const p = new IngestProcesses(o, o.port ?? (await freePort()));
    try {
      for (let i = 0; i < workers; i++) p.startWorker();
      await p.startServer();
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get webhookUrl(): string {
    return `${this.baseUrl}/webhooks`;
  }

  get serverPid(): number | null {
    return this.server && isRunning(this.server.child) ? this.server.child.pid! : null;
  }

  workerNames(): string[] {
    return [...this.workers.keys()].filter((n) => isRunning(this.workers.get(n)!.child));
  }

  workerPid(name: string): number | null {
    const w = this.workers.get(name);
    return w && isRunning(w.child) ? w.child.pid! : null;
  }

  logFile(name: string): string {
    return join(this.o.logDir, `${name}.log`);
  }

  /** Starts the server and waits until /readyz answers 200 (Redis and PostgreSQL reachable). */
  async startServer(readyTimeoutMs = 20_000): Promise<void> {
    if (this.server && isRunning(this.server.child)) return;
    const args = ["serve", "--namespace", this.o.namespace, "--port", String(this.port), "--host", "127.0.0.1", ...(this.o.serverArgs ?? [])];
    if (this.o.insecure) args.push("--insecure");
    this.server = this.spawn("server", args);
    await this.waitReady(readyTimeoutMs);
  }

  /** Starts one more worker; returns its name (worker-1, worker-2 ...). */
  startWorker(): string {
    const name = `worker-${++this.workerCount}`;
    const args = ["worker", "--namespace", this.o.namespace, ...(this.o.workerArgs ?? [])];
    // The consumer name in the Redis group is the worker's name, so a scenario can see what it holds.
    if (!args.includes("--consumer")) args.push("--consumer", name);
    this.workers.set(name, this.spawn(name, args));
    return name;
  }

  async killServer(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.server) await signalAndWait(this.server, signal);
  }

  async killWorker(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const w = this.workers.get(name);
    if (w) await signalAndWait(w, signal);
  }

  /** Sends a signal without waiting (SIGSTOP/SIGCONT to freeze and thaw a worker). */
  signalWorker(name: string, signal: NodeJS.Signals): void {
    const w = this.workers.get(name);
    if (w && isRunning(w.child)) w.child.kill(signal);
  }

  /** GET /readyz: 200 when Redis and PostgreSQL answer; 0 when the server does not answer at all. */
  async readiness(timeoutMs = 2000): Promise<{ status: number; body: string }> {
    try {
      const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      return { status: 0, body: (err as Error).message };
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (this.server && !isRunning(this.server.child)) {
        throw new IngestProcessError("ingest_exited", `the ingest server exited (${describeExit(this.server.child)}) before it was ready; see ${this.logFile("server")}`);
      }
      const r = await this.readiness(1000);
      if (r.status === 200) return;
      last = r.status === 0 ? r.body : `${r.status} ${r.body}`;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new IngestProcessError("ingest_not_ready", `the ingest server was not ready within ${timeoutMs} ms (${this.baseUrl}/readyz: ${last}); see ${this.logFile("server")}`);
  }

  /** SIGTERM to everything (server first, so workers can finish the last batch), SIGKILL after the grace time. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.server) await stopGracefully(this.server, graceMs);
    await Promise.all([...this.workers.values()].map((w) => stopGracefully(w, graceMs)));
  }

  private spawn(name: string, args: string[]): Running {
    const file = this.logFile(name);
    appendFileSync(file, `--- ${new Date().toISOString()} gate ingest ${args.join(" ")}\n`);
    const fd = openSync(file, "a");
    // The log file is the child's stdout and stderr directly: nothing of ours sits in its write path.
    const child = spawn(process.execPath, [...(this.o.nodeArgs ?? []), cliPath(), "ingest", ...args], { env: this.env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    children.add(child);
    const exited = new Promise<void>((r) =>
      child.once("exit", () => {
        children.delete(child);
        r();
      }),
    );
    return { child, exited };
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

async function signalAndWait(r: Running, signal: NodeJS.Signals): Promise<void> {
  if (!isRunning(r.child)) return;
  r.child.kill(signal);
  await r.exited;
}

async function stopGracefully(r: Running, graceMs: number): Promise<void> {
  if (!isRunning(r.child)) return;
  const timer = setTimeout(() => r.child.kill("SIGKILL"), graceMs);
  r.child.kill("SIGTERM");
  await r.exited;
  clearTimeout(timer);
}
