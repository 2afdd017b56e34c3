// The Probot app: PR comment commands (replay, status, abort, help) answered at once, runs handed to the
// queue, results marked stale when the PR moves on, and sign-off reviews on evidence PRs recorded.
// Everything slow happens in a runner; a webhook here makes a handful of GitHub calls at most.

import type { ApplicationFunction, Context, Probot } from "probot";
import type { Gate } from "../gates/gate.js";
import { newRunId } from "../gates/execute-run.js";
import { commandLabel, isPrivileged, parseCommand, renderHelp } from "./command.js";
import type { GateCatalog } from "./gate-catalog.js";
import { httpStatus, type GitHub, type RepoRef } from "./github.js";
import { collaboratorPermission, hasPermission, refusal } from "./permission.js";
import type { RunQueue } from "./run-queue.js";
import type { RunRecord } from "./run-state.js";
import { renderStatus } from "./run-status.js";
import type { BotLog } from "./bot-log.js";
import { createCompletedCheckRun } from "./check-run.js";
import { refreshWarRoom, renderWarRoomComment, warRoomViewOf } from "./war-room-comment.js";
import { handleReview, type ReviewEvent } from "./signoff.js";
import type { KeyObject } from "node:crypto";
import { guardForGitHub, neutraliseMentions } from "./redact-for-github.js";
import type { ForkApprovals } from "./fork-approval.js";
import { gateFileChangeOnPull, gateOfRecord, pinnedFileOf, readRepositoryGates, RepositoryGateError, type RepositoryGates } from "./repository-gates.js";
import { handleProtectionRule, type ProtectionRuleEvent } from "./deployment-protection.js";
import type { PromotionLedger } from "./promotion-stages.js";
import { handleCheckRunRerequested, handleMergeGroup, type CheckRunRerequestedEvent, type MergeGroupEvent } from "./rerun.js";

export interface AppDeps {
  gates: GateCatalog;
  queue: RunQueue;
  /** Signs each recorded sign-off entry (EVIDENCE_SIGNING_KEY). */
  signingKey?: KeyObject;
  /** Maintainers' approvals of fork PR runs; without it, fork PRs run only where the gate allows forks. */
  forkApprovals?: ForkApprovals;
  /** Promotion stage decisions (deployment protection rule). */
  promotions: PromotionLedger;
  /** Longest a deployment's `requires: run` may take before it is rejected, ms. */
  deploymentRunTimeoutMs?: number;
}

/** How long a non-collaborator on a public repository gets no second reply. */
export const STRANGER_REPLY_SECONDS = 3600;
const COLLABORATOR_ASSOCIATIONS = ["OWNER", "MEMBER", "COLLABORATOR"];

type CommentContext = Context<"issue_comment.created">;

/** The command echoed back: the user's text, so its @-mentions are neutralised. */
function quote(line: string): string {
  return `> ${neutraliseMentions(line)}\n\n`;
}

