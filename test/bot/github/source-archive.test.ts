// The commit's tarball, fetched as GitHub serves it (302 to the download host) and streamed to disk
// under the gate's archive cap: over the cap the download stops with an error naming the gate-file
// key, and nothing half-written is left where the archive would be.

import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { fetchSourceArchive } from "../../../src/bot/github/source-archive.js";
import { ServiceSourceError } from "../../../src/gates/target/service-source/index.js";
import { startFakeGitHub, type FakeGitHub } from "../../support/fake-github.js";

let work: string;
let fake: FakeGitHub;
let octokit: Octokit;
const where = { owner: "acme", repo: "service" };

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), "source-archive-test-"));
  fake = await startFakeGitHub({ ...where, files: { "README.md": "# service\n" } });
  octokit = new Octokit({ baseUrl: fake.apiUrl, auth: "test-token" });
});
afterEach(async () => {
  await fake.close();
  rmSync(work, { recursive: true, force: true });
});

describe("fetching a commit's source archive", () => {
  test("an archive within the cap is streamed to its file through GitHub's redirect", async () => {
    const pr = fake.createPullRequest({ head: "small", files: { "src/a.ts": "export const a = 1;\n" } });
    const file = join(work, "source.tar.gz");
    await fetchSourceArchive(octokit, where, pr.head.sha, file, { bytes: 1024 * 1024, display: "1MB" });
    expect(statSync(file).size).toBeGreaterThan(100);
    expect(readdirSync(work)).toEqual(["source.tar.gz"]);
    expect(fake.requests.filter((r) => r.route === "codeload.download").map((r) => r.status)).toEqual([200]);
  });

  test("an archive bigger than source_limits.archive is refused, and nothing is left on disk", async () => {
    const pr = fake.createPullRequest({ head: "big", files: { "blob.bin": randomBytes(256 * 1024) } });
    const file = join(work, "source.tar.gz");
    const err = (await fetchSourceArchive(octokit, where, pr.head.sha, file, { bytes: 64 * 1024, display: "64KB" }).catch(
      (e: unknown) => e,
    )) as ServiceSourceError;
    expect(err).toBeInstanceOf(ServiceSourceError);
    expect(err).toMatchObject({ code: "archive_too_large", step: "fetch" });
    expect(err.message).toMatch(/^the tarball of [0-9a-f]{40} in acme\/service is \d+ bytes, more than the gate allows/);
    expect(err.message).toContain(
      "(target.bundled.source_limits.archive: 64KB); if the commit really is that big, raise source_limits.archive in the gate file",
    );
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
  });

  test("a download that announces no length is cut at the cap as it streams, leaving nothing", async () => {
    // A download host that sends chunks without Content-Length, forever if let.
    let sent = 0;
    const server: Server = createServer((req, res) => {
      if (req.url?.includes("/tarball/")) {
        res.writeHead(302, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/download` }).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/x-gzip" });
      const timer = setInterval(() => {
        if (sent > 8 * 1024 * 1024 || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        sent += 16 * 1024;
        res.write(randomBytes(16 * 1024));
      }, 1);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const client = new Octokit({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth: "t" });
      const file = join(work, "source.tar.gz");
      const err = (await fetchSourceArchive(client, where, "a".repeat(40), file, { bytes: 100 * 1024, display: "100KB" }).catch(
        (e: unknown) => e,
      )) as ServiceSourceError;
      expect(err).toMatchObject({ code: "archive_too_large", step: "fetch" });
      expect(err.message).toContain("is more than 100KB, more than the gate allows (target.bundled.source_limits.archive: 100KB)");
      expect(readdirSync(work)).toEqual([]);
      expect(sent).toBeLessThan(8 * 1024 * 1024); // the download was stopped, not read to its end
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
