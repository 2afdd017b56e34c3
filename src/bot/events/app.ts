// The Probot app: PR comment commands (the catalogue in commands/) answered at once, runs handed to the
// queue, results marked stale when the PR moves on, and sign-off reviews on evidence PRs recorded.
// Everything slow happens in a runner; a webhook here makes a handful of GitHub calls at most.

import type { ApplicationFunction, Context, Probot } from "probot";
import type { Gate } from "../../gates/model/index.js";
import { commandDefinition, parseCommand, renderHelp } from "../commands/command-parser.js";
import { quote } from "../commands/pr-command.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import { httpStatus, type GitHub, type RepoRef } from "../github/github.js";
import { collaboratorPermission, hasPermission, refusal } from "../commands/permission.js";
import type { RunQueue } from "../runs/run-queue.js";
import type { RunRecord } from "../runs/run-state.js";
import type { BotLog } from "../boot/bot-log.js";
import { createCompletedCheckRun } from "../github/check-run.js";
import { refreshWarRoom } from "../github/war-room-comment.js";
import { handleReview, type ReviewEvent } from "../signoff/signoff.js";
import type { KeyObject } from "node:crypto";
import { guardForGitHub } from "../github/redact-for-github.js";
import type { ForkApprovals } from "../commands/fork-approval.js";
import type { DeliveryLedger, RunLock } from "./delivery-ledger.js";
import { gateOfRecord, readRepositoryGates, RepositoryGateError, type RepositoryGates } from "./repository-gates.js";
import { handleProtectionRule, type ProtectionRuleEvent } from "./deployment-protection.js";
import type { PromotionLedger } from "../signoff/promotion-stages.js";
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
  /** Deliveries and command comments already handled (each is handled once). */
  deliveries: DeliveryLedger;
  /** One sign-off at a time per run. */
  runLock: RunLock;
}

/** How long a non-collaborator on a public repository gets no second reply. */
export const STRANGER_REPLY_SECONDS = 3600;
const COLLABORATOR_ASSOCIATIONS = ["OWNER", "MEMBER", "COLLABORATOR"];

type CommentContext = Context<"issue_comment.created">;