async function handleCommand(context: CommentContext, deps: AppDeps): Promise<void> {
  const { comment, issue } = context.payload;
  // Bots (this app included) never command the gate; an edit is a different event and is not handled.
  if (context.isBot || comment.user?.type === "Bot") return;
  // Most comments are conversation: only one that starts like a command costs GitHub calls.
  if (!/^\s*\//.test(comment.body ?? "")) return;
  const github = guardForGitHub(context.octokit) as unknown as GitHub;
  const where: RepoRef = context.repo();
  const user = comment.user?.login ?? context.payload.sender.login;
  // The gates as the default branch has them now: a PR cannot change the bar it is judged by.
  let repoGates: RepositoryGates | null;
  try {
    repoGates = await readRepositoryGates(github, where, context.payload.repository.default_branch);
  } catch (err) {
    // Fail closed: without the default branch's gate files no run starts (a fallback could judge by another bar).
    const why = err instanceof RepositoryGateError
      ? err.message
      : `the gate files on the default branch could not be read (${httpStatus(err) ? `GitHub answered ${httpStatus(err)}: ` : ""}${(err as Error).message}); comment again in a moment`;
    context.log.warn({ err }, "could not read the repository's gate files");
    const local = parseCommand(comment.body ?? "", deps.gates.gates);
    if (local) await github.rest.issues.createComment({ ...where, issue_number: issue.number, body: quote(local.line) + `⚠️ Nothing was started: ${why}` }).catch(() => {});
    return;
  }
  const catalog = repoGates?.catalog ?? deps.gates;
  const parsed = parseCommand(comment.body ?? "", catalog.gates);
  if (!parsed) return;
  const { gate, command, line } = parsed;
  const reply = (body: string) => github.rest.issues.createComment({ ...where, issue_number: issue.number, body: quote(line) + body });

  // On a public repository anyone can comment: a stranger's commands get one reply an hour, and nothing runs.
  const association = (comment as { author_association?: string }).author_association ?? "NONE";
  if (context.payload.repository.private === false && !COLLABORATOR_ASSOCIATIONS.includes(association)) {
    if (!(await deps.queue.state.firstWithin(`stranger:${where.owner}/${where.repo}:${user}`, STRANGER_REPLY_SECONDS))) return;
    await reply(
      `@${user}, ${gate.title} commands are for collaborators of this repository. Ask a maintainer to run it; ` +
        `further commands from you get no reply for an hour.`,
    );
    return;
  }

  await github.rest.reactions.createForIssueComment({ ...where, comment_id: comment.id, content: "eyes" });
  try {
    if (!issue.pull_request) {
      await reply(`${gate.title} commands work on pull requests: a run measures a PR's head commit. Comment on the pull request you want gated.`);
      return;
    }
    if (isPrivileged(command)) {
      const permission = await collaboratorPermission(github, where, user);
      if (!hasPermission(permission, gate.command.permission)) {
        const what =
          command.kind === "abort" ? `abort ${gate.title} runs` : command.kind === "approve-run" ? `approve ${gate.title} runs of a fork's code` : `start ${gate.title} runs`;
        await reply(refusal(user, permission, gate.command.permission, what, catalog.fileOf(gate)));
        return;
      }
    }
    switch (command.kind) {
      case "help":
        await reply(renderHelp(gate, command.problem === undefined ? undefined : neutraliseMentions(command.problem)));
        return;
      case "status": {
        const slot = await deps.queue.state.slot(where.owner, where.repo, gate.name);
        const runs = await deps.queue.state.runsForPull(where.owner, where.repo, issue.number);
        await reply(renderStatus(gate, `${where.owner}/${where.repo}`, slot, issue.number, runs));
        return;
      }
      case "abort":
        await abort(github, where, gate, user, reply, deps, context.log);
        return;
      case "approve-run":
        await approveRun(github, where, gate, issue.number, user, reply, deps);
        return;
      case "replay":
        await replay(
          github,
          where,
          gate,
          {
            selector: command.selector,
            label: commandLabel(command),
            scope: command.phases.map((p) => p.name).join("+"),
            full: gate.phases.every((p) => command.phases.includes(p)),
          },
          context,
          user,
          reply,
          deps,
          repoGates,
        );
        return;
    }
  } catch (err) {
    // GitHub's or Redis's own words may carry what should not be posted: they go to the log, with an id the reply names.
    const incident = `${Date.now().toString(36)}-${comment.id}`;
    context.log.error({ err, incident }, "a command failed");
    await reply(`⚠️ Something went wrong handling this command (incident \`${incident}\` in the bot's log). Nothing was started; try again, and if it persists, ask the bot's operator with that incident id.`).catch(() => {});
  }
}

async function replay(
  github: GitHub,
  where: RepoRef,
  gate: Gate,
  what: { selector: string; label: string; scope: string; full: boolean },
  context: CommentContext,
  user: string,
  reply: (body: string) => Promise<unknown>,
  deps: AppDeps,
  repoGates: RepositoryGates | null,
): Promise<void> {
  const { issue, comment, installation } = context.payload;
  const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: issue.number });
  if (pr.state !== "open") {
    await reply(`This pull request is ${pr.state}: ${gate.title} runs only on open pull requests.`);
    return;
  }
  // The head commit is pinned now, when the command arrives: the runner builds exactly this commit.
  const fork = forkOf(pr, where);
  if (fork && !gate.command.allowForks) {
    const approvedBy = await deps.forkApprovals?.approvedBy(where.owner, where.repo, issue.number, pr.head.sha);
    if (!approvedBy) {
      await reply(forkRefusal(gate, fork, pr.head.sha, repoGates ? repoGates.catalog.fileOf(gate) : deps.gates.fileOf(gate)));
      return;
    }
  }
  const gateFile = repoGates ? pinnedFileOf(repoGates, gate) : undefined;
  const gateFileNote = gateFile ? await gateFileChangeOnPull(github, where, gateFile, pr.head.sha) : null;
  const record: RunRecord = {
    id: newRunId(gate),
    gate: gate.name,
    owner: where.owner,
    repo: where.repo,
    installationId: installation?.id ?? 0,
    pullNumber: issue.number,
    headSha: pr.head.sha,
    selector: what.selector,
    scope: what.scope,
    full: what.full,
    label: what.label,
    requestedBy: user,
    requestedAt: new Date().toISOString(),
    phase: "queued",
    commandCommentId: comment.id,
    ...(gateFile ? { gateFile } : {}),
    ...(gateFileNote ? { gateFileNote } : {}),
    ...(fork ? { headRepo: fork } : {}),
  };
  // The war-room comment exists before a runner can see the run, so the runner edits it instead of adding another.
  const { data: warRoom } = await github.rest.issues.createComment({
    ...where,
    issue_number: issue.number,
    body: renderWarRoomComment(warRoomViewOf(gate, record)),
  });
  record.warRoomCommentId = warRoom.id;
  record.warRoomUrl = warRoom.html_url;
  const outcome = await deps.queue.request(record);
  if (outcome.outcome === "start") return;
  if (outcome.outcome === "refused") {
    await github.rest.issues.updateComment({
      ...where,
      comment_id: warRoom.id,
      body:
        quote(`${gate.command.prefix} ${what.label}`) +
        `Refused: ${outcome.reason}. @${outcome.holder.requestedBy}'s run \`${outcome.holder.id}\` (\`${outcome.holder.label}\`, PR #${outcome.holder.pullNumber}) holds ${gate.title} on this repository. ` +
        `\`${gate.command.prefix} status\` shows where it is; \`${gate.command.prefix} abort\` stops it.`,
    });
    return;
  }
  const h = outcome.holder;
  const queued = await deps.queue.state.update(record.id, () => ({
    waitingBehind: { id: h.id, requestedBy: h.requestedBy, label: h.label, pullNumber: h.pullNumber },
  }));
  if (queued) await refreshWarRoom(github, gate, queued, context.log as unknown as BotLog);
  if (outcome.replaced) {
    const replaced = outcome.replaced;
    await refreshWarRoom(github, gate, { ...replaced, phase: "cancelled", cancelledBecause: `replaced by @${user}'s \`${what.label}\`` }, context.log as unknown as BotLog);
    await reply(
      `Queued behind @${h.requestedBy}'s \`${h.label}\` (run \`${h.id}\`), replacing @${replaced.requestedBy}'s waiting \`${replaced.label}\` (run \`${replaced.id}\`): at most one run waits.`,
    );
  }
}

