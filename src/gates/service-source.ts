// The service under test, built from the commit a run names: a source archive (a tarball of one commit,
// fetched by whoever holds the credentials) is unpacked into a scratch folder, built with the gate's
// build command in an environment of its own, and deployed from there. Builds are cached by tree SHA,
// lockfile digest and build command, so a second run of the same commit starts in seconds.
// Code from a pull request runs here: nothing of the runner's environment reaches it but an allow-list.

import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The default build of a bundled service tree: what a clean checkout needs before `gate ingest serve` runs. */
export const DEFAULT_BUILD_COMMAND = "npm ci --no-audit --no-fund && npm run build";
/** How many log lines a failure shows. */
export const LOG_TAIL_LINES = 40;
/** Where a built tree's CLI is: the bundled service is started as `node <tree>/dist/src/cli.js ingest ...`. */
export const TREE_CLI = join("dist", "src", "cli.js");

/** What ran, for the evidence bundle: enough to rebuild and to check the same bytes were built. */
export interface ServiceSourceEvidence {
  commit: string;
  /** SHA-256 of the archive as downloaded. */
  tarballSha256: string;
  /** The git tree SHA-1 of the unpacked files, computed here (not taken from anyone's word). */
  treeSha: string;
  /** SHA-256 of package-lock.json, or null when the tree has none. */
  lockfileSha256: string | null;
  buildCommand: string;
  /** Null when the build was killed (timeout, abort) or never started. */
  exitCode: number | null;
  durationMs: number;
  builtAt: string;
  /** True when this run reused a cached build of the same tree, lockfile and command. */
  cached: boolean;
  /** The build's output (stdout and stderr together); redacted when written to the evidence. */
  log: string;
  /** Set when the service could not be built: the step and what went wrong. */
  failure?: { step: "unpack" | "build"; message: string };
}

export class ServiceSourceError extends Error {
  constructor(
    readonly code: "archive_unavailable" | "archive_invalid" | "build_failed" | "build_output_missing" | "build_timeout" | "build_aborted",
    readonly step: "fetch" | "unpack" | "build",
    message: string,
    readonly exitCode: number | null,
    readonly logTail: string[],
    readonly evidence: ServiceSourceEvidence | null,
  ) {
    super(message);
  }
}

export interface ServiceSourceOptions {
  /** A gzipped tarball of one commit with a single top folder (GitHub's `{owner}-{repo}-{sha7}/`). */
  archive: string;
  commit: string;
  build?: string;
  /** Where built trees are kept between runs. */
  cacheDir: string;
  /** Where this run's tree is unpacked; removed by dispose(). */
  scratchDir?: string;
  /** The runner's environment, to take the allow-listed names from (process.env by default). */
  baseEnv?: NodeJS.ProcessEnv;
  buildTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * npm's download cache for the build (default: the runner user's ~/.npm). Sharing it is safe for
   * integrity (npm checks every package against the lockfile's hashes) and makes `npm ci` offline-fast.
   */
  npmCache?: string;
}

