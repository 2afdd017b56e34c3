// `gate verify DIR`: a file-by-file report; exit 0 intact, 1 on any change, missing or added file, 2 on bad input.

import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeEvidenceBundle } from "../../src/gates/evidence/evidence-bundle.js";
import { verifyCommand } from "../../src/cli/verify-command.js";
import { buildGateRun } from "../support/gate-run-fixture.js";

let root: string;
let intact: string;
let broken: string;

async function verify(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await verifyCommand(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "evidence-verify-"));
  const run = await buildGateRun({ scale: 0.05 });
  intact = join(root, "intact");
  broken = join(root, "broken");
  await writeEvidenceBundle(intact, run);
  await writeEvidenceBundle(broken, run);
  await writeFile(join(broken, "report.html"), "<p>PASS</p>");
  await unlink(join(broken, "06-database/database.json"));
  await writeFile(join(broken, "06-database/forged.json"), "{}");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test("an intact bundle: every file OK, exit 0", async () => {
  const { code, out, err } = await verify([intact]);
  expect(code).toBe(0);
  expect(err).toEqual([]);
  expect(out).toContain("OK       verdict.json");
  expect(out.filter((l) => l.startsWith("OK "))).toHaveLength(out.length - 1);
  expect(out[out.length - 1]).toMatch(/is intact: every file matches SHA256SUMS and the manifest chain holds\.$/);
});

test("a changed, a missing and an added file are each named, and the exit code is 1", async () => {
  const { code, out } = await verify([broken]);
  expect(code).toBe(1);
  expect(out).toContain("CHANGED  report.html");
  expect(out).toContain("MISSING  06-database/database.json");
  expect(out).toContain("ADDED    06-database/forged.json");
  expect(out[out.length - 1]).toMatch(
    /does NOT match its manifest: 1 changed, 1 missing, 1 added, 0 other problem\(s\)\. Restore the bundle/,
  );
});

test("--json prints the verification as one document", async () => {
  const { code, out } = await verify([broken, "--json"]);
  expect(code).toBe(1);
  expect(JSON.parse(out.join("\n"))).toEqual({
    bundle: broken,
    ok: false,
    changed: ["report.html"],
    missing: ["06-database/database.json"],
    added: ["06-database/forged.json"],
    problems: [],
  });
});

test("bad input exits 2 and says what to pass", async () => {
  const empty = join(root, "empty");
  await mkdir(empty);
  const cases: [string[], RegExp][] = [
    [[], /expected one bundle folder, got 0/],
    [[intact, broken], /expected one bundle folder, got 2/],
    [[join(root, "nope")], /does not exist; pass the evidence bundle's folder/],
    [[join(intact, "verdict.json")], /is not a folder/],
    [[empty], /SHA256SUMS is missing, so .* is not an evidence bundle/],
    [["--frobnicate", intact], /unknown option --frobnicate/],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await verify(args);
    expect({ args, code }).toEqual({ args, code: 2 });
    expect(err.join("\n")).toMatch(message);
  }
});

test("--help explains the check and the coreutils equivalent", async () => {
  const { code, out } = await verify(["--help"]);
  expect(code).toBe(0);
  expect(out.join("\n")).toContain("sha256sum -c --strict SHA256SUMS");
});
