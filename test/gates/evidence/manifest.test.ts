// The SHA-256 manifest: GNU coreutils' own `sha256sum -c --strict` checks a bundle with no tool of ours,
// and verifyBundle names every changed, missing and added file and every broken line.

import { execFile } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyBundle, writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { listBundleFiles, parseManifest, parseManifestHistory, renderManifest } from "../../../src/gates/evidence/manifest.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

const run = promisify(execFile);
let root: string;
let fresh: string;

/** `sha256sum -c --strict SHA256SUMS` inside dir: the exit code and what it said. */
async function sha256sumCheck(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "evidence-manifest-"));
  const gateRun = await buildGateRun({ scale: 0.05, logDir: join(root, "logs") });
  fresh = join(root, "fresh");
  await writeEvidenceBundle(fresh, gateRun, { gzipOverBytes: 16 * 1024 });
  for (const name of ["changed", "missing", "added", "all-three", "bad-line", "bad-chain"])
    await writeEvidenceBundle(join(root, name), gateRun, { gzipOverBytes: 16 * 1024 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test("SHA256SUMS lists every file but itself, sorted, in GNU coreutils format with '/' separators", async () => {
  const text = await readFile(join(fresh, "SHA256SUMS"), "utf8");
  const lines = text.trimEnd().split("\n");
  for (const line of lines) expect(line).toMatch(/^[0-9a-f]{64} {2}[a-z0-9][a-z0-9._/-]*$/);
  const paths = lines.map((l) => l.slice(66));
  expect(paths).toEqual(await listBundleFiles(fresh));
  expect(paths).toEqual([...paths].sort());
  expect(paths).not.toContain("SHA256SUMS");
  expect(paths.some((p) => p.includes("/"))).toBe(true);
  expect(paths.some((p) => p.endsWith(".gz"))).toBe(true);
});

test("sha256sum -c --strict, the real coreutils binary, passes on a fresh bundle", async () => {
  const { code, output } = await sha256sumCheck(fresh);
  expect(output).not.toMatch(/FAILED|improperly/);
  expect(code).toBe(0);
  expect(output.trimEnd().split("\n")).toHaveLength((await listBundleFiles(fresh)).length);
});

test("changing any one byte of any file makes sha256sum -c fail on that file", async () => {
  const files = await listBundleFiles(fresh);
  expect(files.length).toBeGreaterThan(30);
  for (const file of files) {
    const path = join(fresh, file);
    const original = await readFile(path);
    const tampered = Buffer.from(original);
    const at = Math.floor(tampered.length / 2);
    tampered[at] = tampered[at]! ^ 0x01;
    await writeFile(path, tampered);
    try {
      const { code, output } = await sha256sumCheck(fresh);
      expect({ file, code, failed: output.includes(`${file}: FAILED`) }).toEqual({ file, code: 1, failed: true });
    } finally {
      await writeFile(path, original);
    }
  }
  expect((await sha256sumCheck(fresh)).code).toBe(0);
});

test("verifyBundle passes a fresh bundle", async () => {
  expect(await verifyBundle(fresh)).toEqual({ ok: true, changed: [], missing: [], added: [], problems: [] });
});

test("verifyBundle names a changed file", async () => {
  const dir = join(root, "changed");
  await appendFile(join(dir, "08-rbac/matrix.md"), "| forged | row |\n");
  expect(await verifyBundle(dir)).toEqual({ ok: false, changed: ["08-rbac/matrix.md"], missing: [], added: [], problems: [] });
});

test("verifyBundle names a missing file", async () => {
  const dir = join(root, "missing");
  await unlink(join(dir, "07-audit-trail/lineages.json"));
  expect(await verifyBundle(dir)).toEqual({ ok: false, changed: [], missing: ["07-audit-trail/lineages.json"], added: [], problems: [] });
});

test("verifyBundle names an added file", async () => {
  const dir = join(root, "added");
  await writeFile(join(dir, "02-latency/extra.svg"), "<svg/>");
  expect(await verifyBundle(dir)).toEqual({ ok: false, changed: [], missing: [], added: ["02-latency/extra.svg"], problems: [] });
});

test("verifyBundle names a changed, a missing and an added file at once", async () => {
  const dir = join(root, "all-three");
  await writeFile(join(dir, "verdict.json"), '{"verdict":"PASS"}\n');
  await unlink(join(dir, "05-ordering/ordering.md"));
  await writeFile(join(dir, "notes.txt"), "added later");
  const result = await verifyBundle(dir);
  expect(result).toEqual({
    ok: false,
    changed: ["verdict.json"],
    missing: ["05-ordering/ordering.md"],
    added: ["notes.txt"],
    problems: [],
  });
});

test("a malformed manifest line is a problem, and sha256sum --strict refuses it too", async () => {
  const dir = join(root, "bad-line");
  await appendFile(join(dir, "SHA256SUMS"), "not a checksum line\n");
  const result = await verifyBundle(dir);
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([
    expect.stringMatching(/^SHA256SUMS line \d+: expected "<64 hex digits> {2}<path>", got "not a checksum line"$/),
  ]);
  expect((await sha256sumCheck(dir)).code).not.toBe(0);
});

test("a malformed manifest chain line is a problem", async () => {
  const dir = join(root, "bad-chain");
  await appendFile(join(dir, "manifest-history.txt"), "deadbeef  yesterday  somewhere  edited by hand\n");
  const result = await verifyBundle(dir);
  expect(result.ok).toBe(false);
  expect(result.changed).toEqual(["manifest-history.txt"]);
  expect(result.problems).toEqual([
    expect.stringMatching(/^manifest-history\.txt line 4: expected "<64 hex digits> {2}<ISO time> {2}<copy path> {2}<reason>"/),
  ]);
});

test("a directory with no manifest is reported, not passed", async () => {
  const result = await verifyBundle(join(root, "logs"));
  expect(result.ok).toBe(false);
  expect(result.problems[0]).toMatch(/^no readable SHA256SUMS in .*logs \(ENOENT\)/);
});

test("parseManifest refuses paths that leave the bundle and paths listed twice", () => {
  const h = "a".repeat(64);
  const { entries, problems } = parseManifest(`${h}  ok.txt\n${h}  ../etc/passwd\n${h}  /abs\n${h}  ok.txt\n${h} *bin.gz\n`);
  expect(entries).toEqual([
    { path: "ok.txt", sha256: h },
    { path: "bin.gz", sha256: h },
  ]);
  expect(problems).toEqual([
    'SHA256SUMS line 2: "../etc/passwd" is not a plain relative path inside the bundle',
    'SHA256SUMS line 3: "/abs" is not a plain relative path inside the bundle',
    'SHA256SUMS line 4: "ok.txt" is listed twice',
  ]);
  expect(
    renderManifest([
      { path: "b/x", sha256: h },
      { path: "a", sha256: h },
    ]),
  ).toBe(`${h}  a\n${h}  b/x\n`);
});

test("parseManifestHistory wants each link's copy in chain order", () => {
  const h = "b".repeat(64);
  const { links, problems } = parseManifestHistory(
    `# comment\n${h}  2025-11-13T03:00:00Z  manifest-history/0001.SHA256SUMS  approved by @a\n${h}  2025-11-13T04:00:00Z  manifest-history/0003.SHA256SUMS  approved by @b\n`,
  );
  expect(links.map((l) => l.reason)).toEqual(["approved by @a", "approved by @b"]);
  expect(problems).toEqual([
    'manifest-history.txt line 3: the copy of link 2 should be "manifest-history/0002.SHA256SUMS", not "manifest-history/0003.SHA256SUMS"',
  ]);
});
