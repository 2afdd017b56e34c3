// Sign-off on an evidence PR, derived from GitHub's state on every review event: a webhook only says
// "look again". The bot lists the PR's reviews, takes each person's standing (their latest review that is
// not a comment), and counts an APPROVED standing on a commit the bot made, from an allowed approver who
// neither asked for the run nor wrote the measured code, on the evidence of a full, current run. The
// policy is the gate file pinned for the run. Whatever order approvals, dismissals and re-requests arrive
// in, the record converges to GitHub's state (one event at a time per run, each re-reading GitHub), and
// the promotion status follows it both ways. Each change is a signed entry in the record; the bundle on
// the branch gets its copy when the decision changes (signoff-record.ts).

import type { KeyObject } from "node:crypto";
import type { Gate } from "../../gates/model/index.js";
import type { RunLock } from "../events/delivery-ledger.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { parseEvidenceBranch } from "../github/evidence-pr.js";
import { approverProblem } from "./approver-role.js";
import { requiredApprovals, setPromotionStatus } from "../github/promotion-status.js";
import { gateOfRecord } from "../events/repository-gates.js";
import { listReviews, standingOf, type ReviewFact } from "./review-standing.js";
import type { RunRecord, RunSignoff, RunState, SignoffApproval } from "../runs/run-state.js";
import { dutyProblem, isBotAccount, readDuties, stalenessProblem, type Duties } from "./separation-of-duties.js";
import { runProblem, type RunProblem } from "./signoff-eligibility.js";
import { appendEntry, writeSignoffToBranch } from "./signoff-record.js";
import { signoffDecision, signoffReply, withdrawalDecision } from "./signoff-reply.js";

export { approverProblem } from "./approver-role.js";
export { signoffDecision, signoffReply } from "./signoff-reply.js";

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
  /** The bot's GATES_DIR: the policy only of runs whose repository keeps no gate file. */
  gates: Pick<GateCatalog, "byName">;
  state: RunState;
  /** One sign-off at a time per run, across bot processes. */
  lock: Pick<RunLock, "with">;
  /** The key each sign-off entry is signed with; without one, entries are recorded unsigned. */
  signingKey?: KeyObject;
}

/**
 * Handles a pull_request_review event on an evidence PR: re-reads GitHub, settles the run's sign-off and
 * replies on the PR to what changed and to a refused approval. Reviews of other PRs are ignored.
 */
export async function handleReview(github: GitHub, where: RepoRef, event: ReviewEvent, deps: SignoffDeps): Promise<SignoffOutcome> {
  const pr = event.pull_request;
  const branch = parseEvidenceBranch(pr.head.ref);
  if (!branch) return { kind: "ignored", why: "not an evidence PR" };
  const reviewer = event.review.user?.login ?? "ghost";
  const approving = event.action === "submitted" && event.review.state.toLowerCase() === "approved";
  const reply = (body: string) => github.rest.issues.createComment({ ...where, issue_number: pr.number, body });
  const refuse = async (why: string): Promise<SignoffOutcome> => {
    if (approving) await reply(`@${reviewer}, your approval is not recorded: ${why}. Nothing was changed.`);
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
  // The policy pinned for the run (its blob SHA is in the record), never the bot's local copy.
  const gate = gateOfRecord(run, deps.gates as GateCatalog);
  if (!gate) return refuse(`the bot has no gate named \`${run.gate}\` loaded, so it has no sign-off policy for this run`);
  if (approving && isBotAccount(reviewer, event.review.user?.type)) {
    return refuse(`a sign-off is a person's decision, and ${reviewer} is a bot`);
  }
  return deps.lock.with(run.id, () => settle(github, where, event, gate, run.id, deps));
}

interface Judged {
  counted: SignoffApproval[];
  /** Why each refused approver's standing approval does not count, by lower-case login. */
  refused: Map<string, string>;
  problem: RunProblem | null;
}

/** The approvals GitHub's reviews give `run` under `gate`, and why the others do not count. */
async function judge(github: GitHub, where: RepoRef, gate: Gate, run: RunRecord, standing: Map<string, ReviewFact>): Promise<Judged> {
  const refused = new Map<string, string>();
  const counted: SignoffApproval[] = [];
  const approved = [...standing.values()].filter((r) => r.state === "APPROVED" && !isBotAccount(r.login, r.type));
  const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: run.evidencePullNumber! });
  let problem = await runProblem(github, where, pr, run, gate);
  if (problem || !approved.length) return { counted, refused, problem };
  const duties: Duties = await readDuties(github, where, run);
  const stale = stalenessProblem(run, duties);
  if (stale) return { counted, refused, problem: { why: stale } };
  const ours = run.evidenceCommits ?? [];
  for (const r of approved.sort((a, b) => (a.submittedAt ?? "").localeCompare(b.submittedAt ?? "") || a.id - b.id)) {
    const why = !ours.includes(r.commitId)
      ? `the approval is for ${r.commitId}, a commit the bot did not make; approve the evidence PR's head ${pr.head.sha.slice(0, 7)}`
      : ((await approverProblem(github, where, r.login, gate.signoff).then(
          (role) =>
            role &&
            `${role}. The sign-off still needs ${requiredApprovals(gate) - counted.length} more approval(s) from an allowed approver`,
        )) ?? dutyProblem(gate, run, duties, r.login));
    if (why) refused.set(r.login.toLowerCase(), why);
    else counted.push({ login: r.login, at: r.submittedAt ?? new Date().toISOString(), reviewId: r.id, commitId: r.commitId });
  }
  problem = null;
  return { counted, refused, problem };
}

