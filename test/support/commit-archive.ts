// A commit of some files in a fresh git repository, and its archive as GitHub serves it (one top folder
// named `{owner}-{repo}-{sha7}/`), with its git tree SHA: the source a run of that commit builds.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function commitArchive(
  work: string,
  files: Record<string, string>,
  topFolder = "acme-service",
): { archive: string; commit: string; tree: string } {
  const repo = join(work, `repo-${Math.random().toString(36).slice(2)}`);
  mkdirSync(repo, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: repo,
      env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" },
    })
      .toString()
      .trim();
  git("init", "-q");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(repo, path, ".."), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  git("add", "-A");
  git("commit", "-q", "-m", "c");
  const commit = git("rev-parse", "HEAD");
  const archive = join(work, `${commit}.tar.gz`);
  git("archive", "--format=tar.gz", `--prefix=${topFolder}-${commit.slice(0, 7)}/`, "-o", archive, "HEAD");
  return { archive, commit, tree: git("rev-parse", "HEAD^{tree}") };
}
