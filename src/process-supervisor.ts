// Processes under supervision, written once for the gate's deployment, the fault suite's ingest
// processes and its private Redis servers, and a commit's build: spawn with the output going
// straight to a log file, wait until ready (or until it exits), signal, stop with SIGTERM then
// SIGKILL, and never leave one running after this process.

import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { createServer } from "node:net";

export interface SpawnOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * The child appends its stdout and stderr to this file itself: no line passes through this
   * process (which may be running a replay that must keep its schedule). Without it, both are dropped.
   */
  logFile?: string;
  /** Empty the log file first instead of appending to it (a build whose log is read back whole). */
  freshLog?: boolean;
  /** Written to the log file as "--- <time> <logHeader>" before the child starts (for logs appended across restarts). */
  logHeader?: string;
  /**
   * How the child is kept from outliving this process. "stdin": it holds a pipe from this process on
   * its stdin and stops when the pipe closes, which happens even when this process is SIGKILLed (the
   * child must watch its stdin; the ingest service does with INGEST_STOP_WITH_STDIN=1). "exit-hook":
   * SIGKILL from this process's exit handler, for children that cannot watch their stdin.
   */
  lifeline: "stdin" | "exit-hook";
  /** Descriptors of this process the child gets as fd 3, 4, ... (a listening socket for socket activation). */
  passFds?: number[];
  /**
   * The child leads a process group of its own and every signal goes to the whole group, so a build's
   * timeout stops everything the build started, not only its shell.
   */
  processGroup?: boolean;
}

/** A readiness check: null when ready, otherwise what it saw (for the error message). */
export type ReadinessCheck = () => Promise<string | null>;

/** What waitReady saw: ready; or not, because the process exited first or the time ran out, with the check's last answer. */
export type Readiness = { ready: true } | { ready: false; exited: boolean; last: string };

// Last resort when the process ends without its finally blocks: no "exit-hook" child outlives it.
const killOnExit = new Set<SupervisedProcess>();
let exitHookInstalled = false;

export class SupervisedProcess {
  #spawnError: Error | null = null;
  /** Resolves once the process is gone (or could not be started: see spawnError). */
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly group: boolean,
  ) {
    this.exited = new Promise<void>((resolve) => {
      const gone = () => {
        killOnExit.delete(this);
        resolve();
      };
      child.once("exit", gone);
      child.once("error", (err) => {
        // Only a failed start ends the process here; a failed kill of a live one does not.
        if (child.pid !== undefined) return;
        this.#spawnError = err;
        gone();
      });
    });
  }

  static spawn(o: SpawnOptions): SupervisedProcess {
    let log: number | "ignore" = "ignore";
    if (o.logFile) {
      if (o.logHeader) appendFileSync(o.logFile, `--- ${new Date().toISOString()} ${o.logHeader}\n`);
      log = openSync(o.logFile, o.freshLog ? "w" : "a");
    }
    let child: ChildProcess;
    try {
      child = spawn(o.command, o.args, {
        cwd: o.cwd,
        env: o.env,
        stdio: [o.lifeline === "stdin" ? "pipe" : "ignore", log, log, ...(o.passFds ?? [])],
        detached: o.processGroup === true,
      });
    } finally {
      // The child has its own copy of the descriptor.
      if (log !== "ignore") closeSync(log);
    }
    const p = new SupervisedProcess(child, o.processGroup === true);
    if (o.lifeline === "exit-hook" && child.pid !== undefined) {
      killOnExit.add(p);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", () => {
          for (const c of killOnExit) c.signal("SIGKILL");
        });
      }
    }
    return p;
  }

  /** Why the process could not be started (e.g. ENOENT), or null. */
  get spawnError(): Error | null {
    return this.#spawnError;
  }

  /** To the child, or to its whole process group. */
  #send(signal: NodeJS.Signals): void {
    if (!this.group) {
      this.child.kill(signal);
      return;
    }
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      /* already gone */
    }
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get running(): boolean {
    return this.#spawnError === null && this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The exit code, null while running or after a signal. */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** How it ended: "code 1" or "signal SIGKILL". */
  get exitDescription(): string {
    return this.child.signalCode ? `signal ${this.child.signalCode}` : `code ${this.child.exitCode}`;
  }

  /** Sends a signal without waiting (SIGSTOP and SIGCONT freeze and thaw it); nothing once it is gone. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#send(signal);
  }

  /** Sends a signal and waits until the process is gone (SIGKILL: no shutdown at all). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.running) return;
    this.#send(signal);
    await this.exited;
  }

  /**
   * Waits until the process exits, calling `kill` when `timeoutMs` (if any) passes or `signal` aborts first: a build
   * step that must end. Says which did, when one did. `kill` decides how much dies (the process, or a whole room).
   */
  async exitWithin(o: { timeoutMs?: number; signal?: AbortSignal }, kill: () => void): Promise<"timeout" | "abort" | undefined> {
    let killed: "timeout" | "abort" | undefined;
    const end = (why: "timeout" | "abort") => {
      killed ??= why;
      kill();
    };
    const timer = o.timeoutMs ? setTimeout(() => end("timeout"), o.timeoutMs) : undefined;
    const onAbort = () => end("abort");
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    await this.exited;
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    return killed;
  }

  /** SIGTERM, then SIGKILL if it is still there after the grace time; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.#send("SIGKILL"), graceMs);
    this.#send("SIGTERM");
    await this.exited;
    clearTimeout(timer);
  }

  /** Runs `check` every `intervalMs` until it passes, the process exits, or `timeoutMs` has passed. */
  async waitReady(check: ReadinessCheck, timeoutMs: number, intervalMs = 50): Promise<Readiness> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (!this.running) return { ready: false, exited: true, last };
      const seen = await check();
      if (seen === null) return { ready: true };
      last = seen;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return { ready: false, exited: !this.running, last };
  }
}

/** GET a URL: its status and body, or status 0 and why nothing answered. */
export async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

/** Ready when GET `url` answers 2xx (a service's /readyz); otherwise the check says what it answered. */
export function answers2xx(url: string): ReadinessCheck {
  return async () => {
    const r = await httpGet(url, 1000);
    if (r.status >= 200 && r.status < 300) return null;
    return r.status === 0 ? r.body : `${r.status} ${r.body}`;
  };
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
