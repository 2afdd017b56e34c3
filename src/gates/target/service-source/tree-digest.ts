// Digests of a tree of files: git's tree SHA of the unpacked source (what the commit says it holds), and
// a faster digest of a built tree (sources, node_modules and dist) that the build cache records on
// store and checks on every reuse.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

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

/** What a built tree holds, member by member, and the SHA-256 of that manifest. */
export interface TreeDigest {
  sha256: string;
  files: number;
  bytes: number;
  /** Members a cache must not keep: anything but files, folders and links, and set-id files. */
  unusual: string[];
}

/** Files read at once: enough to keep the disk busy, few enough not to exhaust descriptors. */
const READERS = 16;
/** Files smaller than this are read whole; larger ones streamed. */
const WHOLE_FILE_BYTES = 8 * 1024 * 1024;

/**
 * A sorted manifest of every member (kind, permission bits including set-id, size, the SHA-256 of its
 * content or its link target, path) and the SHA-256 of that manifest. Unlike gitTreeSha it covers
 * empty folders, FIFOs and sockets (gitTreeSha skips them) and every mode bit including set-id, and
 * reads files READERS at a time. Measured on this repository's built tree (13,869 files, 195 MB, on a
 * shared 2-core machine): 1.4-2.5 s, where gitTreeSha takes 1.7-2.9 s; reading the bytes is the cost.
 */
export async function treeDigest(dir: string): Promise<TreeDigest> {
  const lines: { path: string; text: string }[] = [];
  const line = (path: string, text: string) => lines.push({ path, text: `${text} ${JSON.stringify(path)}` });
  const unusual: string[] = [];
  const files: { rel: string; abs: string; mode: number; size: number }[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = join(dir, r);
      const st = await lstat(abs);
      const perm = (st.mode & 0o7777).toString(8);
      if (st.mode & 0o6000) unusual.push(`${r} (set-id)`);
      if (st.isSymbolicLink()) line(r, `l ${perm} ${JSON.stringify(await readlink(abs))}`);
      else if (st.isDirectory()) {
        line(r, `d ${perm}`);
        await walk(r);
      } else if (st.isFile()) {
        files.push({ rel: r, abs, mode: st.mode & 0o7777, size: st.size });
        bytes += st.size;
      } else {
        unusual.push(`${r} (${st.isFIFO() ? "FIFO" : st.isSocket() ? "socket" : "device"})`);
        line(r, `o ${perm}`);
      }
    }
  };
  await walk("");
  let next = 0;
  const reader = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      line(f.rel, `f ${f.mode.toString(8)} ${f.size} ${await sha256Of(f.abs, f.size)}`);
    }
  };
  await Promise.all(Array.from({ length: READERS }, reader));
  lines.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const sha256 = createHash("sha256")
    .update(lines.map((l) => l.text).join("\n"))
    .digest("hex");
  return { sha256, files: files.length, bytes, unusual };
}

/** SHA-256 of a file, read whole when small and streamed when large. */
export async function sha256Of(file: string, size?: number): Promise<string> {
  const hash = createHash("sha256");
  if (size !== undefined && size < WHOLE_FILE_BYTES) return hash.update(await readFile(file)).digest("hex");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
