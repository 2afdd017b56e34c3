// The HOTL sign-off recorded in a bundle: the approval log stops saying "pending", the manifest is rewritten,
// and the replaced manifest's digest is chained into the new one, so `sha256sum -c` and `gate verify` still pass.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFile, cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { recordApproval, verifyBundle, writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import type { Approval, Decision, GateRun } from "../../../src/gates/model/gate-run-record.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

const exec = promisify(execFile);
let root: string;
let run: GateRun;
let pristine: string;
let n = 0;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const read = (dir: string, path: string) => readFile(join(dir, path), "utf8");

/** A fresh copy of the same bundle for each test. */
async function bundle(): Promise<string> {
  const dir = join(root, `b${++n}`);
  await cp(pristine, dir, { recursive: true });
  return dir;
}

async function sha256sumPasses(dir: string): Promise<boolean> {
  try {
    await exec("sha256sum", ["-c", "--strict", "--quiet", "SHA256SUMS"], { cwd: dir });
    return true;
  } catch {
    return false;
  }
}

function approval(over: Partial<Approval> = {}): Approval {
  return {
    reviewer: "Agent3",
    at: "2025-11-13T03:00:00.000Z",
    commit: run.commit,
    verdict: "PASS",
    state: "approved",
    pullRequest: "https://github.example/acme/auto_com_center/pull/42",
    ...over,
  };
}

const go: Decision = {
  time: "2025-11-13T03:00:00.000Z",
  title: "Gate A GO",
  authority: "Agent3 (DRI)",
  decision: "GO: promote auto_com_center",
  rationale: "PASS signed off on the evidence PR",
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "evidence-approval-"));
  run = await buildGateRun({ scale: 0.05 });
  pristine = join(root, "pristine");
  await writeEvidenceBundle(pristine, run);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test("recording an approval rewrites the manifest, chains the old manifest's digest, and still checks", async () => {
  const dir = await bundle();
  const oldManifest = await readFile(join(dir, "SHA256SUMS"));
  await recordApproval(dir, approval(), go);

  const newManifest = await readFile(join(dir, "SHA256SUMS"));
  expect(newManifest.equals(oldManifest)).toBe(false);
  const history = await read(dir, "manifest-history.txt");
  expect(history).toContain(
    `${sha256(oldManifest)}  2025-11-13T03:00:00.000Z  manifest-history/0001.SHA256SUMS  approved by @Agent3 (verdict PASS, commit ${run.commit}); decision: Gate A GO\n`,
  );
  expect((await readFile(join(dir, "manifest-history/0001.SHA256SUMS"))).equals(oldManifest)).toBe(true);
  // The new manifest covers the chain, so the old digest is sealed in.
  expect(newManifest.toString()).toContain("  manifest-history.txt\n");
  expect(newManifest.toString()).toContain("  manifest-history/0001.SHA256SUMS\n");
  expect(await sha256sumPasses(dir)).toBe(true);
  expect(await verifyBundle(dir)).toEqual({ ok: true, changed: [], missing: [], added: [], problems: [] });
});

test("the approval log, the decision log, summary.md and report.html all show the sign-off", async () => {
  const dir = await bundle();
  await recordApproval(dir, approval(), go);
  const log = JSON.parse(await read(dir, "09-approvals/approval-log.json"));
  expect(log).toMatchObject({ status: "complete", approved: 1, required: 1, history: [approval()] });
  expect(await read(dir, "09-approvals/approval-log.md")).toContain(
    "COMPLETE (GO: the PASS is signed off for promotion): 1 of 1 required approvals, by @Agent3.",
  );
  const decisions = JSON.parse(await read(dir, "09-approvals/decision-log.json")).decisions;
  expect(decisions.map((d: Decision) => d.title)).toEqual(["Gate A: Production Promotion: PASS", "Gate A GO"]);
  const summary = await read(dir, "summary.md");
  expect(summary).toContain("**COMPLETE (GO: the PASS is signed off for promotion)");
  expect(summary).toContain("### Decision #2: Gate A GO");
  expect(summary).not.toContain("PENDING");
  const html = await read(dir, "report.html");
  expect(html).toContain("<td>@Agent3</td><td>2025-11-13T03:00:00.000Z</td>");
  expect(html).toContain("<td>Gate A GO</td>");
  // Everything outside the sign-off section is as it was.
  const before = await read(pristine, "summary.md");
  const outside = (t: string) => t.slice(0, t.indexOf("<!-- signoff:start -->")) + t.slice(t.indexOf("<!-- signoff:end -->"));
  expect(outside(summary)).toBe(outside(before));
});

