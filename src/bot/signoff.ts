// Sign-off on an evidence PR, decided from the bot's own record: policy from the gate file the bot loaded,
// verdict, scope and gated commit from the run record in Redis, never from files on a branch. An approval
// counts only from an allowed approver who neither asked for the run nor wrote the code, on an evidence
// PR of a full, current run whose head is a commit the bot made and whose files are the bundle alone.
// Each recorded approval or dismissal is a signed entry in the record; the bundle on the branch gets its
// copy when the decision changes, in a commit the bot makes (approvals already given are not reviewed again;
// recording and committing live in signoff-record.ts).

import type { KeyObject } from "node:crypto";
import type { Gate } from "../gates/gate.js";
import type { Decision, Verdict } from "../gates/gate-run.js";
import type { GitHub, RepoRef } from "./github.js";
import { httpStatus } from "./github.js";
import { evidencePath, parseEvidenceBranch } from "./evidence-pr.js";
import { collaboratorPermission, hasPermission } from "./permission.js";
import { promotionState } from "./promotion.js";
import { promotionContext, requiredApprovals, setPromotionStatus } from "./promotion-status.js";
import type { RunRecord, RunState, SignoffApproval } from "./run-state.js";
import { isBotAccount, selfSignoffProblem } from "./separation-of-duties.js";
import { appendEntry, writeSignoffToBranch } from "./signoff-record.js";

/** The parts of a pull_request_review webhook the sign-off reads. */
export interface ReviewEvent {
  action: "submitted" | "dismissed" | "edited" | string;
  review: {
    id: number;
    state: string;
    commit_id: string;
    submitted_at: string | null;
    html_url?: string;
    user: { login: string; type?: string } | null;
  };
  pull_request: {
    number: number;
    html_url: string;
    updated_at?: string;
    head: { ref: string; sha: string; repo?: { full_name: string } | null };
    base: { ref?: string; repo: { full_name: string } };
  };
  /** The App installation the review came through: it must be the run's own. */
  installation?: { id: number } | null;
}

export type SignoffOutcome =
  | { kind: "ignored"; why: string }
  | { kind: "refused"; why: string }
  | { kind: "recorded"; state: "approved" | "dismissed"; run: RunRecord };

export interface SignoffDeps {
  gates: { byName(name: string): Gate | undefined };
  state: RunState;
  /** The key each sign-off entry is signed with; without one, entries are recorded unsigned. */
  signingKey?: KeyObject;
}

/** Why `login` does not hold the approver role of the gate's policy, or null when they do. */
export async function approverProblem(
  github: GitHub,
  where: RepoRef,
  login: string,
  policy: { approvers: string[]; permission: string },
): Promise<string | null> {
  if (policy.approvers.length) {
    const lower = login.toLowerCase();
    const unreadable: string[] = [];
    for (const entry of policy.approvers) {
      const name = entry.replace(/^@/, "");
      if (!name.includes("/")) {
        if (name.toLowerCase() === lower) return null;
        continue;
      }
      const [org, team] = name.split("/");
      try {
        const { data } = await github.rest.teams.getMembershipForUserInOrg({ org, team_slug: team, username: login });
        if (data.state === "active") return null;
      } catch (err) {
        const status = httpStatus(err);
        if (status === 403) unreadable.push(entry);
        else if (status !== 404) throw err;
      }
    }
    const teams = unreadable.length
      ? ` (the membership of ${unreadable.join(", ")} could not be read: the App needs the organization permission Members: read for team approvers)`
      : "";
    return `@${login} is not one of the approvers the gate's sign-off policy names (${policy.approvers.join(", ")})${teams}`;
  }
  const permission = await collaboratorPermission(github, where, login);
  if (hasPermission(permission, policy.permission as "admin" | "write" | "read")) return null;
  return `the sign-off policy needs **${policy.permission}** permission on this repository and @${login} has **${permission}**`;
}

