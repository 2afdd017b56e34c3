// No secret ever enters the bundle: the run's own secrets in every spelling, and credential shapes, are redacted
// in every file, compressed ones included.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import { listBundleFiles } from "../../../src/gates/evidence/manifest.js";
import { createRedactor, REDACTED } from "../../../src/gates/evidence/redaction.js";
import { buildGateRun, FIXTURE_SECRETS } from "../../support/gate-run-fixture.js";

let root: string;
let run: GateRun;
let dir: string;

/** Every way a secret could be spelled in a text file. */
function spellings(secret: string): string[] {
  return [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      secret.replace(/'/g, "&#39;"),
      secret.replace(/^whsec_/, ""),
    ]),
  ];
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "evidence-redaction-"));
  run = await buildGateRun({ scale: 0.1, logDir: join(root, "logs"), plantSecrets: true });
  dir = join(root, "bundle");
  // A low threshold so the service log and the final phase's samples are written gzip-compressed.
  await writeEvidenceBundle(dir, run, { gzipOverBytes: 32 * 1024 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test("the planted run really carries the secrets, in logs, URLs, lineage details, samples and prose", async () => {
  const server = await readFile(run.logs.server!, "utf8");
  for (const secret of Object.values(FIXTURE_SECRETS)) expect(server).toContain(secret);
  const everywhere = JSON.stringify({ ...run, logs: {} });
  expect(everywhere).toContain(FIXTURE_SECRETS.bearerKey);
  expect(JSON.stringify(run.lineages)).toContain(FIXTURE_SECRETS.bearerKey);
  expect(JSON.stringify(run.phases.map((p) => p.replay?.samples.filter((s) => s.error)))).toContain(FIXTURE_SECRETS.bearerKey);
  expect(JSON.stringify(run.decisions)).toContain(FIXTURE_SECRETS.databasePassword);
  expect(JSON.stringify(run.rbac)).toContain(FIXTURE_SECRETS.signingSecret);
});

test("no byte of the bundle, compressed files decompressed, holds any planted secret in any spelling", async () => {
  const files = await listBundleFiles(dir);
  expect(files.filter((f) => f.endsWith(".gz"))).toEqual(
    expect.arrayContaining(["01-replay-logs/final.samples.ndjson.gz", "01-replay-logs/service/server.log.gz"]),
  );
  let searched = 0;
  const found: string[] = [];
  for (const file of [...files, "SHA256SUMS"]) {
    const raw = await readFile(join(dir, file));
    const text = (file.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
    searched += text.length;
    for (const [name, secret] of Object.entries(FIXTURE_SECRETS))
      for (const form of spellings(secret)) if (text.includes(form)) found.push(`${file}: ${name} as ${JSON.stringify(form)}`);
    for (const shape of [
      /Bearer rg_/,
      /whsec_[A-Za-z0-9]/,
      /v1,[A-Za-z0-9+/]{20}/,
      /sha256=[0-9a-f]{64}/,
      /postgres:\/\/postgres:(?!\[REDACTED\])[^@\s]+@/,
      /redis:\/\/:(?!\[REDACTED\])[^@\s]+@/,
    ]) {
      if (shape.test(text)) found.push(`${file}: ${shape}`);
    }
  }
  expect(found).toEqual([]);
  expect(searched).toBeGreaterThan(1_000_000);
});

test("what was redacted says so, where it was", async () => {
  const server = gunzipSync(await readFile(join(dir, "01-replay-logs/service/server.log.gz"))).toString("utf8");
  expect(server).toContain(`Authorization: Bearer ${REDACTED}`);
  expect(server).toContain(`"database":"postgres://postgres:${REDACTED}@127.0.0.1:5432/postgres"`);
  expect(server).toContain(`"redis":"redis://:${REDACTED}@127.0.0.1:6379"`);
  expect(server).toContain(`"webhook-signature":"${REDACTED}"`);
  expect(server).toContain(`WEBHOOK_SIGNING_SECRET=${REDACTED}`);
  const lineages = await readFile(join(dir, "07-audit-trail/lineages.md"), "utf8");
  expect(lineages).toContain(`sent with Authorization: Bearer ${REDACTED}`);
  const rbac = await readFile(join(dir, "08-rbac/matrix.md"), "utf8");
  // Prose about credentials keeps its words; only the planted key goes.
  expect(rbac).toContain("| bearer_wrong | Authorization: Bearer with a wrong key | 401 | 401 | PASS |");
  expect(rbac).toContain(`every configured credential valid (Bearer ${REDACTED})`);
});

describe("the redactor", () => {
  const redact = createRedactor(["s3cr3t-value", "It's a Secret"]);

  test("removes the run's secrets raw, JSON-escaped, URL-encoded and HTML-escaped", () => {
    expect(redact("a s3cr3t-value b")).toBe(`a ${REDACTED} b`);
    expect(redact(JSON.stringify({ k: 'say "It\'s a Secret"' }))).not.toContain("Secret");
    expect(redact(`x=${encodeURIComponent("It's a Secret")}`)).toBe(`x=${REDACTED}`);
    expect(redact("It&#39;s a Secret")).toBe(REDACTED);
  });

  test("removes credential shapes it was not told about", () => {
    expect(redact("Authorization: Bearer abcdef123456")).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redact('{"authorization":"Bearer abcdef123456","x":1}')).toBe(`{"authorization":"Bearer ${REDACTED}","x":1}`);
    expect(redact("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA=='")).toBe(`curl -H 'Authorization: Basic ${REDACTED}'`);
    expect(redact("webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")).toBe(`webhook-signature: v1,${REDACTED}`);
    expect(redact('"x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"')).toBe(
      `"x-hub-signature-256": "${REDACTED}"`,
    );
    expect(redact("sig sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17 ok")).toBe(`sig sha256=${REDACTED} ok`);
    expect(redact("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw.")).toBe(`secret whsec_${REDACTED}.`);
    expect(redact("postgres://gate:hunter2@db:5432/x and postgresql://u:p%40ss@h/db")).toBe(
      `postgres://gate:${REDACTED}@db:5432/x and postgresql://u:${REDACTED}@h/db`,
    );
    expect(redact("redis://:hunter2@127.0.0.1:6379 rediss://tok3n@cache:6380")).toBe(
      `redis://:${REDACTED}@127.0.0.1:6379 rediss://${REDACTED}@cache:6380`,
    );
    expect(redact("PGPASSWORD password=hunter2 host=db")).toBe(`PGPASSWORD password=${REDACTED} host=db`);
  });

  test("keeps prose about credentials, URLs without passwords and digests", () => {
    const prose = [
      "Authorization: Bearer with a wrong key",
      "Authorization: Basic instead of Bearer",
      "webhook-signature not in v1,<base64> form",
      "the right bearer key and a good signature",
      "Bearer tokens are rotated daily",
      "postgres://postgres@127.0.0.1:5432/postgres",
      `"sha256": "${"c".repeat(64)}"`,
    ];
    for (const text of prose) expect(redact(text)).toBe(text);
  });

  test("redacting twice changes nothing more than redacting once", () => {
    const text = 'Authorization: Bearer abcdef123456\n{"password":"pw","url":"redis://:x@h"} whsec_abc s3cr3t-value';
    expect(redact(redact(text))).toBe(redact(text));
    expect(createRedactor([])(redact(text))).toBe(redact(text));
  });

  test("ignores an empty secret rather than redacting everything", () => {
    expect(createRedactor(["", "k3y"])("a k3y b")).toBe(`a ${REDACTED} b`);
  });
});