/** The run's sign-off after `target` replaces its approvals. */
function nextSignoff(current: RunSignoff, target: SignoffApproval[], gate: Gate, at: string): RunSignoff {
  const complete = target.length >= requiredApprovals(gate);
  const wasGiven = current.status === "complete" || current.status === "withdrawn";
  return {
    ...current,
    approvals: target,
    status: complete ? "complete" : wasGiven ? "withdrawn" : "pending",
    ...(complete && !current.decidedAt ? { decidedAt: at } : {}),
  };
}

async function settle(
  github: GitHub,
  where: RepoRef,
  event: ReviewEvent,
  gate: Gate,
  runId: string,
  deps: SignoffDeps,
): Promise<SignoffOutcome> {
  const reviewer = event.review.user?.login ?? "ghost";
  const approving = event.action === "submitted" && event.review.state.toLowerCase() === "approved";
  const pr = event.pull_request;
  const reply = (body: string) => github.rest.issues.createComment({ ...where, issue_number: pr.number, body });
  const run = (await deps.state.get(runId))!;
  const standing = standingOf(await listReviews(github, where, pr.number));
  const { counted, refused, problem } = await judge(github, where, gate, run, standing);
  const mine = standing.get(reviewer.toLowerCase());
  // An approval event speaks for the review GitHub still shows; one dismissed since then is answered by its dismissal.
  const current = approving && mine?.id === event.review.id && mine.state === "APPROVED";
  const myRefusal = current ? (problem?.why ?? refused.get(reviewer.toLowerCase())) : undefined;
  if (run.signoff?.status === "superseded" || run.phase !== "finished") {
    if (myRefusal) await (problem?.reply ? reply(problem.reply(reviewer)) : reply(refusalText(reviewer, myRefusal)));
    return myRefusal ? { kind: "refused", why: myRefusal } : { kind: "ignored", why: "no sign-off to change" };
  }

  const at = new Date().toISOString();
  let added: SignoffApproval[] = [];
  let removed: SignoffApproval[] = [];
  const recorded = await deps.state.update(run.id, (r) => {
    const before = r.signoff ?? { status: "pending" as const, approvals: [] };
    if (before.status === "superseded") return null;
    added = counted.filter((a) => !before.approvals.some((b) => b.reviewId === a.reviewId));
    removed = before.approvals.filter((b) => !counted.some((a) => a.reviewId === b.reviewId));
    if (!added.length && !removed.length) return null;
    const signoff = nextSignoff(before, counted, gate, at);
    let log = r.signoffLog ?? [];
    for (const [state, list] of [
      ["dismissed", removed],
      ["approved", added],
    ] as const) {
      for (const a of list) {
        log = appendEntry({ ...r, signoffLog: log }, deps.signingKey, {
          reviewer: a.login,
          state,
          reviewId: a.reviewId,
          reviewedCommit: a.commitId,
          at: state === "approved" ? a.at : at,
          outcome: signoff.status,
        });
      }
    }
    return { signoff, signoffLog: log };
  });
  if (!recorded || (!added.length && !removed.length)) {
    if (myRefusal) await (problem?.reply ? reply(problem.reply(reviewer)) : reply(refusalText(reviewer, myRefusal)));
    if (myRefusal) return { kind: "refused", why: myRefusal };
    return { kind: "ignored", why: `GitHub's reviews give run ${run.id} the sign-off it already has` };
  }

  const wasComplete = run.signoff?.status === "complete";
  const complete = recorded.signoff?.status === "complete";
  const withdrawnBy = !complete && removed.length ? removed[0]!.login : undefined;
  const decision =
    complete && !wasComplete
      ? signoffDecision(
          gate.title,
          recorded.verdict!,
          recorded.signoff!.approvals.map((a) => a.login),
          added.at(-1)?.at ?? at,
          pr.html_url,
        )
      : wasComplete && !complete && recorded.verdict === "PASS"
        ? withdrawalDecision(gate.title, withdrawnBy ?? reviewer, at, pr.html_url)
        : undefined;
  await setPromotionStatus(github, where, gate, recorded, {
    approvalKey: deps.state.approvalKey,
    targetUrl: pr.html_url,
    ...(withdrawnBy ? { withdrawnBy } : {}),
  });
  if (decision || (wasComplete && !complete)) await writeSignoffToBranch(github, where, deps.state, recorded.id, pr, decision);
  const approvalKey = deps.state.approvalKey;
  const mineAdded = added.find((a) => a.login.toLowerCase() === reviewer.toLowerCase());
  const body = mineAdded
    ? signoffReply(gate, mineAdded.login, "approved", recorded, decision, approvalKey)
    : removed.length
      ? signoffReply(gate, removed[0]!.login, "dismissed", recorded, decision, approvalKey)
      : signoffReply(gate, added[0]!.login, "approved", recorded, decision, approvalKey);
  await reply(myRefusal ? `${refusalText(reviewer, myRefusal, false)}\n\n${body}` : body);
  return { kind: "recorded", state: mineAdded || !removed.length ? "approved" : "dismissed", run: recorded };
}

function refusalText(reviewer: string, why: string, nothingChanged = true): string {
  return `@${reviewer}, your approval is not recorded: ${why}.${nothingChanged ? " Nothing was changed." : ""}`;
}
