// Runs asked for from GitHub's own UI rather than a PR comment: the "Re-run" button on the gate's
// check run (check_run.rerequested: the same scope on the same commit, if the person who clicked may
// start runs), and a merge queue's merge group (merge_group.checks_requested: the scope the gate file
// names for the merge queue, on the merge group's head commit, or a check saying the gate is not
// required there).

import type { Gate } from "../../gates/model/index.js";
import { newRunId } from "../../gates/run/index.js";
import { phasesUpTo } from "../../gates/gate-file/index.js";
import type { BotLog } from "../boot/bot-log.js";
import { createCompletedCheckRun } from "../github/check-run.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { collaboratorPermission, hasPermission, refusal } from "../commands/permission.js";
import type { RunQueue } from "../runs/run-queue.js";
import type { RunRecord } from "../runs/run-state.js";
import { refreshWarRoom, renderWarRoomComment, warRoomViewOf } from "../github/war-room-comment.js";
import { forkOf } from "../commands/approve-run.js";
import { forkRefusal } from "../commands/replay.js";
import type { ForkApprovals } from "../commands/fork-approval.js";
import { attemptRefusalText } from "../runs/run-attempt.js";

export interface RerunDeps {
  gates: GateCatalog;
  queue: RunQueue;
  log: BotLog;
  /** Maintainers' `/gate-a approve-run` of fork heads; without it, fork code runs only where the gate allows forks. */
  forkApprovals?: Pick<ForkApprovals, "approvedBy">;
}

/**
 * Why fork code may not run for this re-run or merge group, or null: the same rule as a PR command, so
 * no button or queue runs code from a fork that no maintainer approved (`/gate-a approve-run` of that head).
 */
async function forkProblem(
  where: RepoRef,
  gate: Gate,
  pr: { number: number; head: { sha: string; repo?: { full_name?: string } | null } },
  sha: string,
  deps: RerunDeps,
): Promise<{ fork: string; why: string } | null> {
  const fork = forkOf(pr, where);
  if (!fork || gate.command.allowForks) return null;
  if (await deps.forkApprovals?.approvedBy(where.owner, where.repo, pr.number, sha)) return null;
  return { fork, why: forkRefusal(gate, fork, sha, deps.gates.fileOf(gate)) };
}

/** The parts of a check_run.rerequested webhook read here. */
export interface CheckRunRerequestedEvent {
  check_run: { id: number; external_id?: string | null; head_sha: string; name: string };
  sender: { login: string; type?: string };
  installation?: { id: number };
}

/** The parts of a merge_group.checks_requested webhook read here. */
export interface MergeGroupEvent {
  merge_group: { head_sha: string; head_ref: string; base_ref: string };
  sender: { login: string; type?: string };
  installation?: { id: number };
}

export type RerunOutcome =
  | { kind: "ignored"; why: string }
  | { kind: "refused"; why: string }
  | { kind: "requested"; run: RunRecord; outcome: "start" | "queued" | "refused" }
  | { kind: "not_required"; gate: string };

/** Every phase of the gate: a full run, the kind a deployment's sign-off can rest on. */
function isFull(gate: Gate, scope: string): boolean {
  return scope === gate.phases.map((p) => p.name).join("+");
}

/**
 * Records and queues a run the way a PR command does: its war-room comment exists before a runner can
 * see it, and a run already holding the gate is said so on that comment.
 */
async function requestRun(github: GitHub, where: RepoRef, gate: Gate, record: RunRecord, deps: RerunDeps): Promise<RerunOutcome> {
  const { data: warRoom } = await github.rest.issues.createComment({
    ...where,
    issue_number: record.pullNumber,
    body: renderWarRoomComment(warRoomViewOf(gate, record)),
  });
  record.warRoomCommentId = warRoom.id;
  record.warRoomUrl = warRoom.html_url;
  const outcome = await deps.queue.request(record);
  if (outcome.outcome === "refused") {
    await github.rest.issues.updateComment({
      ...where,
      comment_id: warRoom.id,
      body: `\`${record.label}\` on ${record.headSha.slice(0, 7)} (asked by @${record.requestedBy}) was refused: ${outcome.reason}.`,
    });
  } else if (outcome.outcome === "queued") {
    const h = outcome.holder;
    const queued = await deps.queue.state.update(record.id, () => ({
      waitingBehind: { id: h.id, requestedBy: h.requestedBy, label: h.label, pullNumber: h.pullNumber },
    }));
    if (queued) await refreshWarRoom(github, gate, queued, deps.log);
    if (outcome.replaced)
      await refreshWarRoom(
        github,
        gate,
        { ...outcome.replaced, phase: "cancelled", cancelledBecause: `replaced by @${record.requestedBy}'s \`${record.label}\`` },
        deps.log,
      );
  }
  return { kind: "requested", run: record, outcome: outcome.outcome };
}

