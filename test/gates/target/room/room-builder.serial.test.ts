// The room's build fetches a lockfile's packages once: a second build with the same lockfile finds the
// runner's cache noted as holding them all and goes straight to the sealed, offline build, which installs
// them from the room's copy. Another lockfile is fetched as ever. Runs in real sealed rooms, in the serial
// pass: its builds copy the runner's npm cache and run npm, which would starve the suites beside it.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RoomBuilder, roomSupport, SealedRoom } from "../../../../src/gates/target/room/index.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const canSeal = roomSupport().missing.length === 0;
const sealed = canSeal ? describe : describe.skip;
const dirs: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

/**
 * A tree in `base` (inside the room's folder, as the runner stages one) depending on one small package
 * this repository's lockfile pins, so the runner's npm cache has it.
 */
function tree(base: string, extraLockfileBytes = ""): { dir: string; home: string; lockfile: string } {
  const repoLock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version: string; integrity: string }>;
  };
  const ms = repoLock.packages["node_modules/ms"];
  const manifest = { name: "fetch-once", version: "1.0.0", private: true, dependencies: { ms: ms.version } };
  const lock = {
    name: "fetch-once",
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": manifest,
      "node_modules/ms": { version: ms.version, resolved: `https://registry.npmjs.org/ms/-/ms-${ms.version}.tgz`, integrity: ms.integrity },
    },
  };
  const dir = join(base, "tree");
  const home = join(base, "home");
  mkdirSync(dir, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  const lockfile = JSON.stringify(lock, null, 2) + "\n" + extraLockfileBytes;
  writeFileSync(join(dir, "package-lock.json"), lockfile);
  return { dir, home, lockfile };
}

sealed("a room build and the lockfiles it fetched", () => {
  const npmCache = join(temp("runner-npm-"), "cache");
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A build in a room of its own, as each run gets, sharing only the runner's npm cache. */
  async function build(extraLockfileBytes = "") {
    const room = await SealedRoom.open({ baseDir: temp("rooms-") });
    try {
      const t = tree(join(room.dir, "service", "source"), extraLockfileBytes);
      const builder = new RoomBuilder(room, npmCache);
      await builder.prepare({ tree: t.dir, home: t.home });
      const out = await builder.run("npm ci --no-audit --no-fund && node -e \"require('ms')\"", {
        cwd: t.dir,
        env: { HOME: t.home, PATH: process.env.PATH ?? "/usr/bin:/bin" },
        logFile: join(t.home, "build.log"),
        timeoutMs: 120_000,
      });
      return { ...out, lockfile: t.lockfile, installed: existsSync(join(t.dir, "node_modules", "ms", "package.json")) };
    } finally {
      await room.close();
    }
  }

  test("the first build fetches, the second with the same lockfile does not and still installs offline, another lockfile fetches", async () => {
    const one = await build();
    expect(one).toMatchObject({ exitCode: 0, installed: true });
    expect(one.log).toContain("--- dependencies (npm ci --ignore-scripts");
    const digest = createHash("sha256").update(one.lockfile).digest("hex");
    expect(existsSync(join(npmCache, "release-gate-fetched-lockfiles", digest))).toBe(true);

    const two = await build();
    expect(two).toMatchObject({ exitCode: 0, installed: true });
    expect(two.log).toContain(`every package of this lockfile (sha256 ${digest}) is in the runner's npm cache; not fetched again`);
    expect(two.log).not.toContain("--- dependencies (npm ci");

    const other = await build("\n");
    expect(other).toMatchObject({ exitCode: 0, installed: true });
    expect(other.log).toContain("--- dependencies (npm ci --ignore-scripts");
  }, 300_000);
});
