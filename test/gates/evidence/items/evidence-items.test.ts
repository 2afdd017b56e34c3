// The evidence item registry: every item whole and numbered, a gate file's `evidence:` list choosing what a bundle
// holds (plus the items the GO depends on), and an unknown item refused where the gate file is read.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeEvidenceBundle } from "../../../../src/gates/evidence/evidence-bundle.js";
import {
  EVIDENCE_ITEM_IDS,
  EVIDENCE_ITEM_LIST,
  EVIDENCE_ITEMS,
  type EvidenceRegistry,
} from "../../../../src/gates/evidence/items/index.js";
import { loadGate, parseGate } from "../../../../src/gates/gate-file/index.js";
import type { GateRun } from "../../../../src/gates/model/gate-run-record.js";
import { listBundleFiles } from "../../../../src/gates/evidence/manifest.js";
import { verifyCommand } from "../../../../src/cli/verify-command.js";
import { buildGateRun } from "../../../support/gate-run-fixture.js";

/** What is wrong with a registry: what the type system refuses at compile time, checked again here at run time. */
function registryProblems(registry: Record<string, Partial<EvidenceRegistry[keyof EvidenceRegistry]>>): string[] {
  const problems: string[] = [];
  const items = Object.entries(registry);
  items.forEach(([id, item]) => {
    if (item.id !== id) problems.push(`${id}: filed under another id (${item.id})`);
    if (typeof item.write !== "function") problems.push(`${id}: no writer`);
    if (typeof item.number !== "number") problems.push(`${id}: no number`);
    if (!item.title || !item.path || !item.layout) problems.push(`${id}: no title, folder or layout`);
  });
  const numbers = items.map(([, item]) => item.number).sort((a, b) => (a ?? 0) - (b ?? 0));
  if (numbers.some((n, i) => n !== i + 1)) problems.push(`numbers ${numbers.map(String).join(", ")} are not 1 to ${items.length}`);
  if (new Set(items.map(([, item]) => item.path)).size !== items.length) problems.push("two items share a folder");
  return problems;
}

