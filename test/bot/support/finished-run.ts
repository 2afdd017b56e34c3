// A finished run of Gate A with its evidence PR, as the bot's runner leaves it (run record in Redis,
// signed bundle committed by the bot, evidence PR on the evidence base, promotion status), without
// replaying: the run comes from the gate-run fixture. For sign-off and attack tests.

import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { pino } from "pino";
import { openEvidencePullRequest } from "../../../src/bot/github/evidence-pr.js";
import { attestationDigestOf, recordEvidence } from "../../../src/bot/signoff/run-evidence.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import { gateOfFile, type PinnedGateFile } from "../../../src/bot/events/repository-gates.js";
import { readSigningKey } from "../../../src/gates/evidence/dsse.js";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";
import type { PullRequestJson } from "../../support/fake-github.js";
import type { BotWorld } from "./bot-world.js";

export interface FinishedRun {
  run: RunRecord;
  /** The evidence PR's number, branch and the bundle as written. */
  evidence: number;
  branch: string;
  bundleDir: string;
}

export async function finishedRunWithEvidence(
  world: BotWorld,
  o: {
    pull: PullRequestJson;
    requestedBy?: string;
    full?: boolean;
    fail?: boolean;
    gate?: string;
    /** The gate file pinned for the run from the repository's default branch (its policy, not GATES_DIR's). */
    gateFile?: PinnedGateFile;
    /** The run's id (default: a fresh one). */
    id?: string;
  },
): Promise<FinishedRun> {
  const gate = o.gateFile ? gateOfFile(o.gateFile) : world.bot.catalog.byName(o.gate ?? "gate-a")!;
  const state = world.bot.queue.state;
  const full = o.full ?? true;
  const fixture = await buildGateRun({ scale: 0.01, commit: o.pull.head.sha, ...(o.fail ? { failLatencyIn: "load" } : {}) });
  const id = o.id ?? `${gate.name}-test-${randomBytes(4).toString("hex")}`;
  const run = { ...fixture, id, gate, commit: o.pull.head.sha };
  const record: RunRecord = {
    id,
    gate: gate.name,
    owner: world.fake.owner,
    repo: world.fake.repo,
    installationId: world.fake.installationId,
    pullNumber: o.pull.number,
    headSha: o.pull.head.sha,
    selector: full ? "all" : "1k",
    scope: full ? gate.phases.map((p) => p.name).join("+") : gate.phases[0]!.name,
    full,
    label: full ? "replay all" : "replay 1k",
    requestedBy: o.requestedBy ?? "octocat",
    requestedAt: new Date().toISOString(),
    phase: "queued",
    ...(o.gateFile ? { gateFile: o.gateFile } : {}),
  };
  await state.claim(record);
  const bundleDir = join(mkdtempSync(join(tmpdir(), "bot-finished-run-")), "bundle");
  await writeEvidenceBundle(bundleDir, run, { signingKey: readSigningKey(world.env.EVIDENCE_SIGNING_KEY!, "EVIDENCE_SIGNING_KEY") });
  const github = new Octokit({ auth: "installation-token", baseUrl: world.fake.apiUrl });
  const where = { owner: world.fake.owner, repo: world.fake.repo };
  const evidence = await openEvidencePullRequest(github, where, { gate, bundleDir, sourcePullRequest: `#${o.pull.number}` });
  await state.update(id, () => ({
    phase: "finished",
    verdict: run.verdict,
    reason: run.reason,
    finishedAt: run.finishedAt,
    reportedAt: new Date().toISOString(),
  }));
  const recorded = await recordEvidence(github, where, gate, state, id, evidence, {
    attestationDigest: await attestationDigestOf(bundleDir),
    log: pino({ level: "silent" }),
  });
  await state.release(record);
  return { run: recorded!, evidence: evidence.number, branch: evidence.branch, bundleDir };
}
