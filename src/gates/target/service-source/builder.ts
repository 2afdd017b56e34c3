// Who runs a commit's build: the runner itself in a process group of its own (the host builder, the
// default), or a sealed room that runs it as another user in namespaces of its own. The builder's
// version is part of the build cache's key, so a build made one way is never reused as the other.

import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { SupervisedProcess } from "../../../process-supervisor.js";

export interface BuildRun {
  cwd: string;
  env: Record<string, string>;
  /** Where the build's stdout and stderr go, together. */
  logFile: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface BuildOutcome {
  /** Null when the build was killed. */
  exitCode: number | null;
  log: string;
  killed?: "timeout" | "abort";
}

export interface Builder {
  /** Part of the cache key: what builds (e.g. "room/1 node v20.20.2"). */
  readonly version: string;
  /** Called once the tree and the build's HOME exist, before the build: e.g. hand them to the room's user. */
  prepare?(dirs: { tree: string; home: string }): Promise<void>;
  run(command: string, o: BuildRun): Promise<BuildOutcome>;
}

/** Today's build: `/bin/sh -c <command>` as the runner's own user, in a process group a timeout kills whole. */
export function hostBuilder(): Builder {
  return {
    version: `host/1 node ${process.version}`,
    run: (command, o) => runProcess("/bin/sh", ["-c", command], o),
  };
}

/**
 * Runs a process to its end in a process group of its own (so a timeout stops everything it started),
 * output to a file: the process supervisor's child, waited for instead of kept running.
 */
export async function runProcess(
  file: string,
  args: string[],
  o: { cwd: string; env: Record<string, string>; logFile?: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<BuildOutcome> {
  const logFile = o.logFile ?? join(o.cwd, "..", `.${randomBytes(4).toString("hex")}.log`);
  try {
    const child = SupervisedProcess.spawn({
      command: file,
      args,
      cwd: o.cwd,
      env: o.env,
      logFile,
      freshLog: true,
      lifeline: "exit-hook",
      processGroup: true,
    });
    const killed = await child.exitWithin(o, () => child.signal("SIGKILL"));
    if (child.spawnError) throw child.spawnError;
    const log = await readFile(logFile, "utf8");
    return { exitCode: killed ? null : child.exitCode, log, killed };
  } finally {
    if (!o.logFile) await rm(logFile, { force: true });
  }
}
