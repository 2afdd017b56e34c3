// The bundled ingest service as separate OS processes (one server, N workers) that a fault scenario
// can kill with any signal and start again, one by one, on the same port and namespace.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { cliPath, ingestEnv, type Credentials } from "../src/gates/target/deployment.js";
import { answers2xx, freePort, httpGet, SupervisedProcess } from "../src/process-supervisor.js";

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

export class IngestProcesses {
  private server: SupervisedProcess | null = null;
  private readonly workers = new Map<string, SupervisedProcess>();
  private workerCount = 0;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    private readonly o: IngestProcessOptions,
    readonly port: number,
  ) {
    mkdirSync(o.logDir, { recursive: true });
    this.env = ingestEnv(process.env, o);
    delete this.env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the service
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
    return this.server?.running ? this.server.pid : null;
  }

  workerNames(): string[] {
    return [...this.workers].filter(([, w]) => w.running).map(([name]) => name);
  }

  workerPid(name: string): number | null {
    const w = this.workers.get(name);
    return w?.running ? w.pid : null;
  }

  logFile(name: string): string {
    return join(this.o.logDir, `${name}.log`);
  }

  /** Starts the server and waits until /readyz answers 200 (Redis and PostgreSQL reachable). */
  async startServer(readyTimeoutMs = 20_000): Promise<void> {
    if (this.server?.running) return;
    const args = [
      "serve",
      "--namespace",
      this.o.namespace,
      "--port",
      String(this.port),
      "--host",
      "127.0.0.1",
      ...(this.o.serverArgs ?? []),
    ];
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
    await this.server?.kill(signal);
  }

  async killWorker(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.workers.get(name)?.kill(signal);
  }

  /** Sends a signal without waiting (SIGSTOP/SIGCONT to freeze and thaw a worker). */
  signalWorker(name: string, signal: NodeJS.Signals): void {
    this.workers.get(name)?.signal(signal);
  }

  /** GET /readyz: 200 when Redis and PostgreSQL answer; 0 when the server does not answer at all. */
  readiness(timeoutMs = 2000): Promise<{ status: number; body: string }> {
    return httpGet(`${this.baseUrl}/readyz`, timeoutMs);
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const server = this.server;
    if (!server) throw new IngestProcessError("ingest_not_ready", "the ingest server was never started: call startServer()");
    const ready = await server.waitReady(answers2xx(`${this.baseUrl}/readyz`), timeoutMs);
    if (ready.ready) return;
    if (ready.exited) {
      throw new IngestProcessError(
        "ingest_exited",
        `the ingest server exited (${server.exitDescription}) before it was ready; see ${this.logFile("server")}`,
      );
    }
    throw new IngestProcessError(
      "ingest_not_ready",
      `the ingest server was not ready within ${timeoutMs} ms (${this.baseUrl}/readyz: ${ready.last}); see ${this.logFile("server")}`,
    );
  }

  /** SIGTERM to everything (server first, so workers can finish the last batch), SIGKILL after the grace time. */
  async stop(graceMs = 5000): Promise<void> {
    await this.server?.stop(graceMs);
    await Promise.all([...this.workers.values()].map((w) => w.stop(graceMs)));
  }

  private spawn(name: string, args: string[]): SupervisedProcess {
    return SupervisedProcess.spawn({
      command: process.execPath,
      args: [...(this.o.nodeArgs ?? []), cliPath(), "ingest", ...args],
      env: this.env,
      logFile: this.logFile(name),
      logHeader: `gate ingest ${args.join(" ")}`,
      lifeline: "exit-hook",
    });
  }
}