test("the registry is complete: every item numbered 1 to 10, titled, in a folder of its own, with a writer", () => {
  expect(registryProblems(EVIDENCE_ITEMS)).toEqual([]);
  expect(EVIDENCE_ITEM_LIST.map((i) => i.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(EVIDENCE_ITEM_IDS).toEqual(EVIDENCE_ITEM_LIST.map((i) => i.id));
  expect(EVIDENCE_ITEM_LIST.filter((i) => i.required).map((i) => i.id)).toEqual(["hotl_approval_log", "sha256_manifest"]);
});

test("an item without a writer or a number, or filed under another id, is refused by the type system and the check", () => {
  const { write: _write, ...noWriter } = EVIDENCE_ITEMS.rbac_matrix;
  // @ts-expect-error an item without a writer does not compile
  const withoutWriter: EvidenceRegistry = { ...EVIDENCE_ITEMS, rbac_matrix: noWriter };
  // @ts-expect-error an item without a number does not compile
  const withoutNumber: EvidenceRegistry = { ...EVIDENCE_ITEMS, rbac_matrix: { ...EVIDENCE_ITEMS.rbac_matrix, number: undefined } };
  // @ts-expect-error an entry must be the item of its own id
  const misfiled: EvidenceRegistry = { ...EVIDENCE_ITEMS, rbac_matrix: EVIDENCE_ITEMS.replay_logs };
  expect(registryProblems(withoutWriter)).toEqual(["rbac_matrix: no writer"]);
  expect(registryProblems(withoutNumber)).toEqual([
    "rbac_matrix: no number",
    "numbers 1, 2, 3, 4, 5, 6, 7, 9, 10, undefined are not 1 to 10",
  ]);
  expect(registryProblems(misfiled)).toEqual([
    "rbac_matrix: filed under another id (replay_logs)",
    "numbers 1, 1, 2, 3, 4, 5, 6, 7, 9, 10 are not 1 to 10",
    "two items share a folder",
  ]);
});

test("an unknown evidence item in a gate file is refused, naming the items and the one meant", () => {
  const text = readFileSync("gates/gate-a.yaml", "utf8").replace("  - rbac_matrix\n", "  - rbac_matrx\n");
  expect(() => parseGate(text, "gates/gate-a.yaml", {})).toThrow(
    /gates\/gate-a\.yaml:\d+:\d+: evidence\[7\]: "rbac_matrx" is not allowed; expected one of replay_logs, .*sha256_manifest \(did you mean "rbac_matrix"\?\)/,
  );
});

describe("a gate file that lists fewer items (gates/gate-b.yaml: no audit trail, RBAC matrix or approval log)", () => {
  let root: string;
  let dir: string;
  let run: GateRun;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "evidence-items-"));
    const gateB = loadGate("gates/gate-b.yaml", {});
    const base = await buildGateRun({ scale: 0.05 });
    run = { ...base, gate: { ...base.gate, evidence: gateB.evidence, source: gateB.source } };
    dir = join(root, "bundle");
    await writeEvidenceBundle(dir, run);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("gets a bundle of just those items plus the ones the GO depends on", async () => {
    expect(run.gate.evidence).not.toContain("hotl_approval_log");
    const folders = new Set((await listBundleFiles(dir)).map((f) => f.split("/")[0]));
    for (const folder of [
      "01-replay-logs",
      "02-latency",
      "03-error-budget",
      "04-idempotency",
      "05-ordering",
      "06-database",
      "09-approvals",
    ]) {
      expect({ folder, present: folders.has(folder) }).toEqual({ folder, present: true });
    }
    expect(folders.has("07-audit-trail")).toBe(false);
    expect(folders.has("08-rbac")).toBe(false);
    expect(folders.has("manifest-history.txt")).toBe(true);
    expect((await stat(join(dir, "SHA256SUMS"))).size).toBeGreaterThan(0);
  });

  test("summary.md says which items are absent by choice and which are there though unlisted, and links only files it has", async () => {
    const md = await readFile(join(dir, "summary.md"), "utf8");
    expect(md).toContain("7. **request_id audit trail**: not in this bundle: gates/gate-b.yaml does not ask for it");
    expect(md).toMatch(
      /9\. \*\*HOTL approval log\*\*: \[approval-log\.json\]\(09-approvals\/approval-log\.json\).* \(in every bundle, though gates\/gate-b\.yaml does not list it: /,
    );
    expect(md).not.toContain("MISSING");
    expect(md).not.toContain("08-rbac/");
    const links = [...md.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!);
    for (const link of links)
      expect({
        link,
        exists: await stat(join(dir, link)).then(
          () => true,
          () => false,
        ),
      }).toEqual({ link, exists: true });
  });

  test("gate verify and sha256sum -c --strict both pass on it", async () => {
    const out: string[] = [];
    expect(await verifyCommand([dir], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    const checked = execFileSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir }).toString().trimEnd().split("\n");
    expect(checked).toHaveLength((await listBundleFiles(dir)).length);
    expect(checked.every((l) => l.endsWith(": OK"))).toBe(true);
  });
});

test("a gate that lists one item gets it and the required ones, and its front pages link nothing the bundle lacks", async () => {
  const root = await mkdtemp(join(tmpdir(), "evidence-one-item-"));
  try {
    const base = await buildGateRun({ scale: 0.05 });
    const dir = join(root, "bundle");
    await writeEvidenceBundle(dir, { ...base, gate: { ...base.gate, evidence: ["error_budget_ledger"] } });
    const files = await listBundleFiles(dir);
    expect([...new Set(files.filter((f) => f.includes("/")).map((f) => f.split("/")[0]))].sort()).toEqual([
      "03-error-budget",
      "09-approvals",
    ]);
    const md = await readFile(join(dir, "summary.md"), "utf8");
    const html = await readFile(join(dir, "report.html"), "utf8");
    const links = [...md.matchAll(/\]\(([^)#]+)\)/g), ...html.matchAll(/href="([^"#:]+)"/g)].map((m) => m[1]!);
    expect(links).toContain("03-error-budget/ledger.md");
    for (const link of links) expect({ link, exists: files.includes(link) || link === "SHA256SUMS" }).toEqual({ link, exists: true });
    expect(md).toContain("1. **Replay execution logs**: not in this bundle: gates/gate-a.yaml does not ask for it");
    const out: string[] = [];
    expect(await verifyCommand([dir], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
