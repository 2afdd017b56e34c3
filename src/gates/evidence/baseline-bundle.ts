// Reads an earlier evidence bundle as the baseline of a comparison (`gate run --baseline DIR`, or the bundle the bot
// found for the last GO): checked against its manifest (and signatures, given the key), then refused unless it is a
// PASS of the same gate and target, measured on the same machine class.

import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseApprovalLog } from "./approval-log.js";
import type { BaselinePhase, BaselineRun } from "../model/index.js";
import { SIGNOFF_FILES, REPLAY_LOG_FILES } from "./items/index.js";
import { EvidenceError } from "./evidence-error.js";
import { verifyBundle } from "./evidence-bundle.js";
import { BUNDLE_FILES } from "./evidence-layout.js";
import { COMPARISON_FILE, type ComparisonDocument } from "./comparison-document.js";
import type { ReplayLogIndex } from "./replay-log.js";
import { verifySignedEvidence } from "./signed-evidence.js";

/** What the candidate is: the baseline must match it on all three. */
export interface BaselineExpectation {
  gate: string;
  target: string;
  machineClass: string;
}

async function readJson<T>(dir: string, path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(join(dir, ...path.split("/")), "utf8");
  } catch {
    throw new EvidenceError("baseline_incomplete", `the baseline ${dir} has no ${path} (${what})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new EvidenceError("baseline_incomplete", `the baseline ${dir}'s ${path} is not JSON: ${(err as Error).message}`);
  }
}

/** Every request's due time and latency from a phase's replay log (NDJSON, gzip-compressed when it ends in .gz). */
export function parseSamples(bytes: Buffer, file: string): BaselinePhase["samples"] {
  const text = (file.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
  const samples: BaselinePhase["samples"] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const s = JSON.parse(line) as { dueAt?: unknown; latencyMs?: unknown };
    if (typeof s.dueAt !== "number" || typeof s.latencyMs !== "number") {
      throw new EvidenceError("baseline_incomplete", `${file} line ${i + 1} has no numeric dueAt and latencyMs`);
    }
    samples.push({ dueAt: s.dueAt, latencyMs: s.latencyMs });
  }
  return samples;
}

/**
 * The bundle in `dir` as a baseline for `expect`, or an EvidenceError saying why it cannot be one: not intact
 * (changed, missing or added files; a bad signature when `key` is given), not a PASS, or of another gate, target
 * or machine class.
 */
export async function readBaselineBundle(dir: string, expect: BaselineExpectation, key?: KeyObject): Promise<BaselineRun> {
  const check = await verifyBundle(dir);
  if (key) check.problems.push(...(await verifySignedEvidence(dir, key)).map((p) => `signature: ${p}`));
  const broken = [
    ...check.changed.map((f) => `changed ${f}`),
    ...check.missing.map((f) => `missing ${f}`),
    ...check.added.map((f) => `added ${f}`),
    ...check.problems,
  ];
  if (broken.length) {
    throw new EvidenceError(
      "baseline_not_intact",
      `the baseline ${dir} does not check out (${broken.slice(0, 3).join("; ")}${broken.length > 3 ? "; ..." : ""}): run "gate verify ${dir}${key ? " --key PUB.pem" : ""}", or choose another bundle`,
    );
  }
  const verdict = await readJson<{ gate: string; run_id: string; commit: string; verdict: string }>(
    dir,
    BUNDLE_FILES.verdict,
    "the verdict",
  );
  if (verdict.gate !== expect.gate) {
    throw new EvidenceError(
      "baseline_other_gate",
      `the baseline ${dir} is a run of gate ${verdict.gate}, not ${expect.gate}: compare only with a GO of the same gate`,
    );
  }
  const comparison = await readJson<ComparisonDocument>(
    dir,
    COMPARISON_FILE,
    "where its run was measured; bundles of gates without `baseline:` do not record it",
  );
  if (comparison.this.target !== expect.target) {
    throw new EvidenceError(
      "baseline_other_target",
      `the baseline ${dir} measured ${comparison.this.target}, not ${expect.target}: compare only with a GO of the same target`,
    );
  }
  if (comparison.this.machineClass !== expect.machineClass) {
    throw new EvidenceError(
      "baseline_other_machine",
      `the baseline ${dir} was measured on ${comparison.this.machineClass}, this run is on ${expect.machineClass}: latencies of different machines are not comparable; run the baseline on this machine class`,
    );
  }
  if (verdict.verdict !== "PASS") {
    throw new EvidenceError("baseline_not_pass", `the baseline ${dir} is a ${verdict.verdict}, not a PASS: a baseline is an earlier GO`);
  }
  let signoff = "not recorded";
  try {
    signoff = parseApprovalLog(
      await readFile(join(dir, ...SIGNOFF_FILES.approvalJson.split("/")), "utf8"),
      SIGNOFF_FILES.approvalJson,
    ).status;
  } catch {
    // A bundle without the approval log (an older layout) still compares; the summary says its sign-off is not recorded.
  }
  const index = await readJson<ReplayLogIndex>(
    dir,
    REPLAY_LOG_FILES.index,
    "the replay logs: its gate file's evidence: must list replay_logs",
  );
  const phases: BaselinePhase[] = [];
  for (const p of index.phases) {
    if (!p.ran || !p.file) continue;
    phases.push({ name: p.phase, samples: parseSamples(await readFile(join(dir, ...p.file.split("/"))), p.file) });
  }
  return {
    runId: verdict.run_id,
    commit: verdict.commit,
    gate: verdict.gate,
    target: comparison.this.target,
    machineClass: comparison.this.machineClass,
    verdict: verdict.verdict,
    signoff,
    source: dir,
    phases,
  };
}
