// The build cache only the runner writes: keyed by repository, tree, lockfile, command and builder;
// each reuse checked against the tree digest recorded when it was stored; folders 0700; bounded.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cacheKey,
  hostBuilder,
  prepareService,
  type Builder,
  type ServiceSourceOptions,
} from "../../../../src/gates/target/service-source/index.js";
import { commitArchive } from "../../../support/commit-archive.js";

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "build-cache-test-"));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const archiveOf = (files: Record<string, string>) => commitArchive(work, files, "acme-service");

/** A service whose build copies service.js to the CLI and says so in its log. */
const service = (says: string) => ({
  "service.js": `console.log(${JSON.stringify(says)});\n`,
  "build.js": `const fs = require("fs"); fs.mkdirSync("dist/src", { recursive: true }); fs.copyFileSync("service.js", "dist/src/cli.js"); console.log("built ${says}");\n`,
});

const BUILD = "node build.js";

async function built(o: Omit<ServiceSourceOptions, "build">) {
  const s = await prepareService({ build: BUILD, ...o });
  const cli = readFileSync(s.cli, "utf8");
  await s.dispose();
  return { evidence: s.evidence, cli };
}

describe("the build cache", () => {
  test("the same tree in another repository is built again, never taken from the first's entry", async () => {
    const { archive, commit } = archiveOf(service("same code"));
    const cacheDir = join(work, "cache");
    const a = await built({ archive, commit, repository: "acme/a", cacheDir });
    const b = await built({ archive, commit, repository: "acme/b", cacheDir });
    expect(a.evidence).toMatchObject({ repository: "acme/a", cached: false, cache: { decision: "miss" } });
    expect(b.evidence).toMatchObject({ repository: "acme/b", cached: false, cache: { decision: "miss" } });
    expect(b.evidence.cache.key).not.toBe(a.evidence.cache.key);
    const again = await built({ archive, commit, repository: "acme/b", cacheDir });
    expect(again.evidence).toMatchObject({ cached: true, cache: { decision: "hit", key: b.evidence.cache.key } });
  });

  test("a build planted under another repository's key is rejected, and that repository's own code is built and deployed", async () => {
    const cacheDir = join(work, "cache");
    const evil = archiveOf(service("pwned by A"));
    const a = await built({ archive: evil.archive, commit: evil.commit, repository: "acme/a", cacheDir });
    const victim = archiveOf(service("genuine B"));
    // The attack of issue 18: A's build put where B's tree would find it.
    const keyOfB = cacheKey({
      repository: "acme/b",
      treeSha: victim.tree,
      lockfileSha256: null,
      buildCommand: BUILD,
      builderVersion: hostBuilder().version,
    });
    cpSync(join(cacheDir, "builds", a.evidence.cache.key), join(cacheDir, "builds", keyOfB), { recursive: true });

    const b = await built({ archive: victim.archive, commit: victim.commit, repository: "acme/b", cacheDir });
    expect(b.cli).toContain("genuine B");
    expect(b.cli).not.toContain("pwned");
    expect(b.evidence).toMatchObject({ cached: false, cache: { decision: "rejected", key: keyOfB } });
    expect(b.evidence.cache.reason).toContain('its record is of another build (repository "acme/a", treeSha');
    expect(b.evidence.log).toContain("built genuine B");
    // The rebuilt entry took the planted one's place.
    expect((await built({ archive: victim.archive, commit: victim.commit, repository: "acme/b", cacheDir })).evidence.cache.decision).toBe(
      "hit",
    );
  });

  test("a cached tree changed after it was stored is detected, not used, and rebuilt", async () => {
    const { archive, commit } = archiveOf(service("the real service"));
    const cacheDir = join(work, "cache");
    const first = await built({ archive, commit, repository: "acme/b", cacheDir });
    expect(first.evidence.cache.treeDigest).toMatch(/^[0-9a-f]{64}$/);
    const cachedCli = join(cacheDir, "builds", first.evidence.cache.key, "tree", "dist", "src", "cli.js");
    writeFileSync(cachedCli, 'console.log("tampered");\n');

    const second = await built({ archive, commit, repository: "acme/b", cacheDir });
    expect(second.cli).toContain("the real service");
    expect(second.evidence).toMatchObject({ cached: false, cache: { decision: "rejected" } });
    expect(second.evidence.cache.reason).toMatch(/no longer matches the digest recorded when it was stored/);
    const third = await built({ archive, commit, repository: "acme/b", cacheDir });
    expect(third.evidence).toMatchObject({ cached: true, cache: { decision: "hit", treeDigest: first.evidence.cache.treeDigest } });
    expect(third.cli).toContain("the real service");
  });

  test("the builder's version is part of the key, and the builder is handed the tree and HOME before the build", async () => {
    const { archive, commit } = archiveOf(service("svc"));
    const cacheDir = join(work, "cache");
    const host = await built({ archive, commit, repository: "acme/b", cacheDir });
    const prepared: string[] = [];
    const room: Builder = {
      version: "room/1 test",
      async prepare({ tree, home }) {
        prepared.push(readdirSync(tree).sort().join(","), statSync(home).isDirectory() ? "home" : "no home");
      },
      run: (command, o) => hostBuilder().run(command, o),
    };
    const roomed = await built({ archive, commit, repository: "acme/b", cacheDir, builder: room });
    expect(roomed.evidence).toMatchObject({ builder: "room/1 test", cached: false, cache: { decision: "miss" } });
    expect(roomed.evidence.cache.key).not.toBe(host.evidence.cache.key);
    expect(host.evidence.builder).toBe(`host/1 node ${process.version}`);
    expect(prepared).toEqual(["build.js,service.js", "home"]);
  });

  test("cache folders are the runner's alone (0700), and only the most recent entries are kept", async () => {
    const cacheDir = join(work, "cache", "42");
    for (const n of [1, 2, 3]) {
      const { archive, commit } = archiveOf(service(`v${n}`));
      await built({ archive, commit, repository: "acme/b", cacheDir, cacheEntries: 2 });
    }
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir, "builds")).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(cacheDir, "builds"))).toHaveLength(2);
  });

  test("a built tree holding a FIFO is deployed but not cached, and the evidence says why", async () => {
    const { archive, commit } = archiveOf(service("svc"));
    const s = await prepareService({
      archive,
      commit,
      repository: "acme/b",
      cacheDir: join(work, "cache"),
      build: `${BUILD} && mkfifo dist/pipe`,
    });
    await s.dispose();
    expect(s.evidence.cache.notStored).toMatch(
      /the built tree holds dist\/pipe \(FIFO\): a cached tree holds only files, folders and links/,
    );
    expect(readdirSync(join(work, "cache", "builds"))).toEqual([]);
  });
});
