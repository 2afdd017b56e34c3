// The bundle's SHA-256 manifest (GNU coreutils SHA256SUMS, checkable with `sha256sum -c --strict` and no tool of
// ours) and its chain: each manifest a later sign-off replaced is kept, and its digest listed, inside the bundle.

import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export const MANIFEST_FILE = "SHA256SUMS";
/** Lists the digest of every manifest that was replaced, oldest first; covered by the current manifest. */
export const MANIFEST_HISTORY_FILE = "manifest-history.txt";
/** Holds a copy of each replaced manifest, named by its place in the chain: 0001.SHA256SUMS, 0002.SHA256SUMS ... */
export const MANIFEST_HISTORY_DIR = "manifest-history";

export interface ManifestEntry {
  /** Relative to the bundle's root, '/' separators. */
  path: string;
  sha256: string;
}

/** One replaced manifest: its digest, when and why it was replaced, and where its copy is kept. */
export interface ManifestLink {
  sha256: string;
  at: string;
  copy: string;
  reason: string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Byte order (the C locale), so the manifest reads the same whatever the machine's locale. */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text of SHA256SUMS: `<64 hex><two spaces><path>` per file, sorted by path. */
export function renderManifest(entries: readonly ManifestEntry[]): string {
  return [...entries]
    .sort((a, b) => byteOrder(a.path, b.path))
    .map((e) => `${e.sha256}  ${e.path}\n`)
    .join("");
}

/** A path a manifest may name: relative, inside the bundle, in the plain characters the bundle uses. */
function pathProblem(path: string): string | null {
  if (path.startsWith("/") || path.split("/").some((part) => part === ".." || part === "." || part === "")) {
    return `"${path}" is not a plain relative path inside the bundle`;
  }
  if (path === MANIFEST_FILE) return `${MANIFEST_FILE} must not list itself`;
  return null;
}

/** Parse SHA256SUMS strictly, as `sha256sum -c --strict` would: every line must be well formed. */
export function parseManifest(text: string): { entries: ManifestEntry[]; problems: string[] } {
  const entries: ManifestEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  if (text.length > 0 && !text.endsWith("\n")) problems.push(`${MANIFEST_FILE}: the last line has no newline`);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      problems.push(`${MANIFEST_FILE} line ${i + 1}: expected "<64 hex digits>  <path>", got ${JSON.stringify(line.slice(0, 120))}`);
      return;
    }
    const path = m[2]!;
    const bad = pathProblem(path);
    if (bad) {
      problems.push(`${MANIFEST_FILE} line ${i + 1}: ${bad}`);
      return;
    }
    if (seen.has(path)) {
      problems.push(`${MANIFEST_FILE} line ${i + 1}: "${path}" is listed twice`);
      return;
    }
    seen.add(path);
    entries.push({ path, sha256: m[1]!.toLowerCase() });
  });
  return { entries, problems };
}

const HISTORY_HEADER = [
  "# Earlier manifests of this bundle, oldest first. Each line: the SHA-256 of a SHA256SUMS that was replaced,",
  "# when and why it was replaced, and the copy kept of it. Check the copies with: sha256sum manifest-history/*",
];

export function historyCopyPath(position: number): string {
  return `${MANIFEST_HISTORY_DIR}/${String(position).padStart(4, "0")}.${MANIFEST_FILE}`;
}

/** The text of manifest-history.txt: a comment header, then `<64 hex>  <ISO time>  <copy>  <reason>` per link. */
export function renderManifestHistory(links: readonly ManifestLink[]): string {
  const lines = [...HISTORY_HEADER];
  if (links.length === 0) lines.push("# (none yet: this is the bundle's first manifest)");
  for (const link of links) lines.push(`${link.sha256}  ${link.at}  ${link.copy}  ${link.reason.replace(/\s+/g, " ").trim()}`);
  return `${lines.join("\n")}\n`;
}

/** Parse manifest-history.txt; a line that is neither a comment nor a well-formed link is a problem, never skipped. */
export function parseManifestHistory(text: string): { links: ManifestLink[]; problems: string[] } {
  const links: ManifestLink[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "" || line.startsWith("#")) return;
    const where = `${MANIFEST_HISTORY_FILE} line ${i + 1}`;
    const m = /^([0-9a-f]{64}) {2}(\S+) {2}(\S+) {2}(\S.*)$/.exec(line);
    if (!m) {
      problems.push(`${where}: expected "<64 hex digits>  <ISO time>  <copy path>  <reason>", got ${JSON.stringify(line.slice(0, 120))}`);
      return;
    }
    const [, sha256, at, copy, reason] = m as unknown as [string, string, string, string, string];
    if (Number.isNaN(Date.parse(at))) problems.push(`${where}: "${at}" is not an ISO time`);
    const expected = historyCopyPath(links.length + 1);
    if (copy !== expected) problems.push(`${where}: the copy of link ${links.length + 1} should be "${expected}", not "${copy}"`);
    links.push({ sha256, at, copy, reason });
  });
  return { links, problems };
}

/** Every file under dir except SHA256SUMS itself, relative with '/' separators, in byte order. */
export async function listBundleFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (path !== MANIFEST_FILE) out.push(path);
    }
  }
  await walk("");
  return out.sort(byteOrder);
}

export async function hashFile(dir: string, path: string): Promise<string> {
  return sha256Hex(await readFile(join(dir, ...path.split("/"))));
}
