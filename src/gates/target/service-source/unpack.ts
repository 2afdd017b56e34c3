// Unpacking a commit's source archive on a leash: every member is checked before a byte of it is
// written, against the gate's caps (unpacked bytes, member count) and a short list of what a source
// tree may hold (files, folders, symbolic links that stay inside it).
//
// Why our own reader and not GNU tar or node-tar: `tar -xzf` as root created device nodes and FIFOs
// and applied no cap; node-tar's extract would need a new dependency and its safety rests on path
// reservations that have needed several CVE fixes. The reader here sees each header first and writes
// with three simple rules that need no cleverness: files are created with O_EXCL (never through
// something already there), no member may lie under a symbolic link of the archive, and links are
// made last, after every file is written, so nothing is ever written through one.

import { constants } from "node:fs";
import { mkdir, open, symlink } from "node:fs/promises";
import { join } from "node:path";
import type { SourceLimits } from "../../model/index.js";
import { forEachMember, TarFormatError, type TarMember } from "./tar-members.js";

/** The archive holds something a source tree may not, or more than the gate allows. */
export class ArchiveRefused extends Error {
  constructor(
    readonly reason: "invalid" | "too_large",
    message: string,
  ) {
    super(message);
  }
}

/** Symbolic links followed inside one link target before it counts as a loop (the kernel's own limit). */
const MAX_LINK_HOPS = 40;

/** Unpacks `archive` into `into` and returns its single top folder (GitHub's `{owner}-{repo}-{sha7}/`). */
export async function unpackArchive(archive: string, into: string, limits: SourceLimits): Promise<string> {
  await mkdir(into, { recursive: true });
  const links = new Map<string, string>();
  let top: string | undefined;
  let members = 0;
  let bytes = 0;
  const refuse = (m: TarMember, why: string) => new ArchiveRefused("invalid", `member ${JSON.stringify(m.name)} ${why}`);
  const tooLarge = (what: string, key: "unpacked" | "files", limit: string) =>
    new ArchiveRefused(
      "too_large",
      `the archive ${what}, more than the gate allows (target.bundled.source_limits.${key}: ${limit}); if the commit really is that big, raise source_limits.${key} in the gate file`,
    );
  // Headers and padding take at most a few KB a member: past this, decompression is only padding.
  const decompressed = {
    bytes: limits.unpacked.bytes + (limits.files.count + 16) * 4 * 1024,
    error: () => tooLarge(`decompresses to more than ${limits.unpacked.display}`, "unpacked", limits.unpacked.display),
  };
  try {
    await forEachMember(archive, decompressed, async (m, content) => {
      const rel = memberPath(m, refuse);
      if (rel === null) return; // "./": the archive's root itself
      const parts = rel.split("/");
      top ??= parts[0]!;
      if (parts[0] !== top)
        throw refuse(m, `is outside the archive's top folder ${JSON.stringify(top)}: expected one top folder, as GitHub's archives have`);
      if (++members > limits.files.count) throw tooLarge(`holds more than ${limits.files.display} members`, "files", limits.files.display);
      for (let i = 1; i <= parts.length; i++) {
        const at = parts.slice(0, i).join("/");
        if (links.has(at))
          throw refuse(m, i === parts.length ? "appears twice in the archive" : `lies under the symbolic link ${JSON.stringify(at)}`);
      }
      const path = join(into, rel);
      switch (m.kind) {
        case "directory":
          await mkdir(path, { recursive: true, mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
            throw err.code === "EEXIST" ? refuse(m, "appears twice in the archive") : err;
          });
          return;
        case "file": {
          if (parts.length === 1) throw refuse(m, "is a file where the top folder should be");
          bytes += m.size;
          if (bytes > limits.unpacked.bytes)
            throw tooLarge(`unpacks to more than ${limits.unpacked.display}`, "unpacked", limits.unpacked.display);
          await mkdir(join(into, ...parts.slice(0, -1)), { recursive: true, mode: 0o755 });
          // O_EXCL | O_NOFOLLOW: a member never replaces or writes through anything already there.
          const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
          const handle = await open(path, flags, m.mode & 0o111 ? 0o755 : 0o644).catch((err: NodeJS.ErrnoException) => {
            throw err.code === "EEXIST" ? refuse(m, "appears twice in the archive") : err;
          });
          try {
            for await (const chunk of content()) await handle.write(chunk);
          } finally {
            await handle.close();
          }
          return;
        }
        case "symlink":
          if (m.linkTarget === "" || m.linkTarget.startsWith("/"))
            throw refuse(m, `is a symbolic link to ${JSON.stringify(m.linkTarget)}: a link must point inside the tree, by a relative path`);
          links.set(rel, m.linkTarget);
          return;
        case "hard link":
          throw refuse(
            m,
            `is a hard link (to ${JSON.stringify(m.linkTarget)}): a source archive holds only files, folders and symbolic links`,
          );
        case "unknown":
          throw refuse(m, `is of tar type ${JSON.stringify(m.typeFlag)}: a source archive holds only files, folders and symbolic links`);
        default:
          throw refuse(m, `is a ${m.kind}: a source archive holds only files, folders and symbolic links`);
      }
    });
  } catch (err) {
    if (err instanceof TarFormatError) throw new ArchiveRefused("invalid", err.message);
    throw err;
  }
  if (top === undefined) throw new ArchiveRefused("invalid", "the archive is empty: expected one top folder ({owner}-{repo}-{sha7}/)");
  if (links.has(top)) throw new ArchiveRefused("invalid", `the archive's top ${JSON.stringify(top)} is a symbolic link, not a folder`);
  for (const [rel, target] of links) {
    if (!resolvesInside(rel, links))
      throw new ArchiveRefused(
        "invalid",
        `member ${JSON.stringify(rel)} is a symbolic link to ${JSON.stringify(target)}, which leaves the tree (or loops): a link must point inside the tree`,
      );
  }
  for (const [rel, target] of links) {
    const parts = rel.split("/");
    await mkdir(join(into, ...parts.slice(0, -1)), { recursive: true, mode: 0o755 });
    await symlink(target, join(into, rel)).catch((err: NodeJS.ErrnoException) => {
      throw err.code === "EEXIST" ? new ArchiveRefused("invalid", `member ${JSON.stringify(rel)} appears twice in the archive`) : err;
    });
  }
  return join(into, top);
}

