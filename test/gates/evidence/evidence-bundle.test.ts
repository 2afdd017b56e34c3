// The evidence bundle written from a run: the ten items, each from the run itself; deterministic; small enough to commit.

import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { verdictDocument, writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { EVIDENCE_ITEM_LIST } from "../../../src/gates/evidence/items/index.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import { listBundleFiles } from "../../../src/gates/evidence/manifest.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

let root: string;
let run: GateRun;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "evidence-bundle-"));
  run = await buildGateRun({ scale: 0.1, logDir: join(root, "logs") });
  dir = join(root, "bundle");
  // Nothing compressed here, so the tests can read every file as text; compression has its own test.
  await writeEvidenceBundle(dir, run, { gzipOverBytes: 64 * 1024 * 1024 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const read = (d: string, path: string) => readFile(join(d, path), "utf8");

test("a bundle holds each of the ten items, and no file in it is empty", async () => {
  const files = await listBundleFiles(dir);
  for (const item of EVIDENCE_ITEM_LIST) {
    const inItem = item.path === "SHA256SUMS" ? ["SHA256SUMS"] : files.filter((f) => f.startsWith(`${item.path}/`));
    expect({ item: item.id, files: inItem.length > 0 }).toEqual({ item: item.id, files: true });
  }
  for (const f of [...files, "SHA256SUMS"]) expect({ f, empty: (await stat(join(dir, f))).size === 0 }).toEqual({ f, empty: false });
  for (const phase of ["smoke", "load", "final"]) {
    expect(files).toContain(`01-replay-logs/${phase}.samples.ndjson`);
    for (const ext of ["json", "csv", "svg"]) expect(files).toContain(`02-latency/${phase}.histogram.${ext}`);
  }
  expect(files).toEqual(
    expect.arrayContaining([
      "01-replay-logs/service/server.log",
      "01-replay-logs/service/worker-1.log",
      "summary.md",
      "report.html",
      "verdict.json",
      "attestation.intoto.json",
      "manifest-history.txt",
    ]),
  );
});

test("the replay logs hold every request sent, one JSON line each, in send order", async () => {
  const lines = (await read(dir, "01-replay-logs/final.samples.ndjson")).trimEnd().split("\n");
  const final = run.phases.find((p) => p.name === "final")!;
  expect(lines).toHaveLength(final.replay!.samples.length);
  const first = JSON.parse(lines[0]!);
  expect(first).toMatchObject({ index: 0, eventId: final.replay!.samples[0]!.eventId, status: 202, outcome: "accepted" });
  expect(JSON.parse(lines[lines.length - 1]!).index).toBe(lines.length - 1);
  const index = JSON.parse(await read(dir, "01-replay-logs/index.json"));
  expect(index.phases.map((p: { file: string }) => p.file)).toEqual(
    ["smoke", "load", "final"].map((p) => `01-replay-logs/${p}.samples.ndjson`),
  );
  expect(index.serviceLogs.map((l: { name: string; lines: number }) => [l.name, l.lines > 0])).toEqual([
    ["server", true],
    ["worker-1", true],
  ]);
});

test("sample files larger than the threshold are gzip-compressed and decompress to the same lines", async () => {
  const d = join(root, "gz");
  await writeEvidenceBundle(d, run, { gzipOverBytes: 64 * 1024 });
  const files = await listBundleFiles(d);
  expect(files).toContain("01-replay-logs/final.samples.ndjson.gz");
  expect(files).toContain("01-replay-logs/smoke.samples.ndjson"); // 100 samples stay plain
  const unzipped = gunzipSync(await readFile(join(d, "01-replay-logs/final.samples.ndjson.gz"))).toString("utf8");
  expect(unzipped).toBe(await read(dir, "01-replay-logs/final.samples.ndjson"));
});

test("the same run gives the same bytes, file for file, compressed files included", async () => {
  const a = join(root, "same-a");
  const b = join(root, "same-b");
  await writeEvidenceBundle(a, run);
  await writeEvidenceBundle(b, run);
  const files = await listBundleFiles(a);
  expect(files.some((f) => f.endsWith(".gz"))).toBe(true);
  expect(await listBundleFiles(b)).toEqual(files);
  for (const f of [...files, "SHA256SUMS"])
    expect({ f, same: Buffer.compare(await readFile(join(a, f)), await readFile(join(b, f))) === 0 }).toEqual({ f, same: true });
});

test("verdict.json is the document gate run --json prints, with the bundle as '.'", async () => {
  const doc = JSON.parse(await read(dir, "verdict.json"));
  expect(doc).toEqual(JSON.parse(JSON.stringify(verdictDocument(run, "."))));
  expect(Object.keys(doc).slice(0, 7)).toEqual(["verdict", "gate", "commit", "started_at", "finished_at", "bundle", "run_id"]);
  expect(doc).toMatchObject({ verdict: "PASS", gate: "gate-a", commit: run.commit, bundle: "." });
  expect(doc.phases.map((p: { name: string; requests: number; verdict: string }) => [p.name, p.requests, p.verdict])).toEqual([
    ["smoke", 100, "PASS"],
    ["load", 500, "PASS"],
    ["final", 3000, "PASS"],
  ]);
  expect(Object.keys(doc.phases[0].slos[0])).toEqual(["name", "measured", "measured_display", "bar", "verdict"]);
});

test("the attestation is an in-toto test-result statement on the commit under test, naming the gate file's digest", async () => {
  const st = JSON.parse(await read(dir, "attestation.intoto.json"));
  expect(st._type).toBe("https://in-toto.io/Statement/v1");
  expect(st.predicateType).toBe("https://in-toto.io/attestation/test-result/v0.1");
  expect(st.subject).toEqual([{ name: "auto_com_center", digest: { gitCommit: run.commit } }]);
  expect(st.predicate.result).toBe("PASSED");
  expect(st.predicate.configuration).toEqual([{ name: "gates/gate-a.yaml", digest: { sha256: run.gate.source.sha256 } }]);
  expect(st.predicate.passedTests).toContain("final/latency_p95");
  expect(st.predicate.passedTests).toContain("rbac/bearer_wrong");
  expect(st.predicate.failedTests).toEqual([]);
});

describe("a 36K-request run (Gate A's 1K + 5K + 30K)", () => {
  let full: GateRun;
  let d: string;
  let written: { files: string[]; bytes: number };

  beforeAll(async () => {
    full = await buildGateRun({ scale: 1, logDir: join(root, "full-logs") });
    d = join(root, "full");
    written = await writeEvidenceBundle(d, full);
  });

  test("has 36,000 samples and a bundle under 10 MB, the large files compressed", async () => {
    expect(full.phases.reduce((n, p) => n + p.replay!.samples.length, 0)).toBe(36000);
    let onDisk = 0;
    for (const f of written.files) onDisk += (await stat(join(d, f))).size;
    expect(onDisk).toBe(written.bytes);
    expect(written.bytes).toBeLessThan(10 * 1024 * 1024);
    expect(written.files).toEqual(
      expect.arrayContaining([
        "01-replay-logs/final.samples.ndjson.gz",
        "01-replay-logs/load.samples.ndjson.gz",
        "01-replay-logs/service/server.log.gz",
      ]),
    );
    const lines = gunzipSync(await readFile(join(d, "01-replay-logs/final.samples.ndjson.gz")))
      .toString("utf8")
      .trimEnd()
      .split("\n");
    expect(lines).toHaveLength(30000);
  });

  test("its error budget ledger allows 0.10% of 30,000 = 30 and counts what was spent, by cause", async () => {
    const ledger = JSON.parse(await read(d, "03-error-budget/ledger.json"));
    const final = ledger.phases.find((p: { scope: string }) => p.scope === "final");
    expect(final).toMatchObject({ sent: 30000, allowed: 30, spent: 5, left: 25, status: "within budget" });
    expect(final.byCause).toEqual([
      { cause: "HTTP 503", count: 3 },
      { cause: "timeout", count: 1 },
      { cause: "transport", count: 1 },
    ]);
    expect(ledger.overall).toMatchObject({ sent: 36000, allowed: 36, spent: 6 });
    expect(await read(d, "03-error-budget/ledger.md")).toContain("0.10% of 30,000 = 30");
  });
});

test("a run whose load phase failed still has every item, and each says which phases did not run", async () => {
  const failed = await buildGateRun({ scale: 0.05, failLatencyIn: "load" });
  const d = join(root, "failed");
  await writeEvidenceBundle(d, failed);
  expect(failed.verdict).toBe("FAIL");
  const files = await listBundleFiles(d);
  expect(files).not.toContain("01-replay-logs/final.samples.ndjson");
  expect(files).toContain("02-latency/final.histogram.svg");
  expect(await read(d, "02-latency/final.histogram.svg")).toContain("did not run");
  expect(await read(d, "04-idempotency/idempotency.md")).toMatch(/## final\n\ndid not run: load did not pass/);
  const st = JSON.parse(await read(d, "attestation.intoto.json"));
  expect(st.predicate.result).toBe("FAILED");
  expect(st.predicate.failedTests).toContain("load/latency_p95");
  expect(st.predicate.warnedTests).toContain("final/latency_p95");
  expect(JSON.parse(await read(d, "verdict.json")).verdict).toBe("FAIL");
  expect(await read(d, "summary.md")).toMatch(/^# Gate A: Production Promotion: FAIL/);
});

test("the approval log of a fresh bundle says pending", async () => {
  const log = JSON.parse(await read(dir, "09-approvals/approval-log.json"));
  expect(log).toMatchObject({ status: "pending", required: 1, approved: 0, history: [], commit: run.commit, verdict: "PASS" });
  expect(await read(dir, "09-approvals/approval-log.md")).toContain("PENDING: 0 of 1 required approvals recorded.");
});

test("summary.md has the verdict table, each SLO against its bar, links to every item and the war room's record", async () => {
  const md = await read(dir, "summary.md");
  expect(md).toMatch(/^# Gate A: Production Promotion: PASS\n/);
  expect(md).toContain("| final | 3,000 | 1000/s | 120ms |");
  expect(md).toMatch(/\| latency_p95 \| [\d.]+ms \| <= 120ms \| \*\*PASS\*\* \|/);
  for (const item of EVIDENCE_ITEM_LIST) expect(md).toContain(`${item.number}. **${item.title}**: [`);
  expect(md).not.toContain("MISSING");
  for (const link of md.matchAll(/\]\(([^)#]+)\)/g))
    expect({
      link: link[1],
      exists: await stat(join(dir, link[1]!)).then(
        () => true,
        () => false,
      ),
    }).toEqual({ link: link[1], exists: true });
  expect(md).toContain("## War-room timeline");
  expect(md).toContain("| PASS/FAIL decision | Agent3 | ✅ done |");
  expect(md).toContain("### Decision #1: Gate A: Production Promotion: PASS");
  expect(md).toContain("TIME: 02:00 UTC\nMILESTONE: Verdict: PASS\nSTATUS: GREEN");
});

test("a folder that already holds files is refused, with the fix in the message", async () => {
  const d = join(root, "busy");
  await writeEvidenceBundle(join(d, "x"), run);
  await writeFile(join(d, "stray.txt"), "x");
  await expect(writeEvidenceBundle(d, run)).rejects.toMatchObject({
    code: "bundle_dir_not_empty",
    message: expect.stringContaining("new, empty folder"),
  });
  expect((await readdir(d)).sort()).toEqual(["stray.txt", "x"]);
});
