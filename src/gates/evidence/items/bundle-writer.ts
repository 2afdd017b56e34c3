// The one way a file gets into an evidence bundle: through the run's redactor, with its digest kept for the manifest.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { EvidenceError } from "../evidence-error.js";
import { byteOrder, sha256Hex } from "../manifest.js";
import type { Redactor } from "../redaction.js";

/**
 * Writes every file through one redactor, and remembers each file's digest for the manifest. Gzip output is
 * deterministic: Node writes no name and a zero mtime in the header, so the same text gives the same bytes.
 */
export class BundleWriter {
  readonly digests = new Map<string, string>();
  bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly redact: Redactor,
  ) {}

  async text(path: string, text: string, gzip = false): Promise<string> {
    if (this.digests.has(path)) {
      throw new EvidenceError(
        "duplicate_bundle_path",
        `two evidence files would both be written to ${path}: rename one of the phases or logs in the gate file or run`,
      );
    }
    const clean = Buffer.from(this.redact(text), "utf8");
    const bytes = gzip ? gzipSync(clean, { level: 9 }) : clean;
    const target = join(this.dir, ...path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
    this.digests.set(path, sha256Hex(bytes));
    this.bytes += bytes.length;
    return path;
  }

  files(): string[] {
    return [...this.digests.keys()].sort(byteOrder);
  }
}