/** "owner/repo" of a PR's head when it is not this repository (a fork, or a head repository since deleted). */
function forkOf(pr: { head: { repo?: { full_name?: string; fork?: boolean } | null } }, where: RepoRef): string | null {
  const repo = pr.head.repo;
  if (!repo?.full_name) return "a deleted repository";
  return repo.full_name.toLowerCase() === `${where.owner}/${where.repo}`.toLowerCase() ? null : repo.full_name;
}

function forkRefusal(gate: Gate, fork: string, sha: string, gateFile: string): string {
  return (
    `This pull request comes from a fork (\`${fork}\`): ${gate.title} builds and runs the PR's own code, so it does not run code from a fork until a maintainer has looked at it. ` +
    `A maintainer can comment \`${gate.command.prefix} approve-run\` to allow runs of the current head (${sha.slice(0, 7)}; a later push needs a new approval), ` +
    `or the gate file \`${gateFile}\` on the default branch can set \`commands.allow_forks: true\` to allow every fork PR.`
  );
}

async function approveRun(
  github: GitHub,
  where: RepoRef,
  gate: Gate,
  pullNumber: number,
  user: string,
  reply: (body: string) => Promise<unknown>,
  deps: AppDeps,
): Promise<void> {
  const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: pullNumber });
  const fork = forkOf(pr, where);
  if (!fork) {
    await reply(`This pull request's head is in ${where.owner}/${where.repo}, not a fork: its runs need no approval.`);
    return;
  }
  if (!deps.forkApprovals) {
    await reply(`This bot keeps no approvals; set \`commands.allow_forks: true\` in the gate file to run fork PRs.`);
    return;
  }
  await deps.forkApprovals.approve(where.owner, where.repo, pullNumber, pr.head.sha, user);
  await reply(
    `@${user} approved ${gate.title} runs of ${pr.head.sha.slice(0, 7)} from \`${fork}\`: \`${gate.command.prefix} replay <phase>\` now builds and runs it. A later push needs a new approval.`,
  );
}

