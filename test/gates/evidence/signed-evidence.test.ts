// `gate verify DIR --key PUB.pem`: a freshly signed bundle passes; a changed, removed or added file, the
// wrong key, and a changed sign-off entry each fail, naming the cause. `sha256sum -c` still works alone.

import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningKeyPair } from "../../../src/gates/evidence/dsse.js";
import { recordApproval, writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { SIGNED_APPROVALS_FILE, chainHead, signedApprovalLine, type ApprovalEntry } from "../../../src/gates/evidence/signed-evidence.js";
import { verifyCommand } from "../../../src/cli/verify-command.js";
import { keygenCommand } from "../../../src/cli/keygen-command.js";
import { readSigningKey, readVerifyKey, signEnvelope, verifyEnvelope } from "../../../src/gates/evidence/dsse.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const pair = generateSigningKeyPair();
const key = createPrivateKey(pair.privateKeyPem);

async function signedBundle(withApproval = true): Promise<{ dir: string; pub: string }> {
  const root = mkdtempSync(join(tmpdir(), "signed-evidence-"));
  dirs.push(root);
  const dir = join(root, "bundle");
  const run = await buildGateRun({ scale: 0.01, commit: "c".repeat(40) });
  await writeEvidenceBundle(dir, run, { signingKey: key });
  if (withApproval) {
    const envelope = readFileSync(join(dir, "attestation.intoto.dsse.json"), "utf8");
    const entry: ApprovalEntry = {
      run: run.id,
      gate: run.gate.name,
      commit: run.commit,
      verdict: run.verdict,
      full: true,
      reviewer: "dri-alice",
      state: "approved",
      reviewId: 7,
      reviewedCommit: "e".repeat(40),
      at: "2026-01-01T00:00:00Z",
      outcome: "complete",
      previous: chainHead(envelope, []),
    };
    const line = signedApprovalLine(entry, key);
    await recordApproval(
      dir,
      { reviewer: "dri-alice", at: entry.at, commit: run.commit, verdict: run.verdict, state: "approved" },
      undefined,
      [{ path: SIGNED_APPROVALS_FILE, text: `${line}\n` }],
    );
  }
  const pub = join(root, "pub.pem");
  writeFileSync(pub, pair.publicKeyPem);
  return { dir, pub };
}

async function verify(dir: string, pub: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await verifyCommand([dir, "--key", pub], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  return { code, out: lines.join("\n") };
}

describe("gate verify --key", () => {
  test("a fresh signed bundle with a signed sign-off passes, and sha256sum -c still passes on it", async () => {
    const { dir, pub } = await signedBundle();
    const result = await verify(dir, pub);
    expect(result.out).toContain("signed by the given key");
    expect(result.code).toBe(0);
    expect(execFileSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir }).toString()).not.toMatch(/FAILED/);
  });

  test("a changed file fails, naming it", async () => {
    const { dir, pub } = await signedBundle();
    appendFileSync(join(dir, "summary.md"), "x");
    const result = await verify(dir, pub);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/CHANGED\s+summary\.md/);
  });

  test("a removed file fails, naming it", async () => {
    const { dir, pub } = await signedBundle();
    unlinkSync(join(dir, "08-rbac/matrix.json"));
    const result = await verify(dir, pub);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/MISSING\s+08-rbac\/matrix\.json/);
  });

  test("an added file fails, naming it", async () => {
    const { dir, pub } = await signedBundle();
    writeFileSync(join(dir, "extra.txt"), "hello");
    const result = await verify(dir, pub);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/ADDED\s+extra\.txt/);
  });

  test("the wrong key fails on the attestation's signature", async () => {
    const { dir } = await signedBundle();
    const other = join(dir, "..", "other.pem");
    writeFileSync(other, generateSigningKeyPair().publicKeyPem);
    const result = await verify(dir, other);
    expect(result.code).toBe(1);
    expect(result.out).toContain("signature: attestation.intoto.dsse.json: no signature by the given key");
  });

  test("a changed approval entry fails its signature even with the manifest regenerated", async () => {
    const { dir, pub } = await signedBundle();
    const file = join(dir, SIGNED_APPROVALS_FILE);
    const envelope = JSON.parse(readFileSync(file, "utf8").trim());
    const entry = JSON.parse(Buffer.from(envelope.payload, "base64").toString());
    envelope.payload = Buffer.from(JSON.stringify({ ...entry, reviewer: "mallory" })).toString("base64");
    writeFileSync(file, `${JSON.stringify(envelope)}\n`);
    execFileSync("sh", ["-c", "find . -type f ! -name SHA256SUMS -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS"], {
      cwd: dir,
    });
    const result = await verify(dir, pub);
    expect(result.code).toBe(1);
    expect(result.out).toContain(`signature: ${SIGNED_APPROVALS_FILE} entry 1: no signature by the given key`);
  });

  test("an unsigned bundle fails with --key and says how to get a signed one", async () => {
    const root = mkdtempSync(join(tmpdir(), "signed-evidence-"));
    dirs.push(root);
    await writeEvidenceBundle(join(root, "b"), await buildGateRun({ scale: 0.01, commit: "c".repeat(40) }));
    writeFileSync(join(root, "pub.pem"), pair.publicKeyPem);
    const result = await verify(join(root, "b"), join(root, "pub.pem"));
    expect(result.code).toBe(1);
    expect(result.out).toContain("attestation.intoto.dsse.json is missing: the bundle is not signed");
  });

  test("gate keygen writes a private key (mode 0600) and its public key, which sign and verify; it refuses unknown arguments", async () => {
    const root = mkdtempSync(join(tmpdir(), "signed-evidence-keygen-"));
    dirs.push(root);
    const log = console.log;
    const error = console.error;
    console.log = () => {};
    console.error = () => {};
    try {
      expect(await keygenCommand(["--out", join(root, "k")])).toBe(0);
      expect(await keygenCommand(["--bogus"])).toBe(2);
    } finally {
      console.log = log;
      console.error = error;
    }
    const { statSync } = await import("node:fs");
    expect(statSync(join(root, "k.key")).mode & 0o777).toBe(0o600);
    const priv = readSigningKey(readFileSync(join(root, "k.key"), "utf8"), "k.key");
    const pub = readVerifyKey(readFileSync(join(root, "k.pub.pem"), "utf8"), "k.pub.pem");
    const envelope = signEnvelope("text/plain", Buffer.from("hello"), priv);
    expect(verifyEnvelope(envelope, pub)).toMatchObject({ ok: true });
    expect(verifyEnvelope({ ...envelope, payloadType: "text/other" }, pub)).toMatchObject({ ok: false });
  });
});
