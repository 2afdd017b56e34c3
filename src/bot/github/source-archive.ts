// The source of the commit under test, fetched with the installation's token: `GET /repos/{o}/{r}/tarball/{sha}`
// answers 302 to a download host (codeload, or the GHES instance itself), which Octokit follows. The
// archive is streamed to a file under a size cap (never held whole in memory) that the gate engine
// unpacks and builds; it never sees GitHub.

import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ServiceSourceError } from "../../gates/target/index.js";
import { DEFAULT_SOURCE_LIMITS, type SourceLimits } from "../../gates/model/index.js";
import { httpStatus, type GitHub, type RepoRef } from "./github.js";

/** Downloads the tarball of `sha` to `file`; over `limit` bytes it stops, leaves nothing, and says which gate-file key to raise. */
export async function fetchSourceArchive(
  github: GitHub,
  where: RepoRef,
  sha: string,
  file: string,
  limit: SourceLimits["archive"] = DEFAULT_SOURCE_LIMITS.archive,
): Promise<void> {
  const unavailable = (why: string, status: number | null = null) =>
    new ServiceSourceError("archive_unavailable", "fetch", why, status, [], null);
  const tooLarge = (size: string) =>
    new ServiceSourceError(
      "archive_too_large",
      "fetch",
      `the tarball of ${sha} in ${where.owner}/${where.repo} is ${size}, more than the gate allows (target.bundled.source_limits.archive: ${limit.display}); if the commit really is that big, raise source_limits.archive in the gate file`,
      null,
      [],
      null,
    );
  let data: unknown;
  let headers: Record<string, unknown>;
  try {
    // The body unparsed: a stream to write as it comes, not a buffer of the whole archive.
    ({ data, headers } = await github.rest.repos.downloadTarballArchive({
      ...where,
      ref: sha,
      request: { parseSuccessResponseBody: false },
    }));
  } catch (err) {
    const status = httpStatus(err);
    const why =
      status === 404
        ? `GitHub answered 404 for the tarball of ${sha} in ${where.owner}/${where.repo}: the commit is gone (force-pushed away?) or the App cannot see the repository; push again and rerun`
        : status === 403
          ? `GitHub answered 403 for the tarball of ${sha} in ${where.owner}/${where.repo}: the App needs the "Contents: read" repository permission; grant it in the App's settings and accept it on the installation`
          : `the tarball of ${sha} could not be downloaded from ${where.owner}/${where.repo}: ${status ? `GitHub answered ${status}: ` : ""}${(err as Error).message}`;
    throw unavailable(why, status ?? null);
  }
  const body = data as ReadableStream<Uint8Array> | null;
  if (!body || typeof body.getReader !== "function")
    throw unavailable(`the tarball of ${sha} came back as ${typeof data}, not a stream of bytes`);
  const declared = Number(headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit.bytes) {
    await body.cancel().catch(() => {});
    throw tooLarge(`${declared} bytes`);
  }
  // Written under a name of its own and renamed when whole: a cut download never looks like an archive.
  const partial = `${file}.part`;
  let written = 0;
  const capped = async function* (chunks: AsyncIterable<Uint8Array>) {
    for await (const chunk of chunks) {
      written += chunk.length;
      if (written > limit.bytes) throw tooLarge(`more than ${limit.display}`);
      yield chunk;
    }
  };
  try {
    await pipeline(
      Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>),
      capped,
      createWriteStream(partial, { mode: 0o600 }),
    );
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    if (err instanceof ServiceSourceError) throw err;
    throw unavailable(`the tarball of ${sha} could not be downloaded from ${where.owner}/${where.repo}: ${(err as Error).message}`);
  }
}
