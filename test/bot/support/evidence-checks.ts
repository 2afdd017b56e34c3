// What tests check about evidence on the fake GitHub: the bundle as committed on a branch, written to
// disk and checked with real coreutils (`sha256sum -c --strict`), and its JSON files.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { FakeGitHub } from "../../support/fake-github.js";

/** The files of run `runId`'s bundle on `branch`, by their path inside the bundle. */
export function bundleOnBranch(fake: FakeGitHub, branch: string, runId: string): Map<string, Buffer> {
  const prefix = `evidence/${runId}/`;
  const out = new Map<string, Buffer>();
  for (const [path, bytes] of fake.readTree(branch)) if (path.startsWith(prefix)) out.set(path.slice(prefix.length), bytes);
  return out;
}

/** `sha256sum -c --strict SHA256SUMS` over the files written to a fresh folder; returns its output (throws on failure). */
export function sha256sumCheck(files: Map<string, Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), "bot-sha256sum-"));
  try {
    for (const [path, bytes] of files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), bytes);
    }
    return execFileSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir }).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function bundleJson<T = any>(files: Map<string, Buffer>, path: string): T {
  const bytes = files.get(path);
  if (!bytes) throw new Error(`the bundle has no ${path}`);
  return JSON.parse(bytes.toString("utf8")) as T;
}
