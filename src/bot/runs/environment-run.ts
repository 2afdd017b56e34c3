// A deployment's `requires: run`: the gate run now against the environment itself (one phase, its own
// credentials), its evidence published, and whether it approves the deployment. One run at a time per
// gate and environment (the ledger's lock); past the deadline the run is stopped and nothing is approved.
// Each run is an attempt on its commit like a PR's (run-attempt.ts, the same ledger per repository, gate and
// commit): refused past the rule's `max`, judged at its attempt's alpha, and recorded whatever its verdict.

import type { KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DeployedTarget,
  type Gate,
  type GuardedEnvironment,
  type GateRun,
  formatDuration,
  attemptRuleOf,
} from "../../gates/model/index.js";
import { newRunId, runToBundle, type RunToBundleOptions } from "../../gates/run/index.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { promotionState } from "../signoff/promotion.js";
import type { PromotionLedger } from "../signoff/promotion-stages.js";
import type { RunRecord, RunState } from "./run-state.js";
import { publishRun } from "../github/publish-run.js";
import type { RecordAttempt } from "./run-record.js";
import type { AttemptStore } from "./attempt-store.js";
import { finishAttempt, startAttempt, type AttemptRun } from "./run-attempt.js";

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
    /** The bot's run records (the links of earlier attempts) and its ledger of attempts on each commit. */
    state: RunState;
    attempts: AttemptStore;
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
    const attempted = await runAsAttempt(measured, where, sha, runId, environment, bundleDir, o);
    if ("refused" in attempted)
      return no(
        `not run against ${environment.name}: ${attempted.refused}. Nothing was approved; to deploy this change, push a new commit (a new commit starts a new ledger) and deploy it.`,
      );
    const { run, attempt } = attempted;
    const attemptText = ` (attempt ${attempt.number} of ${attempt.max} on this commit)`;
    if ("timedOut" in run)
      return no(
        `the run against ${environment.name} did not finish within ${formatDuration(timeoutMs)}; nothing was approved. It counts as attempt ${attempt.number} of ${attempt.max} on this commit.`,
      );
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
    const line = `run \`${run.id}\` (${phase.name}: ${phase.requests} requests @ ${phase.rate}/s against ${o.target.url}) on ${sha.slice(0, 7)} is ${run.verdict}: ${run.reason}${why}${attemptText}.`;
    const backing = o.runs.find((r) => promotionState(r, o.approvalKey) === "go");
    if (run.verdict !== "PASS") return no(line, { evidenceUrl, backing });
    // A PASS the ledger cannot vouch for, or one past the rule's max (a race with a PR run), approves nothing.
    if (attempt.ledgerProblem || attempt.number > attemptRuleOf(gate).max)
      return no(
        `${line} It is not approved: ${attempt.ledgerProblem ?? `attempt ${attempt.number} is past the rule's max ${attempt.max}`}.`,
        {
          evidenceUrl,
          backing,
        },
      );
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

/**
 * The run as an attempt on its commit, in the same ledger as the PR's runs: refused past the rule's max, judged
 * at its attempt's alpha, and recorded whatever its verdict (stopped at the deadline, or never reported by the
 * engine: ERROR). A run already in the ledger adds nothing, so recording it twice is harmless.
 */
async function runAsAttempt(
  measured: Gate,
  where: RepoRef,
  sha: string,
  runId: string,
  environment: GuardedEnvironment,
  bundleDir: string,
  o: { state: RunState; attempts: AttemptStore; timeoutMs: number },
): Promise<{ refused: string } | { run: GateRun | { timedOut: true }; attempt: RecordAttempt }> {
  const subject: AttemptRun = { id: runId, owner: where.owner, repo: where.repo, gate: measured.name, headSha: sha, full: false };
  const started = await startAttempt(measured, o.state, o.attempts, subject);
  if ("refused" in started) return started;
  let attempt: RecordAttempt = started.attempt;
  const finish = async (verdict: GateRun["verdict"], at: string) => {
    const ended = await finishAttempt(measured, o.state, o.attempts, { ...subject, attempt }, { verdict, at, origin: "deployment" }).catch(
      (err: unknown) => {
        const why = `its attempt could not be recorded (${(err as Error).message})`;
        return { attempt: { ...attempt, ledgerProblem: why, goWithheld: why }, bundle: undefined };
      },
    );
    attempt = ended.attempt;
    return ended.bundle;
  };
  const run = await runWithin(measured, sha, runId, environment, o.timeoutMs, bundleDir, {
    judgeAlpha: started.attempt.alpha,
    origin: { kind: "deployment", environment: environment.name },
    attempt: { number: started.attempt.number, earlier: started.earlier },
    recordAttempt: (r) => finish(r.verdict, r.finishedAt || new Date().toISOString()),
  });
  await finish("timedOut" in run ? "ERROR" : run.verdict, new Date().toISOString());
  return { run, attempt };
}

/** Runs the environment's short gate into a bundle in `out`, stopped (and reported as timed out) past the deadline. */
async function runWithin(
  gate: Gate,
  sha: string,
  runId: string,
  environment: GuardedEnvironment,
  timeoutMs: number,
  out: string,
  /** Its attempt: the alpha it is judged at, where it came from, and how it is recorded. */
  retry: Pick<RunToBundleOptions, "judgeAlpha" | "origin" | "attempt" | "recordAttempt">,
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
      ...retry,
    }).then((r) => r.run);
    const first = await Promise.race([running, deadline]);
    // An aborted run still stops its replay and tears down; wait for that (bounded) before answering.
    if ("timedOut" in first) await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 15_000).unref())]);
    return first;
  } finally {
    clearTimeout(timer);
  }
}
