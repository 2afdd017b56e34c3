// The App as a custom deployment protection rule: a workflow job with `environment: production` waits
// until this module approves or rejects it. The gate guarding the environment (gate file
// `environments:`) says what it needs: a signed-off full PASS of the deployment's commit, a full PASS,
// or a run of the gate now against the environment itself. Whatever goes wrong, the answer is a
// rejection naming the reason: a deployment is never let through by an error.

import type { Gate, GuardedEnvironment } from "../../gates/model/index.js";
import { runForDeployment, runTarget } from "../runs/environment-run.js";
import { decideFromRecord, short, type RecordTrust } from "../signoff/protection-decision.js";
import type { BotLog } from "../boot/bot-log.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { stageProblem, type PromotionLedger, type StageRow } from "../signoff/promotion-stages.js";
import type { RunRecord, RunState } from "../runs/run-state.js";
import type { AttemptStore } from "../runs/attempt-store.js";
import { gateOfRecord } from "./repository-gates.js";
import { findMarkedComment, refreshWarRoom, upsertComment } from "../github/war-room-comment.js";
import { renderStages } from "../signoff/promotion-stages.js";

/** The parts of a deployment_protection_rule webhook this module reads. */
export interface ProtectionRuleEvent {
  action: string;
  environment?: string;
  event?: string;
  deployment_callback_url?: string;
  deployment?: {
    id: number;
    sha: string;
    ref?: string;
    environment?: string;
    payload?: unknown;
    creator?: { login: string } | null;
  } | null;
  pull_requests?: { number: number }[];
  sender?: { login: string } | null;
  /** The App installation the event came through: only its own runs can vouch for the deployment. */
  installation?: { id: number } | null;
}

export interface ProtectionDeps {
  gates: GateCatalog;
  state: RunState;
  ledger: PromotionLedger;
  /** The ledger of attempts on each commit: a `requires: run` is an attempt like a PR's run. */
  attempts: AttemptStore;
  log: BotLog;
  /** Longest a `requires: run` may take before the deployment is rejected, ms (default 30 min). */
  runTimeoutMs?: number;
  /** Where slow work (a `requires: run`) goes, so the webhook is answered at once. */
  background(task: () => Promise<void>): void;
}

export interface ProtectionAnswer {
  state: "approved" | "rejected";
  comment: string;
}

export type ProtectionOutcome =
  | { kind: "answered"; answer: ProtectionAnswer }
  /** A `requires: run` was started; the answer comes when it ends. */
  | { kind: "running" }
  /** The event's callback URL is not this repository's: nobody can be answered. */
  | { kind: "unanswerable"; why: string };

/** The comment shows in the deployment's review panel: kept to a paragraph, the war room has the rest. */
const COMMENT_LIMIT = 1024;

/** What one guarding gate concluded for the deployment. */
interface GateDecision {
  gate: Gate;
  environment: GuardedEnvironment;
  approved: boolean;
  /** One line: the basis of an approval, or what is missing and how to get it. */
  line: string;
  evidenceUrl?: string;
  /** The run that backs the decision, whose war room shows the stages. */
  backing?: RunRecord;
}

/**
 * The workflow run id of a deployment_callback_url, only when the URL is this repository's
 * `/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`: the bot's token goes
 * nowhere else.
 */
export function callbackRunId(
  callbackUrl: string | undefined,
  where: RepoRef,
): { runId: number } | { code: "bad_callback"; message: string } {
  const bad = (why: string) => ({
    code: "bad_callback" as const,
    message: `deployment_callback_url ${JSON.stringify(callbackUrl ?? null)} ${why}`,
  });
  if (!callbackUrl) return bad("is missing");
  let path: string;
  try {
    path = decodeURIComponent(new URL(callbackUrl).pathname);
  } catch {
    return bad("is not a URL");
  }
  const m = /\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/deployment_protection_rule$/.exec(path);
  if (!m) return bad("is not a /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule URL");
  if (m[1]!.toLowerCase() !== where.owner.toLowerCase() || m[2]!.toLowerCase() !== where.repo.toLowerCase()) {
    return bad(`belongs to ${m[1]}/${m[2]}, not to ${where.owner}/${where.repo}, where the deployment is`);
  }
  return { runId: Number(m[3]) };
}

/**
 * Each gate as pinned for the latest run of `sha` (its `environments:` and `signoff:` are the ones that run is
 * judged by), else the bot's GATES_DIR copy for a commit no pinned run measured.
 */
async function gatesPinnedFor(where: RepoRef, sha: string, deps: ProtectionDeps): Promise<Gate[]> {
  const out: Gate[] = [];
  for (const local of deps.gates.gates) {
    const [latest] = await deps.state.runsForCommit(where.owner, where.repo, local.name, sha);
    out.push(latest?.gateFile ? (gateOfRecord(latest, deps.gates) ?? local) : local);
  }
  return out;
}

