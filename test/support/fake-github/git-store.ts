// The fake GitHub's object database: blobs, trees and commits addressed by their real git SHA-1,
// so a tree built through the Git Data API can be compared with one built by `git` itself.

import { createHash } from "node:crypto";

export type TreeEntryMode = "100644" | "100755" | "040000" | "160000" | "120000";
export type TreeEntryType = "blob" | "tree" | "commit";

export interface TreeEntry {
  /** One path segment: trees nest, as in git. */
  name: string;
  mode: TreeEntryMode;
  type: TreeEntryType;
  sha: string;
}

export interface GitPerson {
  name: string;
  email: string;
  /** ISO 8601, second precision, as GitHub renders it. */
  date: string;
}

export interface BlobObject {
  kind: "blob";
  sha: string;
  content: Buffer;
}

export interface TreeObject {
  kind: "tree";
  sha: string;
  entries: TreeEntry[];
}

export interface CommitObject {
  kind: "commit";
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: GitPerson;
  committer: GitPerson;
}

export type GitObject = BlobObject | TreeObject | CommitObject;

/** A file in a flattened tree: what a checkout of that tree would write at `path`. */
export interface FlatEntry {
  mode: TreeEntryMode;
  type: TreeEntryType;
  sha: string;
}

/** A change to a flattened tree: set a path to a blob (or submodule), or delete it (sha null). */
export interface TreeChange {
  path: string;
  mode: TreeEntryMode;
  type: TreeEntryType;
  sha: string | null;
}

export const TREE_MODES: readonly TreeEntryMode[] = ["100644", "100755", "040000", "160000", "120000"];

export class GitStore {
  readonly objects = new Map<string, GitObject>();

  putBlob(content: Buffer): BlobObject {
    const sha = objectSha("blob", content);
    const existing = this.objects.get(sha);
    if (existing?.kind === "blob") return existing;
    const blob: BlobObject = { kind: "blob", sha, content: Buffer.from(content) };
    this.objects.set(sha, blob);
    return blob;
  }

  putTree(entries: TreeEntry[]): TreeObject {
    const sorted = [...entries].sort(compareTreeEntries);
    const body = Buffer.concat(
      sorted.map((e) =>
        Buffer.concat([Buffer.from(`${e.mode === "040000" ? "40000" : e.mode} ${e.name}\0`, "utf8"), Buffer.from(e.sha, "hex")]),
      ),
    );
    const sha = objectSha("tree", body);
    const existing = this.objects.get(sha);
    if (existing?.kind === "tree") return existing;
    const tree: TreeObject = { kind: "tree", sha, entries: sorted };
    this.objects.set(sha, tree);
    return tree;
  }

  putCommit(commit: Omit<CommitObject, "kind" | "sha">): CommitObject {
    const lines = [`tree ${commit.tree}`, ...commit.parents.map((p) => `parent ${p}`)];
    lines.push(`author ${signature(commit.author)}`, `committer ${signature(commit.committer)}`);
    const body = Buffer.from(`${lines.join("\n")}\n\n${commit.message}`, "utf8");
    const sha = objectSha("commit", body);
    const existing = this.objects.get(sha);
    if (existing?.kind === "commit") return existing;
    const stored: CommitObject = { kind: "commit", sha, ...commit, parents: [...commit.parents] };
    this.objects.set(sha, stored);
    return stored;
  }

  blob(sha: string): BlobObject | undefined {
    const o = this.objects.get(sha);
    return o?.kind === "blob" ? o : undefined;
  }

  tree(sha: string): TreeObject | undefined {
    const o = this.objects.get(sha);
    return o?.kind === "tree" ? o : undefined;
  }

  commit(sha: string): CommitObject | undefined {
    const o = this.objects.get(sha);
    return o?.kind === "commit" ? o : undefined;
  }

