// A deployment's `requires: run`: the gate run now against the environment itself (one phase, its own
// credentials), its evidence published, and whether it approves the deployment. One run at a time per
// gate and environment (the ledger's lock); past the deadline the run is stopped and nothing is approved.

import type { KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeployedTarget, Gate, GuardedEnvironment } from "../gates/gate.js";
import type { GateRun } from "../gates/gate-run.js";
import { newRunId } from "../gates/execute-run.js";
import { runToBundle } from "../gates/run-to-bundle.js";
import { formatDuration } from "../gates/units.js";
import type { GitHub, RepoRef } from "./github.js";
import { promotionState } from "./promotion.js";
import type { PromotionLedger } from "./promotion-stages.js";
import type { RunRecord } from "./run-state.js";
import { publishRun } from "./publish-run.js";

/** The service a `requires: run` measures: the gate file's, or the deployment's URL when it is the same service. */
export function runTarget(environment: GuardedEnvironment, deploymentPayload: unknown): { target: DeployedTarget } | { problem: string } {
  const configured = environment.target!;
  const asked = (deploymentPayload as { environment_url?: unknown } | null)?.environment_url;
  if (typeof asked !== "string" || asked === "") return { target: configured };
  let origin: string;
  try {
    origin = new URL(asked).origin;
  } catch {
    return { problem: `the deployment's environment_url ${JSON.stringify(asked)} is not a URL` };
  }
  // A deployment may not choose the service its own gate measures: only the configured one counts.
  if (origin !== new URL(configured.url).origin) {
    return {
      problem: `the deployment's environment_url ${asked} is not the service the gate file names for ${environment.name} (${configured.url}); a deployment cannot choose what its gate measures`,
    };
  }
  return { target: { ...configured, url: asked } };
}

/** What a run against the environment concluded: `line` without the gate's title. */
export interface EnvironmentRunDecision {
  approved: boolean;
  line: string;
  evidenceUrl?: string;
  backing?: RunRecord;
}

export async function runForDeployment(
  github: GitHub,
  where: RepoRef,
  o: {
    gate: Gate;
    environment: GuardedEnvironment;
    target: DeployedTarget;
    sha: string;
    pullNumber?: number;
    /** The gate's runs on the commit, newest first: the GO that backs the deployment, if any. */
    runs: RunRecord[];
    /** The key the backing run's signed sign-off is checked with. */
    approvalKey: KeyObject | undefined;
    ledger: PromotionLedger;
    timeoutMs: number;
  },
): Promise<EnvironmentRunDecision> {
  const { gate, environment, sha, timeoutMs } = o;
  const no = (line: string, more: Partial<EnvironmentRunDecision> = {}): EnvironmentRunDecision => ({ approved: false, line, ...more });
  const runId = newRunId(gate);
  const holder = await o.ledger.lock(where.owner, where.repo, gate.name, environment.name, runId, timeoutMs + 60_000);
  if (holder)
    return no(
      `another ${gate.title} run against ${environment.name} (\`${holder}\`) is in progress; re-run this deployment when it has finished.`,
    );
  const bundleDir = await mkdtemp(join(tmpdir(), "release-gate-deploy-bundle-"));
  try {
    const phase = environment.phase ?? gate.phases[0]!;
    // The run measures this environment only; no other environment's settings (or secrets) travel with it.
    const { environments: _others, ...rest } = gate;
    const measured: Gate = { ...rest, target: o.target, phases: [phase] };
    const run = await runWithin(measured, sha, runId, environment, timeoutMs, bundleDir);
    if ("timedOut" in run)
      return no(`the run against ${environment.name} did not finish within ${formatDuration(timeoutMs)}; nothing was approved.`);
    const sourcePullRequest = o.pullNumber ? `#${o.pullNumber}` : undefined;
    const evidence = await publishRun(github, where, { gate: measured, bundleDir, sourcePullRequest }).then(
      (p) => ({ url: p.evidence!.url }),
      (err: unknown) => ({ problem: (err as Error).message }),
    );
    const evidenceUrl = "url" in evidence ? evidence.url : undefined;
    const why =
      run.verdict === "PASS"
        ? ""
        : run.phases
            .filter((p) => p.verdict !== "PASS" && !run.reason.includes(p.reason))
            .map((p) => ` (${p.reason})`)
            .join("");
    const line = `run \`${run.id}\` (${phase.name}: ${phase.requests} requests @ ${phase.rate}/s against ${o.target.url}) on ${sha.slice(0, 7)} is ${run.verdict}: ${run.reason}${why}.`;
    const backing = o.runs.find((r) => promotionState(r, o.approvalKey) === "go");
    if (run.verdict !== "PASS") return no(line, { evidenceUrl, backing });
    if (!evidenceUrl)
      return no(
        `${line} Its evidence could not be committed (${"problem" in evidence ? evidence.problem : "unknown"}), so it is not approved.`,
        { backing },
      );
    return { approved: true, line, evidenceUrl, backing };
  } finally {
    await rm(bundleDir, { recursive: true, force: true }).catch(() => {});
    await o.ledger.unlock(where.owner, where.repo, gate.name, environment.name, runId).catch(() => {});
  }
}

/** Runs the environment's short gate into a bundle in `out`, stopped (and reported as timed out) past the deadline. */
async function runWithin(
  gate: Gate,
  sha: string,
  runId: string,
  environment: GuardedEnvironment,
  timeoutMs: number,
  out: string,
): Promise<GateRun | { timedOut: true }> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error("the deployment's gate run timed out"));
      resolve({ timedOut: true });
    }, timeoutMs);
  });
  try {
    const running = runToBundle(gate, {
      phases: gate.phases,
      commit: sha,
      runId,
      signal: controller.signal,
      credentials: environment.credentials,
      out,
    }).then((r) => r.run);
    const first = await Promise.race([running, deadline]);
    // An aborted run still stops its replay and tears down; wait for that (bounded) before answering.
    if ("timedOut" in first) await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 15_000).unref())]);
    return first;
  } finally {
    clearTimeout(timer);
  }
}