/** The decision a completed sign-off records: a GO only ever for a PASS. */
export function signoffDecision(gateTitle: string, verdict: Verdict, approvers: string[], at: string, prUrl: string): Decision {
  const who = approvers.map((a) => `@${a}`).join(", ");
  return verdict === "PASS"
    ? {
        time: at,
        title: `${gateTitle} GO`,
        authority: `sign-off by ${who}`,
        decision: "GO for production promotion",
        rationale: `the full run PASSed and the sign-off policy's approvals are complete (${prUrl})`,
      }
    : {
        time: at,
        title: `${gateTitle} NO-GO acknowledged`,
        authority: `sign-off by ${who}`,
        decision: `NO-GO acknowledged: the run's verdict is ${verdict}; an approval cannot turn it into a GO`,
        rationale: `the evidence of a ${verdict} was reviewed and acknowledged (${prUrl})`,
      };
}

function withdrawalDecision(gateTitle: string, by: string, at: string, prUrl: string): Decision {
  return {
    time: at,
    title: `${gateTitle} GO withdrawn`,
    authority: `dismissal of @${by}'s approval`,
    decision: "GO withdrawn: the sign-off is incomplete again",
    rationale: prUrl,
  };
}

/** Every file of the PR outside the run's bundle folder, or [] when the PR holds evidence only. */
async function filesOutsideBundle(github: GitHub, where: RepoRef, pull: number, runId: string): Promise<string[]> {
  const under = `${evidencePath(runId)}/`;
  const outside: string[] = [];
  // GitHub lists at most 3,000 files of a pull request, 100 a page.
  for (let page = 1; page <= 30; page++) {
    const { data } = await github.rest.pulls.listFiles({ ...where, pull_number: pull, per_page: 100, page });
    for (const f of data) {
      if (!f.filename.startsWith(under)) outside.push(f.filename);
      if (f.previous_filename && !f.previous_filename.startsWith(under)) outside.push(f.previous_filename);
    }
    if (data.length < 100) break;
  }
  return outside;
}

/**
 * Handles a pull_request_review event. Replies on the PR to every refusal and recording; returns what
 * happened. Reviews of PRs that are not evidence PRs are ignored.
 */
