// Private Redis and PostgreSQL servers started from the binaries on the machine, each on a free port
// with a data directory of its own, so the fault suite and fault tests can kill and restart them
// without touching the shared servers on 6379 and 5432. Every instance is stopped and its directory removed at the end.

import { execFile, spawnSync } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, SupervisedProcess } from "../src/process-supervisor.js";

/** Thrown when an instance cannot be started or stopped; the message names the binary, port or log to look at. */
export class InstanceError extends Error {
  constructor(
    readonly code: "instance_binary_missing" | "instance_start_failed" | "instance_stop_failed",
    message: string,
  ) {
    super(message);
    this.name = "InstanceError";
  }
}

// ---- Cleanup of whatever is still running when the process ends --------------------------------

const live = new Set<{ forceStopSync(): void }>();
let exitHookInstalled = false;

/** Last resort when a test or the suite dies without its finally blocks: stop and remove synchronously. */
function track(instance: { forceStopSync(): void }): void {
  live.add(instance);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const i of live) i.forceStopSync();
  });
}

// ---- Redis -------------------------------------------------------------------------------------

export interface RedisOptions {
  /** Extra `--name value` settings, e.g. { "maxmemory": "64mb" }. */
  settings?: Record<string, string>;
}

/**
 * A redis-server child on 127.0.0.1 with the settings the ingest service requires in production:
 * `appendonly yes`, `appendfsync always` (an acknowledged enqueue survives a SIGKILL) and
 * `maxmemory-policy noeviction` (Redis refuses writes rather than dropping queued events).
 */
export class RedisInstance {
  private server: SupervisedProcess | null = null;
  private removed = false;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly settings: Record<string, string>,
  ) {}

  static async start(o: RedisOptions = {}): Promise<RedisInstance> {
    const binary = findBinary("redis-server");
    if (!binary)
      throw new InstanceError("instance_binary_missing", "redis-server is not on PATH: install it (e.g. `apt-get install redis-server`)");
    const instance = new RedisInstance(await freePort(), mkdtempSync(join(tmpdir(), "rg-redis-")), o.settings ?? {});
    track(instance);
    try {
      await instance.start();
    } catch (err) {
      await instance.destroy();
      throw err;
    }
    return instance;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.server?.pid ?? null;
  }

  get running(): boolean {
    return this.server?.running ?? false;
  }

  get logFile(): string {
    return join(this.dir, "redis.log");
  }

  /** Start (or restart after a kill) on the same port and directory: the AOF brings the data back. */
  async start(timeoutMs = 15_000): Promise<void> {
    if (this.running) return;
    if (this.removed) throw new InstanceError("instance_start_failed", `Redis instance on port ${this.port} was already removed`);
    const settings: Record<string, string> = {
      port: String(this.port),
      bind: "127.0.0.1",
      dir: this.dir,
      appendonly: "yes",
      appendfsync: "always",
      "maxmemory-policy": "noeviction",
      save: "",
      daemonize: "no",
      "protected-mode": "no",
      logfile: this.logFile,
      ...this.settings,
    };
    const args = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v]);
    const p = (this.server = SupervisedProcess.spawn({ command: "redis-server", args, lifeline: "exit-hook" }));
    const ping = async () => {
      const answer = await redisPing(this.port);
      return answer === "+PONG" ? null : answer;
    };
    const ready = await p.waitReady(ping, timeoutMs, 20);
    if (ready.ready) return;
    if (ready.exited)
      throw new InstanceError(
        "instance_start_failed",
        `redis-server on port ${this.port} exited (${p.exitDescription}); see ${this.logFile}`,
      );
    p.signal("SIGKILL");
    throw new InstanceError(
      "instance_start_failed",
      `redis-server on port ${this.port} did not answer PING within ${timeoutMs} ms (last: ${ready.last}); see ${this.logFile}`,
    );
  }

  /** Send a signal and wait until the process is gone (SIGKILL: no shutdown, no final fsync). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.server?.kill(signal);
  }

  /** Graceful stop (SIGTERM), falling back to SIGKILL after the grace time. */
  async stop(graceMs = 5000): Promise<void> {
    await this.server?.stop(graceMs);
  }

  /** Pause the process (SIGSTOP): connections stay open but nothing answers, as in a network partition. */
  pause(): void {
    this.server?.signal("SIGSTOP");
  }

  resume(): void {
    this.server?.signal("SIGCONT");
  }

  /** Stop and remove the data directory; safe to call twice. */
  async destroy(): Promise<void> {
    this.resume();
    await this.kill("SIGKILL");
    if (!this.removed) rmSync(this.dir, { recursive: true, force: true });
    this.removed = true;
    live.delete(this);
  }

  forceStopSync(): void {
    this.server?.signal("SIGKILL");
    if (!this.removed) rmSync(this.dir, { recursive: true, force: true });
    this.removed = true;
  }
}

/** One PING over a fresh socket: "+PONG", an error line such as "-LOADING ...", or why it failed. */
function redisPing(port: number, timeoutMs = 500): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    const finish = (s: string) => {
      socket.destroy();
      done(s);
    };
    socket.setTimeout(timeoutMs, () => finish("timeout"));
    socket.once("error", (err) => finish((err as NodeJS.ErrnoException).code ?? err.message));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) finish(answer.split("\r\n")[0]);
    });
  });
}

// ---- PostgreSQL --------------------------------------------------------------------------------

export type PostgresShutdown = "smart" | "fast" | "immediate";

export interface PostgresOptions {
  /** Extra postgresql.conf lines, e.g. { max_connections: "40" }. */
  settings?: Record<string, string>;
}

