// The service under test, built from the commit a run names: a source archive (a tarball of one commit,
// fetched by whoever holds the credentials) is unpacked on a leash into a scratch folder, built with the
// gate's build command by a builder (the host's process group, or a sealed room) in an environment of
// its own, and deployed from there. Builds are cached per repository, tree, lockfile, command and
// builder, and every reuse is checked against the digest recorded when the build was stored.
// Code from a pull request runs here: nothing of the runner's environment reaches it but an allow-list.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { DEFAULT_SOURCE_LIMITS, type SourceLimits } from "../../model/index.js";
import { BuildCache, type BuildKey, type CacheDecision } from "./build-cache.js";
import { hostBuilder, type Builder } from "./builder.js";
import { ServiceSourceError, type ServiceSourceEvidence } from "./source-evidence.js";
import { gitTreeSha, sha256Of } from "./tree-digest.js";
import { ArchiveRefused, unpackArchive } from "./unpack.js";

/** The default build of a bundled service tree: what a clean checkout needs before `gate ingest serve` runs. */
export const DEFAULT_BUILD_COMMAND = "npm ci --no-audit --no-fund && npm run build";
/** How many log lines a failure shows. */
export const LOG_TAIL_LINES = 40;
/** Where a built tree's CLI is: the bundled service is started as `node <tree>/dist/src/cli.js ingest ...`. */
export const TREE_CLI = join("dist", "src", "cli.js");
const DEFAULT_BUILD_TIMEOUT_MS = 15 * 60_000;

export interface ServiceSourceOptions {
  /** A gzipped tarball of one commit with a single top folder (GitHub's `{owner}-{repo}-{sha7}/`). */
  archive: string;
  commit: string;
  /** `owner/repo` the commit is of (the CLI names its own, e.g. "local"): part of the cache key. */
  repository: string;
  build?: string;
  /** Where built trees are kept between runs: one folder per installation (the bot) or per CLI. */
  cacheDir: string;
  /** Entries kept in cacheDir (default CACHE_ENTRIES). */
  cacheEntries?: number;
  /** Caps on the archive and what it unpacks to (default DEFAULT_SOURCE_LIMITS). */
  limits?: SourceLimits;
  /** Runs the build (default: a process group of the runner's own, as today). */
  builder?: Builder;
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
  const limits = o.limits ?? DEFAULT_SOURCE_LIMITS;
  const builder = o.builder ?? hostBuilder();
  const timeoutMs = o.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
  const scratch = o.scratchDir ?? (await mkdtemp(join(tmpdir(), "release-gate-tree-")));
  await mkdir(scratch, { recursive: true });
  const home = join(scratch, "home");
  await mkdir(join(home, "tmp"), { recursive: true });
  const npmCache = o.npmCache ?? join((o.baseEnv ?? process.env).HOME || homedir(), ".npm");
  const dispose = () => rm(scratch, { recursive: true, force: true });
  const fail = (code: ServiceSourceError["code"], step: ServiceSourceError["step"], message: string) =>
    new ServiceSourceError(code, step, message, null, [], null);
  try {
    const size = (await stat(o.archive)).size;
    if (size > limits.archive.bytes)
      throw fail(
        "archive_too_large",
        "unpack",
        `the source archive of ${o.commit} is ${size} bytes, more than the gate allows (target.bundled.source_limits.archive: ${limits.archive.display}); if the commit really is that big, raise source_limits.archive in the gate file`,
      );
    const tarballSha256 = await sha256Of(o.archive);
    const top = await unpackArchive(o.archive, join(scratch, "unpacked"), limits).catch((err: unknown) => {
      if (!(err instanceof ArchiveRefused)) throw err;
      throw fail(
        err.reason === "too_large" ? "archive_too_large" : "archive_invalid",
        "unpack",
        `the source archive of ${o.commit} was refused: ${err.message}`,
      );
    });
    const treeSha = await gitTreeSha(top);
    const lockfileSha256 = await lockfileDigest(top, o.commit, fail);
    const key: BuildKey = { repository: o.repository, treeSha, lockfileSha256, buildCommand: build, builderVersion: builder.version };
    const cache = new BuildCache(o.cacheDir, o.cacheEntries);
    const tree = join(scratch, "tree");
    const env = isolatedEnv(o.baseEnv ?? process.env, home, npmCache);
    const base = {
      commit: o.commit,
      repository: o.repository,
      tarballSha256,
      treeSha,
      lockfileSha256,
      buildCommand: build,
      builder: builder.version,
    };

    // A copy, not the cached folder itself: the service may write to its tree, and must not change
    // what the next run of this commit starts from.
    const taken = await cache.take(key, tree);
    if (taken.build) {
      await rm(top, { recursive: true, force: true });
      await flushWrites();
      const evidence: ServiceSourceEvidence = { ...base, ...taken.build, cached: true, cache: taken.decision };
      return { dir: tree, cli: join(tree, TREE_CLI), env, evidence, dispose };
    }

    await rename(top, tree);
    await builder.prepare?.({ tree, home });
    const started = Date.now();
    const builtAt = new Date().toISOString();
    const ran = await builder.run(build, { cwd: tree, env, logFile: join(scratch, "build.log"), timeoutMs, signal: o.signal });
    const decision: CacheDecision = { ...taken.decision };
    const evidence: ServiceSourceEvidence = {
      ...base,
      exitCode: ran.exitCode,
      durationMs: Date.now() - started,
      builtAt,
      cached: false,
      cache: decision,
      log: ran.log,
    };
    const tail = logTail(ran.log);
    if (ran.killed || ran.exitCode !== 0) {
      const why =
        ran.killed === "timeout"
          ? `the build did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`
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
    Object.assign(decision, await cache.store(key, tree, { exitCode: 0, durationMs: evidence.durationMs, builtAt, log: ran.log }));
    await flushWrites();
    return { dir: tree, cli: join(tree, TREE_CLI), env, evidence, dispose };
  } catch (err) {
    await dispose();
    if (err instanceof ServiceSourceError) throw err;
    throw fail("archive_invalid", "unpack", `the source archive of ${o.commit} could not be unpacked: ${(err as Error).message}`);
  }
}

/** The last lines of a log, for a failure report. */
export function logTail(log: string, lines = LOG_TAIL_LINES): string[] {
  const all = log.replace(/\n+$/, "").split("\n");
  return all.slice(Math.max(0, all.length - lines));
}

/**
 * SHA-256 of the tree's package-lock.json, or null when it has none. Read without following links: a
 * symlinked lockfile once made the runner hash a file outside the tree (and put its digest in the
 * evidence). A link or anything but a plain file is refused, not treated as absent, because `npm ci`
 * would still follow it and build from a lockfile the cache key does not name.
 */
async function lockfileDigest(
  top: string,
  commit: string,
  fail: (code: "archive_invalid", step: "unpack", message: string) => Error,
): Promise<string | null> {
  const file = join(top, "package-lock.json");
  const st = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
  if (!st) return null;
  if (!st.isFile())
    throw fail(
      "archive_invalid",
      "unpack",
      `the source archive of ${commit} was refused: its package-lock.json is ${st.isSymbolicLink() ? "a symbolic link" : "not a file"}; commit the lockfile itself`,
    );
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
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