export async function handleReview(github: GitHub, where: RepoRef, event: ReviewEvent, deps: SignoffDeps): Promise<SignoffOutcome> {
  const pr = event.pull_request;
  const branch = parseEvidenceBranch(pr.head.ref);
  if (!branch) return { kind: "ignored", why: "not an evidence PR" };
  const reviewer = event.review.user?.login ?? "ghost";
  const dismissed = event.action === "dismissed";
  if (!dismissed && (event.action !== "submitted" || event.review.state.toLowerCase() !== "approved")) {
    return { kind: "ignored", why: `a ${event.review.state} review is not a sign-off` };
  }
  const reply = (body: string) => github.rest.issues.createComment({ ...where, issue_number: pr.number, body });
  const refuse = async (why: string): Promise<SignoffOutcome> => {
    if (!dismissed) await reply(`@${reviewer}, your approval is not recorded: ${why}. Nothing was changed.`);
    return { kind: "refused", why };
  };

  const run = await deps.state.get(branch.runId);
  if (!run || run.owner.toLowerCase() !== where.owner.toLowerCase() || run.repo.toLowerCase() !== where.repo.toLowerCase()) {
    return refuse(
      `the bot has no record of run \`${branch.runId}\` on this repository, so this PR is not evidence of a run it made (evidence from \`gate publish\` or \`gate ci\` is reviewed, but never a promotion decision)`,
    );
  }
  if (event.installation && event.installation.id !== run.installationId) {
    return refuse(`run \`${run.id}\` belongs to another installation of the App than this repository's, so this PR cannot sign it off`);
  }
  if (run.evidencePullNumber !== pr.number) {
    return refuse(
      `this is not the evidence PR of run \`${run.id}\`${run.evidencePullNumber ? ` (that is #${run.evidencePullNumber})` : ""}`,
    );
  }
  const gate = deps.gates.byName(run.gate);
  if (!gate) return refuse(`the bot has no gate named \`${run.gate}\` loaded, so it has no sign-off policy for this run`);

  if (dismissed) return withdraw(github, where, event, gate, run, reviewer, deps, reply);

  if (isBotAccount(reviewer, event.review.user?.type)) return refuse(`a sign-off is a person's decision, and ${reviewer} is a bot`);
  if (run.phase !== "finished" || !run.verdict) return refuse(`run \`${run.id}\` has not finished`);
  if (run.signoff?.status === "superseded") {
    return refuse(
      `run \`${run.id}\` was superseded by run \`${run.signoff.supersededBy}\` on the same commit; review that run's evidence instead`,
    );
  }
  if (!run.full) {
    await reply(
      `@${reviewer}, your approval is not recorded: **partial: not a promotion decision**. Run \`${run.id}\` ran ${run.scope}, not every phase of ${gate.title}; ` +
        `only a full run (\`${gate.command.prefix} replay all\`) can be signed off for promotion. The \`${promotionContext(gate.name)}\` status is unchanged.`,
    );
    return { kind: "refused", why: "partial: not a promotion decision" };
  }
  const ours = run.evidenceCommits ?? [];
  if (!ours.includes(pr.head.sha)) {
    return refuse(
      `the evidence branch's head ${pr.head.sha} is not a commit the bot made (someone else pushed it); the evidence may only change through the bot. Run the gate again for fresh evidence`,
    );
  }
  if (!ours.includes(event.review.commit_id)) {
    return refuse(
      `the approval is for ${event.review.commit_id}, a commit the bot did not make; approve the evidence PR's head ${pr.head.sha.slice(0, 7)}`,
    );
  }
  if (pr.base.ref && run.evidenceBase && pr.base.ref !== run.evidenceBase) {
    return refuse(
      `this PR targets \`${pr.base.ref}\`, not the evidence branch \`${run.evidenceBase}\`: approving it could merge more than evidence`,
    );
  }
  const outside = await filesOutsideBundle(github, where, pr.number, run.id);
  if (outside.length) {
    return refuse(
      `this PR changes files outside \`${evidencePath(run.id)}/\` (${outside
        .slice(0, 5)
        .map((f) => `\`${f}\``)
        .join(", ")}${outside.length > 5 ? ", …" : ""}); an evidence PR holds evidence only`,
    );
  }
  const role = await approverProblem(github, where, reviewer, gate.signoff);
  if (role)
    return refuse(
      `${role}. The sign-off still needs ${requiredApprovals(gate) - (run.signoff?.approvals.length ?? 0)} more approval(s) from an allowed approver`,
    );
  const self = await selfSignoffProblem(github, where, gate, run, reviewer);
  if (self) return refuse(self);

  const at = event.review.submitted_at ?? new Date().toISOString();
  const approval: SignoffApproval = { login: reviewer, at, reviewId: event.review.id, commitId: event.review.commit_id };
  let fresh = false;
  const recorded = await deps.state.update(run.id, (r) => {
    const current = r.signoff ?? { status: "pending" as const, approvals: [] };
    if (
      current.status === "superseded" ||
      current.approvals.some((a) => a.reviewId === approval.reviewId || a.login.toLowerCase() === reviewer.toLowerCase())
    )
      return null;
    fresh = true;
    const approvals = [...current.approvals, approval];
    const complete = approvals.length >= requiredApprovals(gate);
    const signoff = {
      ...current,
      approvals,
      status: complete ? ("complete" as const) : ("pending" as const),
      ...(complete && !current.decidedAt ? { decidedAt: at } : {}),
    };
    return {
      signoff,
      signoffLog: appendEntry(r, deps.signingKey, {
        reviewer,
        state: "approved",
        reviewId: approval.reviewId,
        reviewedCommit: approval.commitId,
        at,
        outcome: signoff.status,
      }),
    };
  });
  if (!recorded || !fresh) return { kind: "ignored", why: `@${reviewer}'s approval is already recorded` };

  const complete = recorded.signoff?.status === "complete";
  const decision =
    complete && run.signoff?.status !== "complete"
      ? signoffDecision(
          gate.title,
          recorded.verdict!,
          recorded.signoff!.approvals.map((a) => a.login),
          at,
          pr.html_url,
        )
      : undefined;
  await setPromotionStatus(github, where, gate, recorded, { approvalKey: deps.state.approvalKey, targetUrl: pr.html_url });
  if (decision) await writeSignoffToBranch(github, where, deps.state, recorded.id, pr, decision);
  await reply(signoffReply(gate, reviewer, "approved", recorded, decision, deps.state.approvalKey));
  return { kind: "recorded", state: "approved", run: recorded };
}