/** The "Re-run" button on one of the gate's check runs: the same scope, on the same commit, as a new run. */
export async function handleCheckRunRerequested(
  github: GitHub,
  where: RepoRef,
  event: CheckRunRerequestedEvent,
  deps: RerunDeps,
): Promise<RerunOutcome> {
  const externalId = event.check_run.external_id ?? "";
  // The runner names each check run's run in external_id; a check run without one (e.g. "results are
  // stale") or of another app has nothing to re-run.
  const earlier = externalId ? await deps.queue.state.get(externalId) : null;
  if (!earlier)
    return { kind: "ignored", why: `check run ${event.check_run.id} names no run of this bot (external_id ${JSON.stringify(externalId)})` };
  if (
    earlier.owner.toLowerCase() !== where.owner.toLowerCase() ||
    earlier.repo.toLowerCase() !== where.repo.toLowerCase() ||
    earlier.headSha !== event.check_run.head_sha
  ) {
    return { kind: "ignored", why: `check run ${event.check_run.id} does not belong to run ${earlier.id}'s repository and commit` };
  }
  const gate = deps.gates.byName(earlier.gate);
  if (!gate) return { kind: "ignored", why: `no gate named ${earlier.gate} in GATES_DIR` };
  const user = event.sender.login;
  const reply = (body: string) => github.rest.issues.createComment({ ...where, issue_number: earlier.pullNumber, body });
  if (event.sender.type === "Bot" || user.endsWith("[bot]")) return { kind: "ignored", why: "bots do not start runs" };
  const permission = await collaboratorPermission(github, where, user);
  if (!hasPermission(permission, gate.command.permission)) {
    const why = refusal(user, permission, gate.command.permission, `re-run ${gate.title} from its check run`, deps.gates.fileOf(gate));
    await reply(why);
    return { kind: "refused", why };
  }
  const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: earlier.pullNumber });
  if (pr.state !== "open") {
    const why = `pull request #${earlier.pullNumber} is ${pr.state}: ${gate.title} runs only on open pull requests`;
    await reply(`@${user}, ${gate.title} was not re-run: ${why}.`);
    return { kind: "refused", why };
  }
  const fork = await forkProblem(where, gate, pr, earlier.headSha, deps);
  if (fork) {
    await reply(`@${user}, ${gate.title} was not re-run. ${fork.why}`);
    return { kind: "refused", why: fork.why };
  }
  const noAttempt = await attemptRefusalText(gate, deps.queue.state, deps.queue.attempts, earlier);
  if (noAttempt) {
    await reply(`@${user}, ⛔ ${noAttempt}`);
    return { kind: "refused", why: noAttempt };
  }
  const record: RunRecord = {
    id: newRunId(gate),
    gate: gate.name,
    owner: where.owner,
    repo: where.repo,
    installationId: event.installation?.id ?? earlier.installationId,
    pullNumber: earlier.pullNumber,
    headSha: earlier.headSha,
    selector: earlier.selector,
    scope: earlier.scope,
    label: earlier.label,
    requestedBy: user,
    requestedAt: new Date().toISOString(),
    phase: "queued",
    full: isFull(gate, earlier.scope),
    ...(forkOf(pr, where) ? { headRepo: forkOf(pr, where)! } : {}),
  };
  return requestRun(github, where, gate, record, deps);
}

/** "gh-readonly-queue/main/pr-104-<sha>": the pull request a merge group was made for. */
export function mergeGroupPullNumber(headRef: string): number | null {
  const m = /(?:^|\/)gh-readonly-queue\/.+\/pr-(\d+)-[0-9a-f]+$/.exec(headRef);
  return m ? Number(m[1]) : null;
}

/** A merge group asks for checks: each gate runs its merge-queue scope, or says it is not required. */
export async function handleMergeGroup(github: GitHub, where: RepoRef, event: MergeGroupEvent, deps: RerunDeps): Promise<RerunOutcome[]> {
  const group = event.merge_group;
  const out: RerunOutcome[] = [];
  for (const gate of deps.gates.gates) {
    const selector = gate.mergeQueue?.selector ?? null;
    const file = deps.gates.fileOf(gate);
    if (selector === null) {
      // A required check that never reports holds the queue forever: say plainly that it is not required.
      await createCompletedCheckRun(github, where, {
        name: gate.title,
        headSha: group.head_sha,
        conclusion: "neutral",
        title: `${gate.title}: not required for merge queue`,
        summary: `${file} sets no \`merge_queue:\` phase, so ${gate.title} does not run on merge groups. To run it here, add e.g. \`merge_queue: ${gate.phases[0]!.name}\` to ${file}.`,
      });
      out.push({ kind: "not_required", gate: gate.name });
      continue;
    }
    const pullNumber = mergeGroupPullNumber(group.head_ref);
    if (pullNumber === null) {
      const why = `the merge group's ref ${group.head_ref} names no pull request, so ${gate.title} has nowhere to report`;
      await createCompletedCheckRun(github, where, {
        name: gate.title,
        headSha: group.head_sha,
        conclusion: "failure",
        title: `${gate.title}: could not run on this merge group`,
        summary: `${why}; the merge group is not approved by ${gate.title}.`,
      });
      out.push({ kind: "refused", why });
      continue;
    }
    const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: pullNumber });
    const fork = await forkProblem(where, gate, pr, pr.head.sha, deps);
    if (fork) {
      await createCompletedCheckRun(github, where, {
        name: gate.title,
        headSha: group.head_sha,
        conclusion: "action_required",
        title: `${gate.title}: fork code not approved for this merge group`,
        summary: `The merge group holds pull request #${pullNumber}. ${fork.why}`,
      });
      out.push({ kind: "refused", why: fork.why });
      continue;
    }
    const phases = phasesUpTo(gate, selector);
    const scope = phases.map((p) => p.name).join("+");
    const record: RunRecord = {
      id: newRunId(gate),
      gate: gate.name,
      owner: where.owner,
      repo: where.repo,
      installationId: event.installation?.id ?? 0,
      pullNumber,
      headSha: group.head_sha,
      selector,
      scope,
      label: `merge queue ${selector}`,
      requestedBy: event.sender.login,
      requestedAt: new Date().toISOString(),
      phase: "queued",
      full: isFull(gate, scope),
    };
    out.push(await requestRun(github, where, gate, record, deps));
  }
  return out;
}