/** Where a gate's policy is written: the repository path of a pinned file, else the GATES_DIR file. */
function policyFile(gate: Gate, deps: ProtectionDeps): string {
  return gate.source.blobSha ? `${gate.source.file} (blob ${gate.source.blobSha.slice(0, 7)})` : deps.gates.fileOf(gate);
}

/** The gates that guard `environment`, each with its rule. */
export function guardsOf(gates: readonly Gate[], environment: string): { gate: Gate; environment: GuardedEnvironment }[] {
  return gates.flatMap((gate) => (gate.environments ?? []).filter((e) => e.name === environment).map((e) => ({ gate, environment: e })));
}

function fit(comment: string): string {
  return comment.length <= COMMENT_LIMIT ? comment : `${comment.slice(0, COMMENT_LIMIT - 40)}… (cut; the war room has it whole)`;
}

/** Handles deployment_protection_rule.requested: decides, answers GitHub, records the stage, updates the war room. */
export async function handleProtectionRule(
  github: GitHub,
  where: RepoRef,
  event: ProtectionRuleEvent,
  deps: ProtectionDeps,
): Promise<ProtectionOutcome> {
  const callback = callbackRunId(event.deployment_callback_url, where);
  if ("code" in callback) {
    deps.log.error({ callback: event.deployment_callback_url }, callback.message);
    return { kind: "unanswerable", why: callback.message };
  }
  const environmentName = event.environment ?? event.deployment?.environment ?? "";
  const answer = async (a: ProtectionAnswer): Promise<ProtectionAnswer> => {
    const comment = fit(a.comment);
    await github.rest.actions.reviewCustomGatesForRun({
      ...where,
      run_id: callback.runId,
      environment_name: environmentName,
      state: a.state,
      comment,
    });
    return { ...a, comment };
  };
  const rejectFor = async (why: string) => ({
    kind: "answered" as const,
    answer: await answer({ state: "rejected", comment: `release-gate rejected this deployment: ${why}` }),
  });

  const sha = event.deployment?.sha ?? "";
  if (!environmentName || !/^[0-9a-f]{40}$/i.test(sha))
    return rejectFor("the event names no environment or no deployment commit, so no gate can vouch for it.");
  const guards = guardsOf(await gatesPinnedFor(where, sha, deps), environmentName);
  if (guards.length === 0) {
    return rejectFor(
      `no gate guards the environment "${environmentName}". Add it to a gate file (environments: { ${environmentName}: { requires: signoff } }), or remove release-gate from ${environmentName}'s deployment protection rules.`,
    );
  }

  const decideAll = async (): Promise<GateDecision[]> => {
    const out: GateDecision[] = [];
    for (const g of guards) out.push(await decide(github, where, event, g.gate, g.environment, sha, deps));
    return out;
  };
  const conclude = async (decisions: GateDecision[]): Promise<ProtectionAnswer> => {
    const approved = decisions.every((d) => d.approved);
    const lines = decisions.map((d) => `${d.approved ? "✅" : "❌"} ${d.line}${d.evidenceUrl ? ` Evidence: ${d.evidenceUrl}` : ""}`);
    // Recorded before GitHub hears it: a later stage may rely only on an approval the record holds.
    await recordStages(github, where, event, environmentName, sha, decisions, deps);
    try {
      return await answer({ state: approved ? "approved" : "rejected", comment: lines.join("\n") });
    } catch (err) {
      // GitHub did not take it: an approval it never saw must not open the next stage.
      if (approved) {
        const undo = decisions.map((d) => ({
          ...d,
          approved: false,
          line: `${d.gate.title}: GitHub did not take the approval (${(err as Error).message})`,
        }));
        await recordStages(github, where, event, environmentName, sha, undo, deps).catch(() => {});
      }
      throw err;
    }
  };
  const failClosed = (err: unknown) =>
    `release-gate rejected this deployment: it could not decide (${(err as Error).message}). Nothing was approved; re-run the deployment, and if it persists, the bot's log has the details.`;

  if (guards.some((g) => g.environment.requires === "run")) {
    const names = guards.map((g) => g.gate.title).join(", ");
    await github.rest.actions
      .reviewCustomGatesForRun({
        ...where,
        run_id: callback.runId,
        environment_name: environmentName,
        comment: `${names}: running against ${environmentName} now; this deployment waits for the verdict.`,
      } as Parameters<GitHub["rest"]["actions"]["reviewCustomGatesForRun"]>[0])
      .catch((err: unknown) => deps.log.warn({ err }, "could not post the progress comment"));
    deps.background(async () => {
      try {
        await conclude(await decideAll());
      } catch (err) {
        deps.log.error({ err }, "a deployment protection rule failed");
        await answer({ state: "rejected", comment: failClosed(err) }).catch((e: unknown) =>
          deps.log.error({ err: e }, "could not reject the deployment"),
        );
      }
    });
    return { kind: "running" };
  }
  try {
    return { kind: "answered", answer: await conclude(await decideAll()) };
  } catch (err) {
    deps.log.error({ err }, "a deployment protection rule failed");
    return { kind: "answered", answer: await answer({ state: "rejected", comment: failClosed(err) }) };
  }
}

