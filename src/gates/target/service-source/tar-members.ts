// The members of a gzipped tar archive, one header at a time, each seen before a byte of it is written:
// the subset of tar GitHub's and git's archives use (ustar, pax extended headers, GNU long names).
// Anything else is reported as a member of an unknown kind, for the unpacker to refuse.

import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";

export type MemberKind = "file" | "directory" | "symlink" | "hard link" | "character device" | "block device" | "FIFO" | "unknown";

export interface TarMember {
  /** The name as the archive gives it (pax and GNU long names applied), not yet checked. */
  name: string;
  kind: MemberKind;
  /** The header's type flag, for a message about an unknown kind. */
  typeFlag: string;
  /** Declared content size, bytes. */
  size: number;
  mode: number;
  /** The target of a symbolic or hard link. */
  linkTarget: string;
}

/** The archive is not a tar this reader can read (not gzip, truncated, a bad header). */
export class TarFormatError extends Error {}

const BLOCK = 512;
/** A pax header or GNU long name larger than this is not a file name. */
const MAX_META_BYTES = 1024 * 1024;

const KINDS: Record<string, MemberKind> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hard link",
  "2": "symlink",
  "3": "character device",
  "4": "block device",
  "5": "directory",
  "6": "FIFO",
};

/**
 * Calls `visit` with each member in order. `content()` streams the member's bytes; what the visitor
 * does not read is skipped. Stops at the end-of-archive blocks, or throws `cap.error()` after
 * `cap.bytes` of decompressed input (a gzip bomb of padding or headers never reaches a member).
 */
export async function forEachMember(
  archive: string,
  cap: { bytes: number; error: () => Error },
  visit: (m: TarMember, content: () => AsyncGenerator<Buffer>) => Promise<void>,
): Promise<void> {
  const file = createReadStream(archive);
  const gunzip = createGunzip();
  file.on("error", (err) => gunzip.destroy(err));
  file.pipe(gunzip);
  const input = new BlockInput(gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>, cap);
  try {
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const header = await input.read(BLOCK);
      if (!header) throw new TarFormatError("the archive ends without its end-of-archive blocks (truncated?)");
      if (header.every((b) => b === 0)) return;
      const h = parseHeader(header);
      const padded = Math.ceil(h.size / BLOCK) * BLOCK;
      if (h.typeFlag === "x" || h.typeFlag === "g" || h.typeFlag === "L" || h.typeFlag === "K") {
        if (h.size > MAX_META_BYTES) throw new TarFormatError(`an extended header of ${h.size} bytes; expected at most ${MAX_META_BYTES}`);
        const body = await input.read(padded);
        if (!body) throw new TarFormatError("the archive ends inside an extended header (truncated?)");
        const text = body.subarray(0, h.size);
        // A global header ("g", git's commit id) changes no member's name here.
        if (h.typeFlag === "x") pax = { ...pax, ...parsePax(text) };
        if (h.typeFlag === "L") longName = cString(text);
        if (h.typeFlag === "K") longLink = cString(text);
        continue;
      }
      const size = pax.size !== undefined ? Number(pax.size) : h.size;
      if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`a member declares the size ${pax.size}`);
      const member: TarMember = {
        name: pax.path ?? longName ?? h.name,
        kind: KINDS[h.typeFlag] ?? "unknown",
        typeFlag: h.typeFlag,
        size: contentSize(h.typeFlag, size),
        mode: h.mode,
        linkTarget: pax.linkpath ?? longLink ?? h.linkName,
      };
      pax = {};
      longName = longLink = undefined;
      let left = member.size;
      const content = async function* () {
        while (left > 0) {
          const chunk = await input.readSome(left);
          if (!chunk) throw new TarFormatError(`the archive ends inside ${member.name} (truncated?)`);
          left -= chunk.length;
          yield chunk;
        }
      };
      await visit(member, content);
      if (left > 0) await input.skip(left);
      const padding = Math.ceil(member.size / BLOCK) * BLOCK - member.size;
      if (padding > 0 && !(await input.read(padding))) throw new TarFormatError("the archive ends inside a member's padding (truncated?)");
    }
  } catch (err) {
    // zlib's errors carry a Z_ code (checked by shape: under a test runner they come from another realm).
    const zlib = err as { code?: unknown; message?: unknown };
    if (err instanceof TarFormatError || typeof zlib?.code !== "string" || !zlib.code.startsWith("Z_")) throw err;
    throw new TarFormatError(`not a gzipped tar archive (${String(zlib.message)})`);
  } finally {
    gunzip.destroy();
    file.destroy();
  }
}

/** Links, folders and devices carry no content whatever their size field says. */
function contentSize(typeFlag: string, size: number): number {
  return KINDS[typeFlag] === "file" || KINDS[typeFlag] === undefined ? size : 0;
}

function parseHeader(b: Buffer): { name: string; mode: number; size: number; typeFlag: string; linkName: string } {
  const stored = octal(b, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  if (stored !== sum) throw new TarFormatError("a header's checksum does not match: not a tar archive, or a damaged one");
  const ustar = b.toString("latin1", 257, 263) === "ustar\0";
  const name = cString(b.subarray(0, 100));
  const prefix = ustar ? cString(b.subarray(345, 500)) : "";
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: octal(b, 100, 8),
    size: number(b, 124, 12),
    typeFlag: String.fromCharCode(b[156]!),
    linkName: cString(b.subarray(157, 257)),
  };
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString("utf8");
}

function octal(b: Buffer, at: number, len: number): number {
  const text = b
    .toString("latin1", at, at + len)
    .replace(/[\0 ]+$/, "")
    .trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`a header field holds ${JSON.stringify(text)}, not an octal number`);
  return parseInt(text, 8);
}

/** A size: octal, or GNU's base-256 for sizes past 8 GiB. */
function number(b: Buffer, at: number, len: number): number {
  if (!(b[at]! & 0x80)) return octal(b, at, len);
  let n = b[at]! & 0x7f;
  for (let i = at + 1; i < at + len; i++) n = n * 256 + b[i]!;
  return n;
}

/** pax records: "<length> <key>=<value>\n", repeated. */
function parsePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < b.length) {
    const space = b.indexOf(0x20, at);
    const len = Number(b.toString("latin1", at, space));
    if (space < 0 || !Number.isSafeInteger(len) || len <= 0 || at + len > b.length) throw new TarFormatError("a damaged pax header");
    const record = b.toString("utf8", space + 1, at + len - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/** Exact reads over a stream of chunks, counting every decompressed byte against a cap. */
class BlockInput {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private total = 0;
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly cap: { bytes: number; error: () => Error },
  ) {}

  /** Exactly n bytes, or null when the input ends first. */
  async read(n: number): Promise<Buffer | null> {
    while (this.buffered < n && (await this.pull()));
    if (this.buffered < n) return null;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }

  /** Between 1 and n bytes, or null at the end of the input. */
  async readSome(n: number): Promise<Buffer | null> {
    if (this.buffered === 0 && !(await this.pull())) return null;
    const first = this.chunks[0]!;
    const take = first.subarray(0, Math.min(n, first.length));
    if (take.length === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(take.length);
    this.buffered -= take.length;
    return take;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      const chunk = await this.readSome(n);
      if (!chunk) throw new TarFormatError("the archive ends inside a member (truncated?)");
      n -= chunk.length;
    }
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.total += next.value.length;
    if (this.total > this.cap.bytes) throw this.cap.error();
    this.chunks.push(next.value);
    this.buffered += next.value.length;
    return true;
  }
}