async function handleCommand(context: CommentContext, deps: AppDeps): Promise<void> {
  const { comment, issue } = context.payload;
  // Bots (this app included) never command the gate; an edit is a different event and is not handled.
  if (context.isBot || comment.user?.type === "Bot") return;
  // Most comments are conversation: only one that starts like a command costs GitHub calls.
  if (!/^\s*\//.test(comment.body ?? "")) return;
  // A command comment is an order once: a redelivery, or the same comment under another delivery id, runs nothing.
  if (!(await deps.deliveries.first("comment", comment.id))) {
    context.log.info({ comment: comment.id }, "command comment already handled");
    return;
  }
  const github = guardForGitHub(context.octokit) as unknown as GitHub;
  const where: RepoRef = context.repo();
  const user = comment.user?.login ?? context.payload.sender.login;
  // The gates as the default branch has them now: a PR cannot change the bar it is judged by.
  let repoGates: RepositoryGates | null;
  try {
    repoGates = await readRepositoryGates(github, where, context.payload.repository.default_branch);
  } catch (err) {
    // Fail closed: without the default branch's gate files no run starts (a fallback could judge by another bar).
    const why =
      err instanceof RepositoryGateError
        ? err.message
        : `the gate files on the default branch could not be read (${httpStatus(err) ? `GitHub answered ${httpStatus(err)}: ` : ""}${(err as Error).message}); comment again in a moment`;
    context.log.warn({ err }, "could not read the repository's gate files");
    const local = parseCommand(comment.body ?? "", deps.gates.gates);
    if (local)
      await github.rest.issues
        .createComment({ ...where, issue_number: issue.number, body: quote(local.line) + `⚠️ Nothing was started: ${why}` })
        .catch(() => {});
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
      await reply(
        `${gate.title} commands work on pull requests: a run measures a PR's head commit. Comment on the pull request you want gated.`,
      );
      return;
    }
    const definition = commandDefinition(command);
    if (definition.privileged) {
      const permission = await collaboratorPermission(github, where, user);
      if (!hasPermission(permission, gate.command.permission)) {
        await reply(refusal(user, permission, gate.command.permission, definition.privileged(gate), catalog.fileOf(gate)));
        return;
      }
    }
    await definition.handle(command, {
      github,
      where,
      gate,
      catalog,
      repoGates,
      pullNumber: issue.number,
      user,
      commentId: comment.id,
      installationId: context.payload.installation?.id ?? 0,
      queue: deps.queue,
      forkApprovals: deps.forkApprovals,
      log: context.log as unknown as BotLog,
      reply,
      help: (problem) => renderHelp(gate, problem),
    });
  } catch (err) {
    // GitHub's or Redis's own words may carry what should not be posted: they go to the log, with an id the reply names.
    const incident = `${Date.now().toString(36)}-${comment.id}`;
    context.log.error({ err, incident }, "a command failed");
    await reply(
      `⚠️ Something went wrong handling this command (incident \`${incident}\` in the bot's log). Nothing was started; try again, and if it persists, ask the bot's operator with that incident id.`,
    ).catch(() => {});
  }
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

/**
 * Every handler runs once per X-GitHub-Delivery: a delivery replayed (by GitHub's "Redeliver", or by
 * whoever captured it) is a fact already known. A handler that failed forgets its delivery, so that
 * GitHub's redelivery of it is handled.
 */
function once<C extends { id: string; log: { info(o: object, m: string): void } }>(
  deps: AppDeps,
  handler: (context: C) => Promise<unknown>,
): (context: C) => Promise<void> {
  return async (context) => {
    if (!(await deps.deliveries.first("delivery", context.id))) {
      context.log.info({ delivery: context.id }, "delivery already handled");
      return;
    }
    try {
      await handler(context);
    } catch (err) {
      await deps.deliveries.forget("delivery", context.id).catch(() => {});
      throw err;
    }
  };
}

export function releaseGateApp(deps: AppDeps): ApplicationFunction {
  return (app: Probot) => {
    app.on(
      "issue_comment.created",
      once(deps, (context: CommentContext) => handleCommand(context, deps)),
    );
    app.on(
      "pull_request.synchronize",
      once(deps, (context: Context<"pull_request.synchronize">) => markStale(context, deps)),
    );
    app.on(
      ["pull_request_review.submitted", "pull_request_review.dismissed"],
      once(deps, async (context: Context<"pull_request_review">) => {
        if (context.isBot) return;
        const outcome = await handleReview(
          guardForGitHub(context.octokit) as unknown as GitHub,
          context.repo(),
          context.payload as unknown as ReviewEvent,
          { gates: deps.gates, state: deps.queue.state, lock: deps.runLock, signingKey: deps.signingKey },
        );
        context.log.info({ outcome: outcome.kind, why: "why" in outcome ? outcome.why : undefined }, "review handled");
      }),
    );
    app.on(
      "deployment_protection_rule.requested",
      once(deps, async (context: Context<"deployment_protection_rule.requested">) => {
        const outcome = await handleProtectionRule(
          context.octokit as unknown as GitHub,
          context.repo(),
          context.payload as unknown as ProtectionRuleEvent,
          {
            gates: deps.gates,
            state: deps.queue.state,
            ledger: deps.promotions,
            attempts: deps.queue.attempts,
            log: context.log as unknown as BotLog,
            runTimeoutMs: deps.deploymentRunTimeoutMs,
            // A run against the environment takes minutes; the webhook is answered now and GitHub later.
            background: (task) => void task(),
          },
        );
        context.log.info({ outcome: outcome.kind }, "deployment protection rule handled");
      }),
    );
    app.on(
      "check_run.rerequested",
      once(deps, async (context: Context<"check_run.rerequested">) => {
        const rerunDeps = rerunDepsOf(deps, context.log as unknown as BotLog);
        const outcome = await handleCheckRunRerequested(
          context.octokit as unknown as GitHub,
          context.repo(),
          context.payload as unknown as CheckRunRerequestedEvent,
          rerunDeps,
        );
        context.log.info({ outcome: outcome.kind }, "check run re-run handled");
      }),
    );
    app.on(
      "merge_group.checks_requested",
      once(deps, async (context: Context<"merge_group.checks_requested">) => {
        const rerunDeps = rerunDepsOf(deps, context.log as unknown as BotLog);
        await handleMergeGroup(
          context.octokit as unknown as GitHub,
          context.repo(),
          context.payload as unknown as MergeGroupEvent,
          rerunDeps,
        );
      }),
    );
  };
}

/** What a re-run (a check run's Re-run, a merge group) needs of the app. */
function rerunDepsOf(deps: AppDeps, log: BotLog) {
  return { gates: deps.gates, queue: deps.queue, log, forkApprovals: deps.forkApprovals };
}