export interface BuiltService {
  /** The built tree the service runs from. */
  dir: string;
  /** Its CLI (`dist/src/cli.js`). */
  cli: string;
  /** The allow-listed environment for processes started from the tree (isolatedEnv). */
  env: Record<string, string>;
  evidence: ServiceSourceEvidence;
  /** Removes the scratch tree. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * The environment of every process built from the tree (the build and the service): PATH and locale
 * from the runner, a HOME of its own (so no ~/.npmrc token or credential file is read), the gate's own
 * npm cache, and nothing else. Never `...process.env`: the runner holds the App's private key, the
 * webhook secret, tokens and the evidence signing key. The service adds its namespace and the run's
 * fresh credentials on top (deployment.ts).
 */
export function isolatedEnv(base: NodeJS.ProcessEnv, home: string, npmCache: string): Record<string, string> {
  const env: Record<string, string> = { HOME: home, npm_config_cache: npmCache, npm_config_update_notifier: "false" };
  for (const name of ["PATH", "LANG", "LC_ALL", "TZ"]) {
    const v = base[name];
    if (v !== undefined) env[name] = v;
  }
  env.TMPDIR = join(home, "tmp");
  return env;
}

/** Unpacks, builds (or takes from the cache) and returns the tree to deploy from. */
export async function prepareService(o: ServiceSourceOptions): Promise<BuiltService> {
  const build = o.build ?? DEFAULT_BUILD_COMMAND;
  const scratch = o.scratchDir ?? (await mkdtemp(join(tmpdir(), "release-gate-tree-")));
  await mkdir(scratch, { recursive: true });
  const home = join(scratch, "home");
  await mkdir(join(home, "tmp"), { recursive: true });
  const npmCache = o.npmCache ?? join((o.baseEnv ?? process.env).HOME || homedir(), ".npm");
  const dispose = () => rm(scratch, { recursive: true, force: true });
  try {
    const tarballSha256 = await sha256File(o.archive);
    const top = await unpack(o.archive, join(scratch, "unpacked"));
    const treeSha = await gitTreeSha(top);
    const lockfile = join(top, "package-lock.json");
    const lockfileSha256 = existsSync(lockfile)
      ? createHash("sha256")
          .update(await readFile(lockfile))
          .digest("hex")
      : null;
    const key = createHash("sha256")
      .update(`${treeSha}\0${lockfileSha256 ?? "-"}\0${build}`)
      .digest("hex")
      .slice(0, 32);
    const cached = join(o.cacheDir, "builds", key);
    const tree = join(scratch, "tree");
    const env = isolatedEnv(o.baseEnv ?? process.env, home, npmCache);
    const base = { commit: o.commit, tarballSha256, treeSha, lockfileSha256, buildCommand: build };

    const recorded = await readRecord(cached);
    if (recorded) {
      // A copy, not the cached folder itself: the service may write to its tree, and must not change
      // what the next run of this commit starts from.
      await copyTree(join(cached, "tree"), tree);
      await rm(top, { recursive: true, force: true });
      await flushWrites();
      const evidence: ServiceSourceEvidence = {
        ...base,
        exitCode: recorded.exitCode,
        durationMs: recorded.durationMs,
        builtAt: recorded.builtAt,
        cached: true,
        log: recorded.log,
      };
      return { dir: tree, cli: join(tree, TREE_CLI), env, evidence, dispose };
    }

    await rename(top, tree);
    const started = Date.now();
    const builtAt = new Date().toISOString();
    const ran = await runBuild(build, tree, env, join(scratch, "build.log"), o.buildTimeoutMs ?? 15 * 60_000, o.signal);
    const evidence: ServiceSourceEvidence = {
      ...base,
      exitCode: ran.exitCode,
      durationMs: Date.now() - started,
      builtAt,
      cached: false,
      log: ran.log,
    };
    const tail = logTail(ran.log);
    if (ran.killed || ran.exitCode !== 0) {
      const why =
        ran.killed === "timeout"
          ? `the build did not finish within ${Math.round((o.buildTimeoutMs ?? 15 * 60_000) / 1000)} s and was stopped`
          : ran.killed === "abort"
            ? "the build was stopped: the run was aborted"
            : `the build \`${build}\` exited with code ${ran.exitCode}`;
      evidence.failure = { step: "build", message: why };
      const code = ran.killed === "timeout" ? "build_timeout" : ran.killed === "abort" ? "build_aborted" : "build_failed";
      throw new ServiceSourceError(code, "build", why, ran.exitCode, tail, evidence);
    }
    if (!existsSync(join(tree, TREE_CLI))) {
      const why = `the build \`${build}\` succeeded but left no ${TREE_CLI}: the bundled service starts as \`node ${TREE_CLI} ingest serve\`; make the build compile it (npm run build)`;
      evidence.failure = { step: "build", message: why };
      throw new ServiceSourceError("build_output_missing", "build", why, ran.exitCode, tail, evidence);
    }
    await storeInCache(o.cacheDir, cached, tree, evidence).catch(() => {});
    await flushWrites();
    return { dir: tree, cli: join(tree, TREE_CLI), env, evidence, dispose };
  } catch (err) {
    await dispose();
    if (err instanceof ServiceSourceError) throw err;
    throw new ServiceSourceError(
      "archive_invalid",
      "unpack",
      `the source archive of ${o.commit} could not be unpacked: ${(err as Error).message}`,
      null,
      [],
      null,
    );
  }
}

/** The last lines of a log, for a failure report. */
export function logTail(log: string, lines = LOG_TAIL_LINES): string[] {
  const all = log.replace(/\n+$/, "").split("\n");
  return all.slice(Math.max(0, all.length - lines));
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Unpacks a tarball and returns its single top folder (GitHub's archives have exactly one). */
async function unpack(archive: string, into: string): Promise<string> {
  await mkdir(into, { recursive: true });
  // GNU tar refuses member names with ".." and strips leading "/"; owners and modes from the archive
  // are not applied beyond the executable bit.
  const ran = await runProcess("tar", ["-xzf", archive, "-C", into, "--no-same-owner", "--no-same-permissions"], {
    cwd: into,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  if (ran.exitCode !== 0) throw new Error(`tar exited with code ${ran.exitCode}: ${ran.log.trim().split("\n").slice(-3).join(" ")}`);
  const entries = (await readdir(into, { withFileTypes: true })).filter((e) => e.name !== "pax_global_header");
  if (entries.length !== 1 || !entries[0]!.isDirectory()) {
    throw new Error(`expected one top folder ({owner}-{repo}-{sha7}/), found ${entries.map((e) => e.name).join(", ") || "nothing"}`);
  }
  return join(into, entries[0]!.name);
}

/**
 * The git tree SHA-1 of a folder, as `git write-tree` would compute it for these files: blobs with
 * their mode (executable or not, symlinks), trees sorted the way git sorts them.
 */
export async function gitTreeSha(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  const items: { name: string; mode: string; sha: Buffer; sortKey: string }[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      items.push({ name: e.name, mode: "120000", sha: objectSha("blob", Buffer.from(await readlink(path))), sortKey: e.name });
    } else if (st.isDirectory()) {
      const sub = await gitTreeSha(path);
      if (sub === EMPTY_TREE) continue; // git records no empty folders
      items.push({ name: e.name, mode: "40000", sha: Buffer.from(sub, "hex"), sortKey: `${e.name}/` });
    } else if (st.isFile()) {
      items.push({
        name: e.name,
        mode: st.mode & 0o111 ? "100755" : "100644",
        sha: objectSha("blob", await readFile(path)),
        sortKey: e.name,
      });
    }
  }
  items.sort((a, b) => Buffer.compare(Buffer.from(a.sortKey), Buffer.from(b.sortKey)));
  const body = Buffer.concat(items.flatMap((i) => [Buffer.from(`${i.mode} ${i.name}\0`), i.sha]));
  return objectSha("tree", body).toString("hex");
}

const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

function objectSha(kind: "blob" | "tree", content: Buffer): Buffer {
  return createHash("sha1").update(`${kind} ${content.length}\0`).update(content).digest();
}

interface CacheRecord {
  exitCode: number;
  durationMs: number;
  builtAt: string;
  log: string;
}

/**
 * Put the build's (or the copy's) writes on the disk before the service is measured: their writeback
 * would otherwise go on during the first phase, and a process writing a file (the service's logs, its
 * database) blocks while the kernel throttles dirty pages. (A load phase that began right after a build
 * once measured a P95 of 102 ms where 10-20 ms is the norm.) Errors are ignored: this only waits.
 */
function flushWrites(): Promise<void> {
  return new Promise((resolve) => execFile("sync", [], { timeout: 120_000 }, () => resolve()));
}

async function readRecord(cached: string): Promise<CacheRecord | null> {
  try {
    return JSON.parse(await readFile(join(cached, "build.json"), "utf8")) as CacheRecord;
  } catch {
    return null;
  }
}

/** Copies a built tree into the cache under a temporary name, then renames it: a half copy is never used. */
async function storeInCache(cacheDir: string, cached: string, tree: string, e: ServiceSourceEvidence): Promise<void> {
  const staging = join(cacheDir, "builds", `.staging-${randomBytes(6).toString("hex")}`);
  await mkdir(staging, { recursive: true });
  try {
    await copyTree(tree, join(staging, "tree"));
    const record: CacheRecord = { exitCode: e.exitCode ?? 0, durationMs: e.durationMs, builtAt: e.builtAt, log: e.log };
    await writeFile(join(staging, "build.json"), JSON.stringify(record));
    await rename(staging, cached);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

/**
 * `cp -a`: a real copy. Hard links (`cp -al`, 8× faster here) would share every file of node_modules
 * with the cache, so a build or service that writes into its tree would change the cached build.
 */
async function copyTree(from: string, to: string): Promise<void> {
  const ran = await runProcess("cp", ["-a", from, to], { cwd: dirname(to), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  if (ran.exitCode !== 0) throw new Error(`copying ${from} failed: ${ran.log.trim()}`);
}

async function runBuild(
  command: string,
  cwd: string,
  env: Record<string, string>,
  logFile: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ exitCode: number | null; log: string; killed?: "timeout" | "abort" }> {
  return runProcess("/bin/sh", ["-c", command], { cwd, env, logFile, timeoutMs, signal });
}

/** Runs a process in a process group of its own (so a timeout stops everything it started), output to a file. */
async function runProcess(
  file: string,
  args: string[],
  o: { cwd: string; env: Record<string, string>; logFile?: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<{ exitCode: number | null; log: string; killed?: "timeout" | "abort" }> {
  const logFile = o.logFile ?? join(o.cwd, "..", `.${randomBytes(4).toString("hex")}.log`);
  const handle = await open(logFile, "w");
  try {
    const child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", handle.fd, handle.fd], detached: true });
    let killed: "timeout" | "abort" | undefined;
    const kill = (why: "timeout" | "abort") => {
      killed ??= why;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = o.timeoutMs ? setTimeout(() => kill("timeout"), o.timeoutMs) : undefined;
    const onAbort = () => kill("abort");
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => resolve(code));
    });
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    const log = await readFile(logFile, "utf8");
    return { exitCode: killed ? null : exitCode, log, killed };
  } finally {
    await handle.close();
    if (!o.logFile) await rm(logFile, { force: true });
  }
}