test("a second sign-off extends the chain, each copy still hashing to its recorded digest", async () => {
  const dir = await bundle();
  await recordApproval(dir, approval({ reviewer: "Agent3", state: "approved" }));
  const second = await readFile(join(dir, "SHA256SUMS"));
  await recordApproval(dir, approval({ reviewer: "Agent3", at: "2025-11-13T03:30:00.000Z", state: "dismissed" }));
  const lines = (await read(dir, "manifest-history.txt")).split("\n").filter((l) => /^[0-9a-f]{64}/.test(l));
  expect(lines).toHaveLength(2);
  expect(lines[1]!.slice(0, 64)).toBe(sha256(second));
  expect((await readFile(join(dir, "manifest-history/0002.SHA256SUMS"))).equals(second)).toBe(true);
  expect(
    (await exec("sha256sum", ["manifest-history/0001.SHA256SUMS", "manifest-history/0002.SHA256SUMS"], { cwd: dir })).stdout
      .split("\n")
      .slice(0, 2)
      .map((l) => l.slice(0, 64)),
  ).toEqual(lines.map((l) => l.slice(0, 64)));
  expect(await sha256sumPasses(dir)).toBe(true);
  expect((await verifyBundle(dir)).ok).toBe(true);
  // The dismissal withdrew the sign-off.
  expect(JSON.parse(await read(dir, "09-approvals/approval-log.json"))).toMatchObject({ status: "pending", approved: 0 });
});

test("recording the same approval again (a redelivered review) changes nothing", async () => {
  const dir = await bundle();
  await recordApproval(dir, approval(), go);
  const manifest = await readFile(join(dir, "SHA256SUMS"));
  await recordApproval(dir, approval(), go);
  expect((await readFile(join(dir, "SHA256SUMS"))).equals(manifest)).toBe(true);
  expect((await read(dir, "manifest-history.txt")).match(/^[0-9a-f]{64}/gm)).toHaveLength(1);
});

test("a bundle that no longer matches its manifest is refused a sign-off, and left as it was", async () => {
  const dir = await bundle();
  await appendFile(join(dir, "verdict.json"), " ");
  const manifest = await readFile(join(dir, "SHA256SUMS"));
  await expect(recordApproval(dir, approval())).rejects.toMatchObject({
    code: "bundle_not_intact",
    message: expect.stringContaining("changed verdict.json"),
  });
  expect((await readFile(join(dir, "SHA256SUMS"))).equals(manifest)).toBe(true);
  expect(JSON.parse(await read(dir, "09-approvals/approval-log.json")).history).toEqual([]);
});

test("an approval without a usable time or reviewer is refused with what to fix", async () => {
  const dir = await bundle();
  await expect(recordApproval(dir, approval({ at: "yesterday" }))).rejects.toMatchObject({
    code: "bad_approval",
    message: expect.stringContaining('at "yesterday" must be an ISO time'),
  });
  await expect(recordApproval(dir, approval({ reviewer: "" }))).rejects.toMatchObject({ code: "bad_approval" });
  expect((await verifyBundle(dir)).ok).toBe(true);
});

test("an approval of a FAIL run acknowledges the NO-GO, it never signs off a GO", async () => {
  const failed = await buildGateRun({ scale: 0.05, failLatencyIn: "smoke", seed: "fail" });
  const dir = join(root, "fail");
  await writeEvidenceBundle(dir, failed);
  await recordApproval(dir, approval({ commit: failed.commit, verdict: "FAIL" }));
  const log = JSON.parse(await read(dir, "09-approvals/approval-log.json"));
  expect(log).toMatchObject({ status: "complete", verdict: "FAIL", meaning: "NO-GO acknowledged: the run's verdict is FAIL" });
  expect(await read(dir, "summary.md")).toContain("COMPLETE (NO-GO acknowledged: the run's verdict is FAIL)");
  expect(await sha256sumPasses(dir)).toBe(true);
});
