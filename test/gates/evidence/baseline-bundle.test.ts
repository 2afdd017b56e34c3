// An earlier evidence bundle as the baseline of a comparison (`gate run --baseline DIR`): taken only when it is
// intact, a PASS, and of the same gate, target and machine class; and what the new run's bundle says about it.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baselineOf } from "../../../src/cli/run-command.js";
import { NO_BASELINE, thisMachineClass, targetIdentity } from "../../../src/gates/verdict/baseline-run.js";
import { readBaselineBundle } from "../../../src/gates/evidence/baseline-bundle.js";
import { COMPARISON_FILE } from "../../../src/gates/evidence/comparison-document.js";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import type { Gate } from "../../../src/gates/model/gate.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

let root: string;
let run: GateRun;
/** Gate A as the fixture runs it, comparing with the last GO. */
let comparing: Gate;

/** A bundle of `run` under `gate`, measured on this machine (no machine record: the comparison names this one's class). */
async function bundleOf(name: string, gate: Gate, change: Partial<GateRun> = {}): Promise<string> {
  const dir = join(root, name);
  await writeEvidenceBundle(dir, { ...run, gate, machine: undefined, baseline: { compared: false, note: NO_BASELINE }, ...change });
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "baseline-bundle-"));
  run = await buildGateRun({ scale: 0.1, logDir: join(root, "logs") });
  comparing = { ...run.gate, baseline: "last_go" };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const expectation = () => ({ gate: comparing.name, target: targetIdentity(comparing), machineClass: thisMachineClass() });

test("a PASS of the same gate, target and machine class is read with every request's due time and latency", async () => {
  const dir = await bundleOf("same", comparing);
  const baseline = await readBaselineBundle(dir, expectation());
  expect(baseline).toMatchObject({
    runId: run.id,
    commit: run.commit,
    gate: "gate-a",
    verdict: "PASS",
    machineClass: thisMachineClass(),
    source: dir,
  });
  expect(baseline.phases.map((p) => [p.name, p.samples.length])).toEqual(run.phases.map((p) => [p.name, p.replay!.samples.length]));
  const first = run.phases[0]!.replay!.samples[0]!;
  expect(baseline.phases[0]!.samples[0]!.latencyMs).toBeCloseTo(first.latencyMs, 3);
  expect(baseline.phases[0]!.samples[0]!.dueAt).toBeCloseTo(first.dueAt, 3);
  // What the bundle records of this run, for the runs that will compare with it.
  const doc = JSON.parse(await readFile(join(dir, COMPARISON_FILE), "utf8"));
  expect(doc).toMatchObject({
    this: { runId: run.id, gate: "gate-a", target: targetIdentity(comparing) },
    baseline: null,
    note: NO_BASELINE,
  });
  expect(await readFile(join(dir, "summary.md"), "utf8")).toContain(`| Baseline | ${NO_BASELINE} |`);
});

test("gate run --baseline refuses a bundle of another gate, saying which", async () => {
  const dir = await bundleOf("other-gate", { ...comparing, name: "gate-b" });
  const refused = await baselineOf("gates/gate-a.yaml", comparing, dir, undefined);
  expect(refused).toBe(`the baseline ${dir} is a run of gate gate-b, not gate-a: compare only with a GO of the same gate`);
});

test("a bundle of another target, another machine class, or a FAIL is refused", async () => {
  const deployed: Gate = {
    ...comparing,
    target: { kind: "deployed", url: "https://ingest.example.com", databaseUrl: "postgres://x@db/x", schema: "public" },
  };
  await expect(readBaselineBundle(await bundleOf("other-target", deployed), expectation())).rejects.toThrow(
    `measured auto_com_center at https://ingest.example.com, not auto_com_center on the bundled ingest service: compare only with a GO of the same target`,
  );
  await expect(
    readBaselineBundle(await bundleOf("other-machine", comparing), { ...expectation(), machineClass: "64 × Other CPU, linux" }),
  ).rejects.toThrow(`latencies of different machines are not comparable`);
  await expect(readBaselineBundle(await bundleOf("a-fail", comparing, { verdict: "FAIL" }), expectation())).rejects.toThrow(
    "is a FAIL, not a PASS: a baseline is an earlier GO",
  );
});

test("a bundle changed since its manifest was written is refused before anything in it is believed", async () => {
  const dir = await bundleOf("tampered", comparing);
  await writeFile(
    join(dir, "verdict.json"),
    (await readFile(join(dir, "verdict.json"), "utf8")).replace('"verdict": "PASS"', '"verdict": "PASS" '),
  );
  const refused = await baselineOf("gates/gate-a.yaml", comparing, dir, undefined);
  expect(refused).toContain(`the baseline ${dir} does not check out (changed verdict.json)`);
});

test("a gate without baseline: refuses --baseline; one with it and no --baseline says it is not compared", async () => {
  expect(await baselineOf("gates/gate-a.yaml", run.gate, join(root, "same"), undefined)).toContain(
    "asks for no comparison; add `baseline: last_go`",
  );
  expect(await baselineOf("gates/gate-a.yaml", run.gate, undefined, undefined)).toBeUndefined();
  expect(await baselineOf("gates/gate-a.yaml", comparing, undefined, undefined)).toEqual({
    compared: false,
    note: `${NO_BASELINE} (gate run keeps no record of earlier GOs; pass --baseline DIR with the last GO's bundle)`,
  });
});

test("a run compared with a baseline names it in the summary and draws both histograms over each other", async () => {
  const baseline = await readBaselineBundle(join(root, "same"), expectation());
  const dir = join(root, "compared");
  await writeEvidenceBundle(dir, { ...run, gate: comparing, machine: undefined, baseline: { compared: true, run: baseline } });
  const summary = await readFile(join(dir, "summary.md"), "utf8");
  expect(summary).toContain(
    `| Baseline | compared with run ${run.id} (commit ${run.commit.slice(0, 12)}, PASS, sign-off pending) on ${thisMachineClass()} |`,
  );
  expect(summary).toContain("![load against the baseline](02-latency/load.baseline-overlay.svg)");
  const svg = await readFile(join(dir, "02-latency/load.baseline-overlay.svg"), "utf8");
  expect(svg).toContain(`class="baseline"`);
  expect(svg.match(/class="candidate"/g)?.length).toBeGreaterThan(3);
  expect(svg).toContain(`baseline ${run.id}`);
  const doc = JSON.parse(await readFile(join(dir, COMPARISON_FILE), "utf8"));
  expect(doc.baseline).toMatchObject({ runId: run.id, commit: run.commit, source: join(root, "same") });
});
