// The source of the commit under test, fetched with the installation's token: `GET /repos/{o}/{r}/tarball/{sha}`
// answers 302 to a download host (codeload, or the GHES instance itself), which Octokit follows. The
// archive is written to a file the gate engine unpacks and builds; it never sees GitHub.

import { writeFile } from "node:fs/promises";
import { ServiceSourceError } from "../gates/service-source.js";
import { httpStatus, type GitHub, type RepoRef } from "./github.js";

export async function fetchSourceArchive(github: GitHub, where: RepoRef, sha: string, file: string): Promise<void> {
  let data: unknown;
  try {
    ({ data } = await github.rest.repos.downloadTarballArchive({ ...where, ref: sha }));
  } catch (err) {
    const status = httpStatus(err);
    const why =
      status === 404
        ? `GitHub answered 404 for the tarball of ${sha} in ${where.owner}/${where.repo}: the commit is gone (force-pushed away?) or the App cannot see the repository; push again and rerun`
        : status === 403
          ? `GitHub answered 403 for the tarball of ${sha} in ${where.owner}/${where.repo}: the App needs the "Contents: read" repository permission; grant it in the App's settings and accept it on the installation`
          : `the tarball of ${sha} could not be downloaded from ${where.owner}/${where.repo}: ${status ? `GitHub answered ${status}: ` : ""}${(err as Error).message}`;
    throw new ServiceSourceError("archive_unavailable", "fetch", why, status ?? null, [], null);
  }
  const bytes = data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.isBuffer(data) ? data : null;
  if (!bytes)
    throw new ServiceSourceError(
      "archive_unavailable",
      "fetch",
      `the tarball of ${sha} came back as ${typeof data}, not bytes`,
      null,
      [],
      null,
    );
  await writeFile(file, bytes);
}