async function withdraw(
  github: GitHub,
  where: RepoRef,
  event: ReviewEvent,
  gate: Gate,
  run: RunRecord,
  reviewer: string,
  deps: SignoffDeps,
  reply: (body: string) => Promise<unknown>,
): Promise<SignoffOutcome> {
  const at = event.pull_request.updated_at ?? new Date().toISOString();
  let wasComplete = false;
  const recorded = await deps.state.update(run.id, (r) => {
    const current = r.signoff;
    if (!current || !current.approvals.some((a) => a.reviewId === event.review.id)) return null;
    wasComplete = current.status === "complete";
    const approvals = current.approvals.filter((a) => a.reviewId !== event.review.id);
    const status =
      current.status === "superseded"
        ? current.status
        : approvals.length >= requiredApprovals(gate)
          ? "complete"
          : wasComplete
            ? "withdrawn"
            : "pending";
    const signoff = { ...current, approvals, status: status as "complete" | "withdrawn" | "pending" | "superseded" };
    return {
      signoff,
      signoffLog: appendEntry(r, deps.signingKey, {
        reviewer,
        state: "dismissed",
        reviewId: event.review.id,
        reviewedCommit: event.review.commit_id,
        at,
        outcome: status,
      }),
    };
  });
  if (!recorded || recorded.signoffLog?.length === run.signoffLog?.length)
    return { kind: "ignored", why: `@${reviewer} had no recorded approval to withdraw` };
  const withdrawn = wasComplete && recorded.signoff?.status === "withdrawn";
  await setPromotionStatus(github, where, gate, recorded, {
    approvalKey: deps.state.approvalKey,
    targetUrl: event.pull_request.html_url,
    withdrawnBy: reviewer,
  });
  const decision =
    withdrawn && recorded.verdict === "PASS" ? withdrawalDecision(gate.title, reviewer, at, event.pull_request.html_url) : undefined;
  if (withdrawn) await writeSignoffToBranch(github, where, deps.state, recorded.id, event.pull_request, decision);
  await reply(signoffReply(gate, reviewer, "dismissed", recorded, decision, deps.state.approvalKey));
  return { kind: "recorded", state: "dismissed", run: recorded };
}

export function signoffReply(
  gate: Gate,
  reviewer: string,
  state: "approved" | "dismissed",
  run: RunRecord,
  decision: Decision | undefined,
  /** The key entries are signed and checked with; undefined: recorded unsigned. */
  approvalKey: KeyObject | undefined,
): string {
  const unsigned = !approvalKey;
  const required = requiredApprovals(gate);
  const have = run.signoff?.approvals.length ?? 0;
  const count = `${have} of ${required} required approval${required === 1 ? "" : "s"}`;
  const context = `\`${promotionContext(gate.name)}\``;
  const signed = unsigned ? " ⚠️ The bot has no EVIDENCE_SIGNING_KEY: this entry is recorded unsigned." : "";
  const recorded =
    state === "approved"
      ? `Recorded @${reviewer}'s approval of run \`${run.id}\` (${count}).${signed}`
      : `Recorded the dismissal of @${reviewer}'s approval (${count} remain).${signed}`;
  const verdict = promotionState(run, approvalKey);
  if (verdict === "go")
    return `${recorded}\n\n✅ **${decision?.title ?? `${gate.title} GO`}: GO for production promotion.** ${context} on ${run.headSha.slice(0, 7)} is green.`;
  if (verdict === "no-go" && run.signoff?.status === "complete") {
    return `${recorded}\n\n**NO-GO acknowledged.** The verdict is ${run.verdict}; an approval cannot make it a GO, so ${context} on ${run.headSha.slice(0, 7)} stays red.`;
  }
  if (run.signoff?.status === "withdrawn") return `${recorded} The GO is withdrawn: ${context} is pending again.`;
  return `${recorded} The sign-off is pending.`;
}