/** The member's path relative to the unpack folder, or null for the root itself; refuses absolute and `..` paths. */
function memberPath(m: TarMember, refuse: (m: TarMember, why: string) => Error): string | null {
  if (m.name.includes("\0")) throw refuse(m, "has a NUL byte in its name");
  if (m.name.startsWith("/")) throw refuse(m, "has an absolute path: a source archive holds paths relative to its top folder");
  const parts = m.name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw refuse(m, `has ".." in its path: a source archive holds paths inside its top folder`);
  return parts.length === 0 ? null : parts.join("/");
}

/**
 * Whether a link of the archive resolves inside its top folder, following the archive's other links
 * the way the kernel would (a lexical check alone is fooled by `a -> d/up/../..` with `d/up -> ..`).
 * Exact, because nothing else in the fresh tree is a link.
 */
function resolvesInside(rel: string, links: ReadonlyMap<string, string>): boolean {
  let hops = 0;
  const walk = (from: string[], target: string): string[] | null => {
    if (target.startsWith("/") || ++hops > MAX_LINK_HOPS) return null;
    const at = [...from];
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (at.length <= 1) return null; // above the top folder
        at.pop();
        continue;
      }
      at.push(part);
      const next = links.get(at.join("/"));
      if (next !== undefined) {
        const resolved = walk(at.slice(0, -1), next);
        if (!resolved) return null;
        at.splice(0, at.length, ...resolved);
      }
    }
    return at;
  };
  const parts = rel.split("/");
  return walk(parts.slice(0, -1), links.get(rel)!) !== null;
}