/**
 * A PostgreSQL cluster made with initdb in a temporary directory and run with pg_ctl on 127.0.0.1,
 * trust authentication for user postgres. initdb refuses to run as root, so as root every command
 * runs as the `postgres` user (runuser).
 */
export class PostgresInstance {
  private removed = false;
  private started = false;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly bin: string,
    private readonly runAs: string | null,
  ) {}

  static async start(o: PostgresOptions = {}): Promise<PostgresInstance> {
    const bin = postgresBinDir();
    const runAs = process.getuid?.() === 0 ? "postgres" : null;
    const dir = mkdtempSync(join(tmpdir(), "rg-pg-"));
    const instance = new PostgresInstance(await freePort(), dir, bin, runAs);
    track(instance);
    try {
      if (runAs) {
        const ids = spawnSync("id", ["-u", runAs], { encoding: "utf8" });
        const gids = spawnSync("id", ["-g", runAs], { encoding: "utf8" });
        if (ids.status !== 0) {
          throw new InstanceError(
            "instance_start_failed",
            `running as root, PostgreSQL needs the "${runAs}" user to run initdb and pg_ctl: create it (e.g. \`apt-get install postgresql\`)`,
          );
        }
        chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
      }
      await instance.run("initdb", ["-D", instance.dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
      const settings: Record<string, string> = {
        listen_addresses: "'127.0.0.1'",
        port: String(instance.port),
        unix_socket_directories: `'${dir}'`,
        max_connections: "60",
        shared_buffers: "32MB",
        // Durable commits as in production: an immediate shutdown must not lose a committed batch.
        fsync: "on",
        synchronous_commit: "on",
        ...o.settings,
      };
      appendFileSync(
        join(instance.dataDir, "postgresql.conf"),
        "\n" +
          Object.entries(settings)
            .map(([k, v]) => `${k} = ${v}`)
            .join("\n") +
          "\n",
      );
      await instance.start();
    } catch (err) {
      await instance.destroy();
      throw err;
    }
    return instance;
  }

  get dataDir(): string {
    return join(this.dir, "data");
  }

  get logFile(): string {
    return join(this.dir, "postgres.log");
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The postmaster's pid while it runs, from postmaster.pid. */
  get pid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  async start(): Promise<void> {
    await this.run("pg_ctl", ["-D", this.dataDir, "-l", this.logFile, "-w", "-t", "30", "start"]);
    this.started = true;
  }

  /** pg_ctl stop: "immediate" is a crash (no checkpoint, recovery on the next start). */
  async stop(mode: PostgresShutdown = "fast"): Promise<void> {
    if (!this.started) return;
    await this.run("pg_ctl", ["-D", this.dataDir, "-m", mode, "-w", "-t", "30", "stop"]);
    this.started = false;
  }

  async restart(mode: PostgresShutdown = "fast"): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Stop at once and remove the cluster; safe to call twice. */
  async destroy(): Promise<void> {
    if (this.started) await this.stop("immediate").catch(() => this.forceStopSync());
    if (!this.removed) rmSync(this.dir, { recursive: true, force: true });
    this.removed = true;
    live.delete(this);
  }

  forceStopSync(): void {
    if (this.started || this.pid !== null) {
      const [cmd, args] = this.command("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
      spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
      this.started = false;
    }
    if (!this.removed) rmSync(this.dir, { recursive: true, force: true });
    this.removed = true;
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const path = join(this.bin, tool);
    return this.runAs ? ["runuser", ["-u", this.runAs, "--", path, ...args]] : [path, args];
  }

  private run(tool: string, args: string[]): Promise<void> {
    const [cmd, full] = this.command(tool, args);
    return new Promise((done, fail) => {
      execFile(cmd, full, { timeout: 60_000, cwd: this.dir }, (err, stdout, stderr) => {
        if (!err) return done();
        const log = existsSync(this.logFile) ? `; see ${this.logFile}` : "";
        fail(
          new InstanceError(
            tool === "pg_ctl" && args.includes("stop") ? "instance_stop_failed" : "instance_start_failed",
            `${tool} ${args.join(" ")} failed (port ${this.port}): ${(stderr || stdout || err.message).trim().split("\n").slice(-3).join(" | ")}${log}`,
          ),
        );
      });
    });
  }
}

/** /usr/lib/postgresql/<newest>/bin, or the directory holding pg_ctl on PATH. */
function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], "bin");
  }
  const onPath = findBinary("initdb");
  if (onPath) return onPath.replace(/\/initdb$/, "");
  throw new InstanceError(
    "instance_binary_missing",
    "initdb and pg_ctl were not found in /usr/lib/postgresql/*/bin or on PATH: install PostgreSQL (e.g. `apt-get install postgresql`)",
  );
}

function findBinary(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

// ---- Both at once ------------------------------------------------------------------------------

export interface Instances {
  redis: RedisInstance;
  postgres: PostgresInstance;
}

/** Starts a private Redis and PostgreSQL, runs `body`, and always stops and removes both. */
export async function withInstances<T>(
  body: (i: Instances) => Promise<T>,
  o: { redis?: RedisOptions; postgres?: PostgresOptions } = {},
): Promise<T> {
  const redis = await RedisInstance.start(o.redis);
  let postgres: PostgresInstance;
  try {
    postgres = await PostgresInstance.start(o.postgres);
  } catch (err) {
    await redis.destroy();
    throw err;
  }
  try {
    return await body({ redis, postgres });
  } finally {
    await Promise.allSettled([redis.destroy(), postgres.destroy()]);
  }
}