async function abort(
  github: GitHub,
  where: RepoRef,
  gate: Gate,
  user: string,
  reply: (body: string) => Promise<unknown>,
  deps: AppDeps,
  log: Context["log"],
): Promise<void> {
  const outcome = await deps.queue.abort(where.owner, where.repo, gate.name, user);
  if (outcome.kind === "idle") {
    await reply(`Nothing to abort: no ${gate.title} run is running or waiting on ${where.owner}/${where.repo}.`);
    return;
  }
  const r = outcome.run;
  if (outcome.kind === "dropped") {
    await refreshWarRoom(github, gate, r, log as unknown as BotLog);
    await reply(`Dropped the waiting run \`${r.id}\` (@${r.requestedBy}'s \`${r.label}\`, PR #${r.pullNumber}); nothing was running.`);
    return;
  }
  await refreshWarRoom(github, gate, r, log as unknown as BotLog);
  if (r.phase === "queued") {
    await reply(`Run \`${r.id}\` (@${r.requestedBy}'s \`${r.label}\`, PR #${r.pullNumber}) had not started yet: it is cancelled when a runner picks it up.`);
    return;
  }
  const next = outcome.next
    ? ` @${outcome.next.requestedBy}'s waiting \`${outcome.next.label}\` (run \`${outcome.next.id}\`) starts after it; \`${gate.command.prefix} abort\` again drops it.`
    : "";
  await reply(
    `🛑 Aborting run \`${r.id}\` (@${r.requestedBy}'s \`${r.label}\`, PR #${r.pullNumber}): the replay stops, the target is torn down, and the run ends as aborted with its evidence.${next}`,
  );
}

