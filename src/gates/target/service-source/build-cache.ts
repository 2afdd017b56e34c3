// Built trees kept between runs so a second run of a commit starts in seconds. Only the runner writes
// here (folders 0700): a build hands over its tree, the runner copies it in and records its digest,
// and every reuse checks the copy it takes against that digest. The key names the repository and the
// builder, so one repository's build (or a build made outside the room) never stands in for another's.

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { treeDigest, type TreeDigest } from "./tree-digest.js";
import type { CacheDecision } from "../../model/index.js";
export type { CacheDecision } from "../../model/index.js";

/** Everything a build's output depends on: two builds with the same key are interchangeable. */
export interface BuildKey {
  /** `owner/repo`, or a name of the CLI's own for a local archive. */
  repository: string;
  treeSha: string;
  lockfileSha256: string | null;
  buildCommand: string;
  builderVersion: string;
}

/** What the runner wrote beside a cached tree. Trusted only because no build can write the cache. */
interface CacheRecord extends BuildKey {
  format: 1;
  treeDigest: string;
  exitCode: number;
  durationMs: number;
  builtAt: string;
  log: string;
}

const run = promisify(execFile);

export type CachedBuild = Pick<CacheRecord, "exitCode" | "durationMs" | "builtAt" | "log">;

/** Entries kept per cache folder (one per installation): a built tree of this repository is ~235 MB. */
export const CACHE_ENTRIES = 5;
/** An entry unused for this long is removed. */
export const CACHE_MAX_AGE_MS = 14 * 24 * 3600_000;
/** A staging folder this old belongs to a runner that died mid-store. */
const STAGING_MAX_AGE_MS = 3600_000;

export function cacheKey(k: BuildKey): string {
  return createHash("sha256")
    .update(JSON.stringify([k.repository, k.treeSha, k.lockfileSha256, k.buildCommand, k.builderVersion]))
    .digest("hex")
    .slice(0, 40);
}

export class BuildCache {
  constructor(
    readonly dir: string,
    private readonly maxEntries = CACHE_ENTRIES,
  ) {}

  private get builds(): string {
    return join(this.dir, "builds");
  }

  /**
   * Copies the cached tree for `k` into `into` and checks the copy against the digest recorded when it
   * was stored. A rejected entry is removed, so the rebuild can take its place.
   */
  async take(k: BuildKey, into: string): Promise<{ decision: CacheDecision; build?: CachedBuild }> {
    const key = cacheKey(k);
    const entry = join(this.builds, key);
    const record = await readRecord(entry);
    if (record === null) return { decision: { decision: "miss", key } };
    const reject = async (reason: string) => {
      await rm(into, { recursive: true, force: true });
      await rm(entry, { recursive: true, force: true });
      return { decision: { decision: "rejected" as const, key, reason } };
    };
    if (record === "unreadable") return reject("its build.json is missing or unreadable");
    const differs = (Object.keys(k) as (keyof BuildKey)[]).filter((f) => record[f] !== k[f]);
    if (differs.length > 0)
      return reject(`its record is of another build (${differs.map((f) => `${f} ${JSON.stringify(record[f])}`).join(", ")})`);
    const started = Date.now();
    let digest: TreeDigest;
    try {
      await copyTree(join(entry, "tree"), into);
      digest = await treeDigest(into);
    } catch (err) {
      return reject(`copying and checking it failed: ${(err as Error).message}`);
    }
    const digestMs = Date.now() - started;
    if (digest.sha256 !== record.treeDigest)
      return reject(
        `its tree (digest ${digest.sha256.slice(0, 12)}) no longer matches the digest recorded when it was stored (${record.treeDigest.slice(0, 12)})`,
      );
    const now = new Date();
    await utimes(entry, now, now).catch(() => {}); // most recently used: kept longest
    const { exitCode, durationMs, builtAt, log } = record;
    return { decision: { decision: "hit", key, treeDigest: digest.sha256, digestMs }, build: { exitCode, durationMs, builtAt, log } };
  }

  /**
   * Copies a built tree in under a staging name, records its digest, then renames: a half copy is never
   * used. Returns its digest, or why it was not stored.
   */
  async store(k: BuildKey, tree: string, build: CachedBuild): Promise<{ treeDigest?: string; digestMs?: number; notStored?: string }> {
    await this.open();
    const staging = join(this.builds, `.staging-${randomBytes(6).toString("hex")}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      await copyTree(tree, join(staging, "tree"));
      const started = Date.now();
      const digest = await treeDigest(join(staging, "tree"));
      const digestMs = Date.now() - started;
      if (digest.unusual.length > 0) {
        await rm(staging, { recursive: true, force: true });
        const shown = digest.unusual.slice(0, 3).join(", ");
        return {
          notStored: `the built tree holds ${shown}${digest.unusual.length > 3 ? " and more" : ""}: a cached tree holds only files, folders and links`,
        };
      }
      const record: CacheRecord = { format: 1, ...k, treeDigest: digest.sha256, ...build };
      await writeFile(join(staging, "build.json"), JSON.stringify(record), { mode: 0o600 });
      try {
        await rename(staging, join(this.builds, cacheKey(k)));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        await rm(staging, { recursive: true, force: true }); // another run stored the same build first
      }
      await this.prune();
      return { treeDigest: digest.sha256, digestMs };
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      return { notStored: `storing it failed: ${(err as Error).message}` };
    }
  }

  /** Keeps the `maxEntries` most recently used entries younger than CACHE_MAX_AGE_MS, and no stale staging folder. */
  async prune(now = Date.now()): Promise<void> {
    const names = await readdir(this.builds).catch(() => [] as string[]);
    const entries: { name: string; used: number }[] = [];
    for (const name of names) {
      const st = await stat(join(this.builds, name)).catch(() => null);
      if (!st) continue;
      if (name.startsWith(".staging-")) {
        if (now - st.mtimeMs > STAGING_MAX_AGE_MS) await rm(join(this.builds, name), { recursive: true, force: true });
      } else if (/^[0-9a-f]{40}$/.test(name)) entries.push({ name, used: st.mtimeMs });
    }
    entries.sort((a, b) => b.used - a.used);
    for (const [i, e] of entries.entries()) {
      if (i >= this.maxEntries || now - e.used > CACHE_MAX_AGE_MS) await rm(join(this.builds, e.name), { recursive: true, force: true });
    }
  }

  /** The cache folders, 0700: the runner's alone (a build or service in the room must not read or plant entries). */
  private async open(): Promise<void> {
    for (const d of [this.dir, this.builds]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
      await chmod(d, 0o700);
    }
  }
}

async function readRecord(entry: string): Promise<CacheRecord | "unreadable" | null> {
  const st = await stat(entry).catch(() => null);
  if (!st) return null;
  try {
    const r = JSON.parse(await readFile(join(entry, "build.json"), "utf8")) as CacheRecord;
    return r.format === 1 && typeof r.treeDigest === "string" ? r : "unreadable";
  } catch {
    return "unreadable";
  }
}

/**
 * `cp -a`: a real copy, owners and modes kept (a tree the room's user built stays that user's, never
 * becomes root's). Hard links (`cp -al`, 8× faster here) would share every file of node_modules with
 * the cache, so a build or service that writes into its tree would change the cached build.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  try {
    await run("cp", ["-a", "--", from, to], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, maxBuffer: 1024 * 1024 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`copying ${from} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}