  /** Every file (and submodule) under a tree, keyed by its full path. Directories are implied. */
  flatten(treeSha: string, prefix = "", into = new Map<string, FlatEntry>()): Map<string, FlatEntry> {
    const tree = this.tree(treeSha);
    if (!tree) throw new Error(`tree ${treeSha} is not in the fake's object store`);
    for (const e of tree.entries) {
      const path = prefix + e.name;
      if (e.type === "tree") this.flatten(e.sha, `${path}/`, into);
      else into.set(path, { mode: e.mode, type: e.type, sha: e.sha });
    }
    return into;
  }

  /** Builds the nested trees for a flat path map, bottom up, and returns the root tree. */
  buildTree(files: Map<string, FlatEntry>): TreeObject {
    interface Dir {
      files: Map<string, FlatEntry>;
      dirs: Map<string, Dir>;
    }
    const root: Dir = { files: new Map(), dirs: new Map() };
    for (const [path, entry] of files) {
      const parts = path.split("/");
      let dir = root;
      for (const part of parts.slice(0, -1)) {
        let next = dir.dirs.get(part);
        if (!next) dir.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
        dir = next;
      }
      dir.files.set(parts[parts.length - 1], entry);
    }
    const write = (dir: Dir): TreeObject => {
      const entries: TreeEntry[] = [];
      for (const [name, e] of dir.files) entries.push({ name, ...e });
      for (const [name, sub] of dir.dirs) entries.push({ name, mode: "040000", type: "tree", sha: write(sub).sha });
      return this.putTree(entries);
    };
    return write(root);
  }

  /**
   * Applies changes to a flattened tree the way GitHub's create-tree does: a path set to a file
   * replaces whatever was there (a directory of that name goes), a deletion removes a file or a
   * whole directory, and directories left empty disappear.
   */
  applyChanges(base: Map<string, FlatEntry>, changes: TreeChange[]): Map<string, FlatEntry> {
    const files = new Map(base);
    const removeUnder = (path: string) => {
      for (const p of [...files.keys()]) if (p === path || p.startsWith(`${path}/`)) files.delete(p);
    };
    for (const change of changes) {
      if (change.sha === null) {
        removeUnder(change.path);
        continue;
      }
      if (change.type === "tree") {
        removeUnder(change.path);
        for (const [p, e] of this.flatten(change.sha)) files.set(`${change.path}/${p}`, e);
        continue;
      }
      removeUnder(change.path);
      // A file at a/b replaces a file named a.
      const parts = change.path.split("/");
      for (let i = 1; i < parts.length; i++) files.delete(parts.slice(0, i).join("/"));
      files.set(change.path, { mode: change.mode, type: change.type, sha: change.sha });
    }
    return files;
  }

  /** True when `ancestor` is `descendant` or reachable from it through parents. */
  isAncestor(ancestor: string, descendant: string): boolean {
    return this.ancestors(descendant).has(ancestor);
  }

  ancestors(sha: string): Set<string> {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      const c = this.commit(s);
      if (c) stack.push(...c.parents);
    }
    return seen;
  }

  /** The nearest common ancestor of two commits (breadth first from `b`), or null. */
  mergeBase(a: string, b: string): string | null {
    const fromA = this.ancestors(a);
    const queue = [b];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const s = queue.shift()!;
      if (seen.has(s)) continue;
      seen.add(s);
      if (fromA.has(s)) return s;
      const c = this.commit(s);
      if (c) queue.push(...c.parents);
    }
    return null;
  }
}

export function objectSha(kind: "blob" | "tree" | "commit", body: Buffer): string {
  return createHash("sha1").update(`${kind} ${body.length}\0`).update(body).digest("hex");
}

function signature(p: GitPerson): string {
  return `${p.name} <${p.email}> ${Math.floor(Date.parse(p.date) / 1000)} +0000`;
}

// git sorts tree entries bytewise, comparing a subtree's name as if it ended in "/".
function compareTreeEntries(a: TreeEntry, b: TreeEntry): number {
  const ka = Buffer.from(a.type === "tree" ? `${a.name}/` : a.name, "utf8");
  const kb = Buffer.from(b.type === "tree" ? `${b.name}/` : b.name, "utf8");
  return Buffer.compare(ka, kb);
}