/** New commits on a PR: every earlier result of it belongs to an older commit, so it is stale. */
async function markStale(context: Context<"pull_request.synchronize">, deps: AppDeps): Promise<void> {
  const github = guardForGitHub(context.octokit) as unknown as GitHub;
  const where: RepoRef = context.repo();
  const pr = context.payload.pull_request;
  const at = new Date().toISOString();
  const runs = await deps.queue.state.runsForPull(where.owner, where.repo, pr.number);
  const staleGates = new Map<string, RunRecord[]>();
  const gatesByName = new Map<string, Gate>();
  for (const run of runs) {
    if (run.headSha === pr.head.sha || run.staleSince || run.phase === "cancelled") continue;
    const marked = await deps.queue.state.update(run.id, (r) => (r.staleSince ? null : { staleSince: { headSha: pr.head.sha, at } }));
    const gate = marked ? gateOfRecord(marked, deps.gates) : undefined;
    if (!marked || !gate) continue;
    if (marked.warRoomCommentId) await refreshWarRoom(github, gate, marked, context.log as unknown as BotLog);
    staleGates.set(gate.name, [...(staleGates.get(gate.name) ?? []), marked]);
    gatesByName.set(gate.name, gate);
  }
  for (const [name, stale] of staleGates) {
    const gate = gatesByName.get(name)!;
    const labels = [...new Set(stale.map((r) => r.label))];
    await createCompletedCheckRun(github, where, {
      name: gate.title,
      headSha: pr.head.sha,
      // Not neutral: the check has the required name, and a required check accepts neutral.
      conclusion: "action_required",
      title: `New commits: earlier ${gate.title} results are stale`,
      summary:
        `The ${gate.title} results on this PR measured ${[...new Set(stale.map((r) => r.headSha.slice(0, 7)))].join(", ")}, not ${pr.head.sha.slice(0, 7)}. ` +
        `A new run is needed: comment \`${gate.command.prefix} ${labels[labels.length - 1]}\`.`,
    }).catch((err: unknown) => context.log.warn({ err }, "could not create the stale check run"));
  }
}

export function releaseGateApp(deps: AppDeps): ApplicationFunction {
  return (app: Probot) => {
    app.on("issue_comment.created", (context) => handleCommand(context, deps));
    app.on("pull_request.synchronize", (context) => markStale(context, deps));
    app.on(["pull_request_review.submitted", "pull_request_review.dismissed"], async (context) => {
      if (context.isBot) return;
      const outcome = await handleReview(
        guardForGitHub(context.octokit) as unknown as GitHub,
        context.repo(),
        context.payload as unknown as ReviewEvent,
        { gates: deps.gates, state: deps.queue.state, signingKey: deps.signingKey },
      );
      context.log.info({ outcome: outcome.kind, why: "why" in outcome ? outcome.why : undefined }, "review handled");
    });
    app.on("deployment_protection_rule.requested", async (context) => {
      const outcome = await handleProtectionRule(context.octokit as unknown as GitHub, context.repo(), context.payload as unknown as ProtectionRuleEvent, {
        gates: deps.gates,
        state: deps.queue.state,
        ledger: deps.promotions,
        log: context.log as unknown as BotLog,
        runTimeoutMs: deps.deploymentRunTimeoutMs,
        // A run against the environment takes minutes; the webhook is answered now and GitHub later.
        background: (task) => void task(),
      });
      context.log.info({ outcome: outcome.kind }, "deployment protection rule handled");
    });
    app.on("check_run.rerequested", async (context) => {
      const rerunDeps = { gates: deps.gates, queue: deps.queue, log: context.log as unknown as BotLog };
      const outcome = await handleCheckRunRerequested(context.octokit as unknown as GitHub, context.repo(), context.payload as unknown as CheckRunRerequestedEvent, rerunDeps);
      context.log.info({ outcome: outcome.kind }, "check run re-run handled");
    });
    app.on("merge_group.checks_requested", async (context) => {
      const rerunDeps = { gates: deps.gates, queue: deps.queue, log: context.log as unknown as BotLog };
      await handleMergeGroup(context.octokit as unknown as GitHub, context.repo(), context.payload as unknown as MergeGroupEvent, rerunDeps);
    });
  };
}
