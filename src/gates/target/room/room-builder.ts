// Builds a tree inside the sealed room. The room has no network, so npm packages are fetched first, with no
// code of the tree running: npm alone, scripts off, from a folder holding only package.json and the
// lockfile, into an npm cache of the room's own (seeded from the runner's, which is refreshed from it only
// at that point, before the tree's code has run). Then the build command runs sealed, offline. A lockfile
// whose packages the runner's cache already took in full is not fetched again: its digest is noted in
// the cache when the fetch that filled it succeeds.

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, lstat, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { BuildOutcome, BuildRun, Builder } from "../service-source/index.js";
import { chownTree, type SealedRoom } from "./sealed-room.js";

/** Changes when the way a room builds changes: part of the build cache's key. */
export const ROOM_BUILDER_VERSION = `room/1 node ${process.version}`;

type BuildStep = BuildOutcome;

/** In the runner's npm cache: one empty file per lockfile (its sha256) whose every package the cache holds. */
const FETCHED_LOCKFILES = "release-gate-fetched-lockfiles";

export class RoomBuilder implements Builder {
  readonly version = ROOM_BUILDER_VERSION;

  constructor(
    private readonly room: SealedRoom,
    /** The runner's npm cache for rooms (kept with the build cache, one per installation). */
    private readonly npmCache: string,
    /**
     * Where a first room's cache is seeded from: the runner's own npm cache (its packages were checked
     * against their lockfiles' hashes when npm put them there, as they will be again in the room).
     */
    private readonly seed: string = process.env.npm_config_cache || join(homedir(), ".npm"),
  ) {}

  /** The tree and the build's HOME become the room user's. */
  async prepare(dirs: { tree: string; home: string }): Promise<void> {
    await chownTree(dirs.tree, this.room.uid, this.room.uid);
    await chownTree(dirs.home, this.room.uid, this.room.uid);
  }

  async run(command: string, o: BuildRun): Promise<BuildStep> {
    const deadline = Date.now() + o.timeoutMs;
    const roomCache = join(this.room.dir, "service", "npm-cache");
    const env = { ...o.env, npm_config_cache: roomCache, npm_config_update_notifier: "false" };
    const fetched = await this.fetchDependencies(o.cwd, roomCache, env, o.logFile, o.timeoutMs, o.signal);
    if (fetched && (fetched.killed || fetched.exitCode !== 0)) return fetched;
    const built = await this.room.run({
      command: "/bin/sh",
      args: ["-c", command],
      as: "service",
      cwd: o.cwd,
      env: { ...env, npm_config_offline: "true" },
      logFile: `${o.logFile}.build`,
      timeoutMs: Math.max(1, deadline - Date.now()),
      signal: o.signal,
    });
    return { ...built, log: `${fetched?.log ?? ""}${built.log}` };
  }

  /**
   * npm's packages for the tree's lockfile, into the room's cache, on the host's network (the room has
   * none): null when the tree has no lockfile (the build then has only what it brings).
   */
  private async fetchDependencies(
    tree: string,
    roomCache: string,
    env: Record<string, string>,
    logFile: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<BuildStep | null> {
    const lockfile = join(tree, "package-lock.json");
    const manifest = join(tree, "package.json");
    // Read without following links: a link could point anywhere on the runner's disk.
    if (!(await isRegularFile(lockfile)) || !(await isRegularFile(manifest))) return null;
    const digest = createHash("sha256")
      .update(await readFile(lockfile))
      .digest("hex");
    const fetchedMark = join(this.npmCache, FETCHED_LOCKFILES, digest);
    if (existsSync(fetchedMark)) {
      // Fetched before in full: the build's offline install finds every package in the room's copy.
      await this.seedRoomCache(roomCache);
      return {
        exitCode: 0,
        log: `--- dependencies: every package of this lockfile (sha256 ${digest}) is in the runner's npm cache; not fetched again\n--- build\n`,
      };
    }
    const deps = join(this.room.dir, "service", "dependencies");
    await mkdir(deps, { recursive: true });
    await copyFile(manifest, join(deps, "package.json"));
    await copyFile(lockfile, join(deps, "package-lock.json"));
    await this.seedRoomCache(roomCache);
    const step = await this.room.run({
      command: "npm",
      args: ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
      as: "service",
      cwd: deps,
      env,
      logFile: `${logFile}.dependencies`,
      timeoutMs,
      signal,
      sealedNetwork: false,
    });
    await rm(deps, { recursive: true, force: true });
    const log = `--- dependencies (npm ci --ignore-scripts, before the tree's code runs)\n${step.log}--- build\n`;
    if (step.killed || step.exitCode !== 0) return { ...step, log };
    await this.keepCache(roomCache, digest);
    return { ...step, log };
  }

  /**
   * The room's npm cache: a copy of the runner's for rooms, or for the first room only npm's
   * content-addressed store of the runner's own cache, never its logs. Then everything the room's
   * service user works in is its own.
   */
  private async seedRoomCache(roomCache: string): Promise<void> {
    if (existsSync(this.npmCache)) await copyTree(this.npmCache, roomCache);
    else if (existsSync(join(this.seed, "_cacache"))) await copyTree(join(this.seed, "_cacache"), join(roomCache, "_cacache"));
    await chownTree(join(this.room.dir, "service"), this.room.uid, this.room.uid);
  }

  /**
   * The room's cache, filled by npm alone, becomes the runner's: a copy under a new name, then a rename;
   * the lockfile it was filled for (`digest`) is noted in it as fetched.
   */
  private async keepCache(roomCache: string, digest: string): Promise<void> {
    const staging = `${this.npmCache}.staging-${randomBytes(4).toString("hex")}`;
    try {
      await copyTree(roomCache, staging);
      await mkdir(join(staging, FETCHED_LOCKFILES), { recursive: true });
      await writeFile(join(staging, FETCHED_LOCKFILES, digest), "");
      await chownTree(staging, 0, 0);
      const old = `${this.npmCache}.old-${randomBytes(4).toString("hex")}`;
      if (existsSync(this.npmCache)) await rename(this.npmCache, old);
      await rename(staging, this.npmCache);
      await rm(old, { recursive: true, force: true });
    } catch {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  return new Promise((done, fail) =>
    execFile("cp", ["-a", `${from}/.`, to], { timeout: 300_000 }, (err, _o, stderr) =>
      err ? fail(new Error(`copying ${from}: ${String(stderr).trim() || err.message}`)) : done(),
    ),
  );
}