async function decide(
  github: GitHub,
  where: RepoRef,
  event: ProtectionRuleEvent,
  gate: Gate,
  environment: GuardedEnvironment,
  sha: string,
  deps: ProtectionDeps,
): Promise<GateDecision> {
  const no = (line: string, more: Partial<GateDecision> = {}): GateDecision => ({
    gate,
    environment,
    approved: false,
    line: `${gate.title}: ${line}`,
    ...more,
  });
  const decisions = await deps.ledger.decisions(where.owner, where.repo, gate.name, sha);
  const order = stageProblem(gate, environment, decisions, sha, new Date());
  if (order) return no(order);
  const gateFile = policyFile(gate, deps);
  const checked = await deps.state.checkedRunsForCommit(where.owner, where.repo, gate.name, sha);
  // A run of another installation never vouches here, whatever its repository name says.
  const installation = event.installation?.id;
  const foreign = checked.runs.filter((r) => installation === undefined || r.installationId !== installation);
  for (const r of foreign)
    deps.log.error(
      { runId: r.id, installation },
      `run ${r.id} belongs to installation ${r.installationId}, not this deployment's: ignored`,
    );
  const runs = checked.runs.filter((r) => !foreign.includes(r));
  const pullNumber = event.pull_requests?.[0]?.number;
  const trust: RecordTrust = {
    approvalKey: deps.state.approvalKey,
    pullNumber,
    rejected: [...checked.rejected, ...foreign.map((r) => r.id)],
  };
  if (environment.requires !== "run") {
    // A promotion stage comes after GO, whatever else it asks for.
    const asStage = gate.promotion?.includes(environment.name) ? { ...environment, requires: "signoff" as const } : environment;
    return { gate, environment, ...decideFromRecord(gate, asStage, sha, runs, gateFile, trust) };
  }
  const resolved = runTarget(environment, event.deployment?.payload);
  if ("problem" in resolved) return no(resolved.problem);
  if (!environment.credentials?.signingSecret && !environment.credentials?.bearerKey) {
    return no(
      `requires: run against ${environment.name} needs the credentials its service takes, and the bot has none: set the variables named under environments.${environment.name}.credentials in ${gateFile} where the bot runs, and restart it.`,
    );
  }
  if (gate.promotion?.includes(environment.name)) {
    const go = decideFromRecord(gate, { ...environment, requires: "signoff" }, sha, runs, gateFile, trust);
    if (!go.approved)
      return no(`${environment.name} is a promotion stage, which comes after GO: ${go.line.replace(/^[^:]+: /, "")}`, {
        backing: go.backing,
      });
  }
  const ran = await runForDeployment(github, where, {
    gate,
    environment,
    target: resolved.target,
    sha,
    pullNumber,
    runs,
    approvalKey: deps.state.approvalKey,
    ledger: deps.ledger,
    state: deps.state,
    attempts: deps.attempts,
    timeoutMs: deps.runTimeoutMs ?? 30 * 60_000,
  });
  return { gate, environment, ...ran, line: `${gate.title}: ${ran.line}` };
}

/** One stage row per gate, and the war room told: the backing run's comment, or the deployment's PR. */
async function recordStages(
  github: GitHub,
  where: RepoRef,
  event: ProtectionRuleEvent,
  environmentName: string,
  sha: string,
  decisions: GateDecision[],
  deps: ProtectionDeps,
): Promise<void> {
  const who = event.deployment?.creator?.login ?? event.sender?.login ?? "unknown";
  for (const d of decisions) {
    const row: StageRow = {
      stage: environmentName,
      state: d.approved ? "approved" : "rejected",
      at: new Date().toISOString(),
      who,
      basis: d.line.replace(/^[^:]+: /, "").replace(/\n/g, " "),
      deploymentId: event.deployment?.id ?? 0,
      ...(d.evidenceUrl ? { evidenceUrl: d.evidenceUrl } : {}),
    };
    const rows = await deps.ledger.record(where.owner, where.repo, d.gate.name, sha, row);
    try {
      if (d.backing?.warRoomCommentId) {
        const updated = await deps.state.update(d.backing.id, () => ({ stages: rows }));
        if (updated) await refreshWarRoom(github, d.gate, updated, deps.log);
        continue;
      }
      const pr = event.pull_requests?.[0]?.number;
      if (!pr) continue;
      const marker = `<!-- release-gate:promotion gate=${d.gate.name} commit=${sha} -->`;
      const existing = await findMarkedComment(github, where, pr, marker);
      const body = `${marker}\n### ${d.gate.title} promotion of ${short(sha)}\n\n${renderStages(d.gate, rows)}`;
      await upsertComment(github, where, pr, existing, body);
    } catch (err) {
      deps.log.warn({ err }, "could not update the war room with the stage decision");
    }
  }
}
