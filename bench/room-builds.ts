// What fetching a lockfile's packages costs a room build, and what noting a fetched lockfile saves: this
// repository's tracked files built in a sealed room (`npm ci && npm run build`, as a gate builds a commit),
// each build in a room of its own, all sharing one runner npm cache. The first build fills that cache; then
// builds of the same lockfile alternate between fetching again (the note removed) and not.
//
//   node dist/bench/room-builds.js [--rounds 2]

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RoomBuilder, roomSupport, SealedRoom } from "../src/gates/target/room/index.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

async function build(paths: string[], npmCache: string): Promise<{ seconds: number; exitCode: number | null; fetched: boolean }> {
  const base = mkdtempSync(join(tmpdir(), "room-builds-"));
  const room = await SealedRoom.open({ baseDir: base });
  try {
    const tree = join(room.dir, "service", "source", "tree");
    const home = join(room.dir, "service", "source", "home");
    for (const p of paths) {
      mkdirSync(dirname(join(tree, p)), { recursive: true });
      writeFileSync(join(tree, p), readFileSync(join(ROOT, p)));
    }
    mkdirSync(home, { recursive: true });
    const builder = new RoomBuilder(room, npmCache);
    await builder.prepare({ tree, home });
    const t0 = performance.now();
    const out = await builder.run("npm ci --no-audit --no-fund && npm run build", {
      cwd: tree,
      env: { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin" },
      logFile: join(home, "build.log"),
      timeoutMs: 600_000,
    });
    return { seconds: (performance.now() - t0) / 1000, exitCode: out.exitCode, fetched: !out.log.includes("not fetched again") };
  } finally {
    await room.close();
    rmSync(base, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const rounds = Number(argv.includes("--rounds") ? argv[argv.indexOf("--rounds") + 1] : "2");
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error("usage: room-builds [--rounds N >= 1]");
    return 2;
  }
  const missing = roomSupport().missing;
  if (missing.length) {
    console.error(`room-builds: this machine cannot make a sealed room (${missing.join("; ")})`);
    return 2;
  }
  const paths = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT }).toString().split("\0").filter(Boolean);
  const cacheRoot = mkdtempSync(join(tmpdir(), "room-builds-npm-"));
  const npmCache = join(cacheRoot, "cache");
  const show = (label: string, r: Awaited<ReturnType<typeof build>>) =>
    console.log(`${label.padEnd(42)} ${r.seconds.toFixed(1)} s, exit ${r.exitCode}, fetched: ${r.fetched ? "yes" : "no"}`);
  try {
    show("first build (runner cache empty)", await build(paths, npmCache));
    for (let round = 1; round <= rounds; round++) {
      rmSync(join(npmCache, "release-gate-fetched-lockfiles"), { recursive: true, force: true });
      show(`round ${round}: same lockfile, fetched again`, await build(paths, npmCache));
      show(`round ${round}: same lockfile, not fetched again`, await build(paths, npmCache));
    }
  } finally {
    rmSync(cacheRoot, { recursive: true, force: true });
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`room-builds: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
