// Source archives, as GitHub serves them: `GET /repos/{o}/{r}/tarball/{ref}` answers 302 to a download
// host (codeload.github.com; on GHES the instance itself) with a short-lived token in the URL, and the
// download is a gzipped tar of the commit's tree under one top folder `{owner}-{repo}-{sha7}/`.
// The tar is made by the real `tar` from the fake's own objects, so what a client unpacks is the tree
// the fake's git store holds, byte for byte, modes and symlinks included.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GitHubApiError } from "./github-errors.js";
import type { RepositoryState } from "./repository-state.js";
import { checkRepository, route, type Route } from "./router.js";

/** Where downloads are served, outside /api/v3 as codeload is outside api.github.com. */
export const CODELOAD_PREFIX = "/_codeload";
/** How long a download URL works (GitHub's last about five minutes). */
const TOKEN_TTL_MS = 5 * 60_000;

const tokens = new WeakMap<RepositoryState, Map<string, { sha: string; expires: number }>>();
const archives = new WeakMap<RepositoryState, Map<string, Buffer>>();

function tokensOf(state: RepositoryState) {
  let t = tokens.get(state);
  if (!t) tokens.set(state, (t = new Map()));
  return t;
}

export const archiveRoutes: Route[] = [
  route("GET", "/repos/:owner/:repo/tarball/*ref", "repos.downloadTarballArchive", (req) => {
    checkRepository(req);
    const sha = req.state.resolveCommit(req.params.ref);
    if (!sha)
      throw new GitHubApiError(404, {
        message: "Not Found",
        documentation_url: "https://docs.github.com/rest/repos/contents#download-a-repository-archive-tar",
        status: "404",
      });
    const token = randomBytes(16).toString("hex");
    tokensOf(req.state).set(token, { sha, expires: Date.now() + TOKEN_TTL_MS });
    const origin = new URL(req.selfUrl).origin;
    return {
      status: 302,
      headers: { location: `${origin}${CODELOAD_PREFIX}/${req.state.owner}/${req.state.repo}/legacy.tar.gz/${sha}?token=${token}` },
    };
  }),
];

/** The download behind the redirect: 404 without a valid token for that commit, as codeload answers. */
export function downloadArchive(
  state: RepositoryState,
  path: string,
  token: string | null,
): { status: number; body: Buffer; headers: Record<string, string> } {
  const m = new RegExp(`^${CODELOAD_PREFIX}/([^/]+)/([^/]+)/legacy\\.tar\\.gz/([0-9a-f]{40})$`).exec(path);
  const grant = token ? tokensOf(state).get(token) : undefined;
  if (!m || m[1] !== state.owner || m[2] !== state.repo || !grant || grant.sha !== m[3] || grant.expires < Date.now()) {
    return { status: 404, body: Buffer.from("404: Not Found"), headers: { "content-type": "text/plain; charset=utf-8" } };
  }
  const sha = m[3]!;
  const name = `${state.owner}-${state.repo}-${sha.slice(0, 7)}`;
  return {
    status: 200,
    body: tarballOf(state, sha, name),
    headers: { "content-type": "application/x-gzip", "content-disposition": `attachment; filename=${name}.tar.gz` },
  };
}

function tarballOf(state: RepositoryState, sha: string, top: string): Buffer {
  let cache = archives.get(state);
  if (!cache) archives.set(state, (cache = new Map()));
  const cached = cache.get(sha);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "fake-github-archive-"));
  try {
    const files = state.git.flatten(state.git.commit(sha)!.tree);
    for (const [path, entry] of files) {
      if (entry.type !== "blob") continue; // submodules are not in archives
      const file = join(dir, top, path);
      mkdirSync(dirname(file), { recursive: true });
      const content = state.git.blob(entry.sha)!.content;
      if (entry.mode === "120000") symlinkSync(content.toString("utf8"), file);
      else {
        writeFileSync(file, content);
        chmodSync(file, entry.mode === "100755" ? 0o755 : 0o644);
      }
    }
    mkdirSync(join(dir, top), { recursive: true });
    const tar = execFileSync("tar", ["-czf", "-", "--owner=0", "--group=0", "--numeric-owner", "-C", dir, top], {
      maxBuffer: 512 * 1024 * 1024,
    });
    cache.set(sha, tar);
    return tar;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
