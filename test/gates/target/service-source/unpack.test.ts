// A commit's source archive on a leash: real tar archives made here (we run as root, so `mknod` works)
// holding what a hostile pull request could put in one. Each is refused at the unpack step naming the
// member and what a source archive may hold, and the scratch folder is gone afterwards.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SOURCE_LIMITS, type SourceLimits } from "../../../../src/gates/model/gate.js";
import { gitTreeSha, prepareService, ServiceSourceError } from "../../../../src/gates/target/service-source/index.js";

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "source-unpack-test-"));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const TOP = "acme-service-abc1234";

/** A gzipped tar of a top folder that `setup` fills with real files, made by GNU tar (`extra` its arguments). */
function tarOf(setup: (top: string) => void, extra: string[] = [], members: string[] = [TOP]): string {
  const src = join(work, `src-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(src, TOP), { recursive: true });
  writeFileSync(join(src, TOP, "package.json"), "{}\n");
  setup(join(src, TOP));
  const archive = `${src}.tar.gz`;
  execFileSync("tar", ["-czf", archive, ...extra, "-C", src, ...members]);
  return archive;
}

async function refusal(archive: string, limits?: SourceLimits): Promise<{ err: ServiceSourceError; scratch: string }> {
  const scratch = join(work, "scratch");
  const err = await prepareService({
    archive,
    commit: "c".repeat(40),
    repository: "acme/service",
    build: "true",
    cacheDir: join(work, "cache"),
    scratchDir: scratch,
    ...(limits ? { limits } : {}),
  }).then(
    () => {
      throw new Error("expected the archive to be refused");
    },
    (e: unknown) => e as ServiceSourceError,
  );
  expect(err).toBeInstanceOf(ServiceSourceError);
  expect(existsSync(scratch)).toBe(false); // nothing half-unpacked is left behind
  return { err, scratch };
}

const ONLY = /a source archive holds only files, folders and symbolic links/;

describe("unpacking a commit's source archive", () => {
  test("a device node is refused, naming the member, and never created", async () => {
    const archive = tarOf((top) => execFileSync("mknod", [join(top, "null0"), "c", "1", "3"]));
    const { err } = await refusal(archive);
    expect(err).toMatchObject({ code: "archive_invalid", step: "unpack" });
    expect(err.message).toContain(`member "${TOP}/null0" is a character device`);
    expect(err.message).toMatch(ONLY);
  });

  test("a FIFO is refused", async () => {
    const { err } = await refusal(tarOf((top) => execFileSync("mkfifo", [join(top, "pipe")])));
    expect(err.message).toContain(`member "${TOP}/pipe" is a FIFO`);
  });

  test("a hard link is refused, even to a file inside the tree", async () => {
    const { err } = await refusal(
      tarOf((top) => {
        writeFileSync(join(top, "a.txt"), "a\n");
        linkSync(join(top, "a.txt"), join(top, "b.txt"));
      }),
    );
    expect(err).toMatchObject({ code: "archive_invalid", step: "unpack" });
    expect(err.message).toMatch(new RegExp(`member "${TOP}/[ab].txt" is a hard link`));
  });

  test("a symbolic link leaving the tree is refused, and so is one that leaves it through another link", async () => {
    const out = await refusal(tarOf((top) => symlinkSync("../../../etc/shadow", join(top, "secrets"))));
    expect(out.err.message).toContain(`member "${TOP}/secrets" is a symbolic link to "../../../etc/shadow", which leaves the tree`);
    const abs = await refusal(tarOf((top) => symlinkSync("/etc/shadow", join(top, "secrets"))));
    expect(abs.err.message).toContain(`is a symbolic link to "/etc/shadow": a link must point inside the tree`);
    // Each link looks harmless on its own: d/up -> .. stays inside, and so does a -> d/up/../.. read as text.
    const chained = await refusal(
      tarOf((top) => {
        mkdirSync(join(top, "d"));
        symlinkSync("..", join(top, "d", "up"));
        symlinkSync("d/up/../..", join(top, "a"));
      }),
    );
    expect(chained.err.message).toContain(`member "${TOP}/a" is a symbolic link to "d/up/../..", which leaves the tree`);
  });

  test("links that stay inside the tree are kept, and the tree SHA is git's", async () => {
    const archive = tarOf((top) => {
      mkdirSync(join(top, "lib"));
      writeFileSync(join(top, "lib", "x.js"), "x\n");
      symlinkSync("lib/x.js", join(top, "x.js"));
      symlinkSync("../package.json", join(top, "lib", "pkg.json"));
    });
    const err = (await prepareService({
      archive,
      commit: "c".repeat(40),
      repository: "acme/service",
      build: "true",
      cacheDir: join(work, "cache"),
    }).catch((e: unknown) => e)) as ServiceSourceError;
    expect(err.code).toBe("build_output_missing"); // unpacked and built: "true" leaves no CLI
    const plain = join(work, "plain");
    mkdirSync(plain);
    execFileSync("tar", ["-xzf", archive, "-C", plain]);
    expect(err.evidence?.treeSha).toBe(await gitTreeSha(join(plain, TOP)));
  });

  test("absolute and `..` member paths are refused", async () => {
    const outside = join(work, "outside.txt");
    writeFileSync(outside, "x\n");
    const abs = await refusal(tarOf(() => {}, ["--absolute-names"], [TOP, outside]));
    expect(abs.err.message).toContain(`member "${outside}" has an absolute path`);
    const dots = await refusal(tarOf(() => {}, ["--absolute-names"], [TOP, `${TOP}/../${TOP}/package.json`]));
    expect(dots.err.message).toContain(`has ".." in its path`);
    expect(readdirSync(work)).not.toContain("package.json");
  });

  test("a symlinked package-lock.json is refused instead of hashing whatever it points at", async () => {
    const { err } = await refusal(
      tarOf((top) => {
        writeFileSync(join(top, "real-lock.json"), "{}\n");
        symlinkSync("real-lock.json", join(top, "package-lock.json"));
      }),
    );
    expect(err).toMatchObject({ code: "archive_invalid", step: "unpack" });
    expect(err.message).toContain("its package-lock.json is a symbolic link; commit the lockfile itself");
  });

  test("an archive that unpacks past source_limits.unpacked stops there and says which key to raise", async () => {
    // 64 MiB of zeros gzip to ~64 KB: a bomb in miniature.
    const archive = tarOf((top) => writeFileSync(join(top, "zeros.bin"), Buffer.alloc(64 * 1024 * 1024)));
    const limits = { ...DEFAULT_SOURCE_LIMITS, unpacked: { bytes: 16 * 1024 * 1024, display: "16MB" } };
    const { err } = await refusal(archive, limits);
    expect(err).toMatchObject({ code: "archive_too_large", step: "unpack" });
    expect(err.message).toContain("unpacks to more than 16MB, more than the gate allows (target.bundled.source_limits.unpacked: 16MB)");
    expect(err.message).toContain("raise source_limits.unpacked in the gate file");
  });

  test("an archive of more members than source_limits.files is refused", async () => {
    const archive = tarOf((top) => {
      for (let i = 0; i < 50; i++) writeFileSync(join(top, `f${i}.txt`), `${i}\n`);
    });
    const { err } = await refusal(archive, { ...DEFAULT_SOURCE_LIMITS, files: { count: 20, display: "20" } });
    expect(err).toMatchObject({ code: "archive_too_large", step: "unpack" });
    expect(err.message).toContain("holds more than 20 members, more than the gate allows (target.bundled.source_limits.files: 20)");
  });

  test("an archive bigger than source_limits.archive is refused before it is read", async () => {
    const archive = tarOf((top) => writeFileSync(join(top, "noise.bin"), randomBytes(64 * 1024)));
    const { err } = await refusal(archive, { ...DEFAULT_SOURCE_LIMITS, archive: { bytes: 4096, display: "4KB" } });
    expect(err).toMatchObject({ code: "archive_too_large" });
    expect(err.message).toContain("(target.bundled.source_limits.archive: 4KB)");
  });

  test("members outside the one top folder are refused", async () => {
    const src = join(work, "two");
    mkdirSync(join(src, "a"), { recursive: true });
    mkdirSync(join(src, "b"));
    writeFileSync(join(src, "a", "x"), "x");
    writeFileSync(join(src, "b", "y"), "y");
    execFileSync("tar", ["-czf", `${src}.tar.gz`, "-C", src, "a", "b"]);
    const { err } = await refusal(`${src}.tar.gz`);
    expect(err.message).toMatch(/member "b\/?.*" is outside the archive's top folder "a"/);
  });
});
