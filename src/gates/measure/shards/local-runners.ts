// `gate run --runners N` with no runners elsewhere: N `gate runner --replay` processes on this
// machine, started for the run and stopped after it. The same processes as on other machines, so a
// local run takes the one code path.

import { spawn, type ChildProcess } from "node:child_process";
import { cliPath } from "../../target/index.js";

export interface LocalRunners {
  ids: string[];
  /** Their process ids: the run's own work on this machine (the host watch does not count them as other work). */
  pids: number[];
  /** Stop one runner at once (the fault tests' killed runner). */
  kill(index: number): void;
  stop(): Promise<void>;
}

export interface LocalRunnerOptions {
  redisUrl: string;
  prefix: string;
  count: number;
  /** Per-runner extra flags (test hooks such as --clock-fault-ms), by index. */
  extraArgs?: (index: number) => string[];
}

/** Starts the runners and resolves once each says it is ready (it prints its id), or rejects with its output. */
export async function startLocalRunners(o: LocalRunnerOptions): Promise<LocalRunners> {
  const cli = cliPath();
  const children: ChildProcess[] = [];
  const ids = Array.from({ length: o.count }, (_, k) => `local-${k + 1}-of-${o.count}`);
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 5_000).unref();
          }),
      ),
    );
  };
  try {
    await Promise.all(
      ids.map(
        (id, k) =>
          new Promise<void>((resolve, reject) => {
            const args = [
              cli,
              "runner",
              "--replay",
              "--redis",
              o.redisUrl,
              "--prefix",
              o.prefix,
              "--name",
              id,
              ...(o.extraArgs?.(k) ?? []),
            ];
            const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
            children.push(child);
            let output = "";
            const onData = (b: Buffer) => {
              output += b.toString();
              if (output.includes(`ready: ${id} `)) resolve();
            };
            child.stdout!.on("data", onData);
            child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
            child.once("exit", (code) =>
              reject(new Error(`runner ${id} exited (${code}) before it was ready: ${output.trim().slice(-500)}`)),
            );
          }),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ids,
    pids: children.map((c) => c.pid!),
    kill: (k) => children[k]?.kill("SIGKILL"),
    stop,
  };
}
