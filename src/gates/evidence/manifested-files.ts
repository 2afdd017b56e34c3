// The files of a bundle as its manifest names them, read for publishing: exactly the files SHA256SUMS
// lists (and SHA256SUMS itself), each checked against its digest as it is read. Anything else in the
// folder (a file someone dropped there) is left out and named; a listed file that is missing, altered
// or not a regular file makes the whole bundle unpublishable.

import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { EvidenceError } from "./evidence-error.js";
import { byteOrder, listBundleFiles, MANIFEST_FILE, parseManifest, sha256Hex } from "./manifest.js";

export interface ManifestedFiles {
  /** Each file to publish, relative to the bundle with '/' separators, and its bytes as checked. */
  files: { path: string; bytes: Buffer }[];
  /** Files in the folder that the manifest does not list: never published. */
  stray: string[];
}

async function regularFile(dir: string, path: string): Promise<Buffer | null> {
  const file = join(dir, ...path.split("/"));
  try {
    // lstat: a link in place of a listed file is not followed out of the bundle.
    if (!(await lstat(file)).isFile()) return null;
    return await readFile(file);
  } catch {
    return null;
  }
}

export async function readManifestedFiles(dir: string): Promise<ManifestedFiles> {
  const manifest = await regularFile(dir, MANIFEST_FILE);
  if (!manifest) throw new EvidenceError("bundle_inconsistent", `${dir} has no ${MANIFEST_FILE}: it is not a sealed evidence bundle`);
  const { entries, problems } = parseManifest(manifest.toString("utf8"));
  const files: ManifestedFiles["files"] = [];
  for (const entry of entries) {
    const bytes = await regularFile(dir, entry.path);
    if (!bytes) problems.push(`${entry.path} is listed in ${MANIFEST_FILE} but is missing or not a regular file`);
    else if (sha256Hex(bytes) !== entry.sha256)
      problems.push(`${entry.path} does not match its digest in ${MANIFEST_FILE}: it changed after the bundle was sealed`);
    else files.push({ path: entry.path, bytes });
  }
  if (problems.length) {
    throw new EvidenceError(
      "bundle_inconsistent",
      `the evidence bundle does not match its ${MANIFEST_FILE}, so none of it is published: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? "; …" : ""}`,
    );
  }
  files.push({ path: MANIFEST_FILE, bytes: manifest });
  const listed = new Set(entries.map((e) => e.path));
  const stray = (await listBundleFiles(dir)).filter((p) => !listed.has(p)).sort(byteOrder);
  return { files, stray };
}
