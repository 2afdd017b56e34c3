// Sign-off on an evidence PR: an allowed approver's approval of the PR's current head is recorded in the
// bundle (HOTL log, decision log, manifest chain) in one commit on the evidence branch, and the
// `Gate A sign-off` commit status on the gated commit says where the sign-off stands. A dismissed
// approval is recorded too and withdraws the status. Anyone else's approval is refused, with the reason.

import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Gate } from "../gates/gate.js";
import type { Approval, Decision, Verdict } from "../gates/gate-run.js";
import { parseApprovalLog, withApproval, type ApprovalLog } from "../gates/approval-log.js";
import { BUNDLE_FILES } from "../gates/evidence-layout.js";
import { recordApproval } from "../gates/evidence-bundle.js";
import { listBundleFiles, MANIFEST_FILE } from "../gates/manifest.js";
import type { GitHub, RepoRef } from "./github.js";
import { httpStatus } from "./github.js";
import { commitChanges, evidencePath, parseEvidenceBranch, type FileChange } from "./evidence-pr.js";
import { collaboratorPermission, hasPermission } from "./permission.js";
import type { RunState } from "./run-state.js";

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
    base: { repo: { full_name: string } };
  };
}

export type SignoffOutcome =
  | { kind: "ignored"; why: string }
  | { kind: "refused"; why: string }
  | { kind: "recorded"; state: "approved" | "dismissed"; log: ApprovalLog; commitSha: string; status: SignoffStatus };

export interface SignoffStatus {
  state: "success" | "pending" | "failure";
  description: string;
}

/** The commit status context on the gated commit: "Gate A sign-off". */
export function signoffContext(gateTitle: string): string {
  return `${gateTitle} sign-off`;
}

/**
 * Where a sign-off stands, as a commit status: success only for a PASS with the policy's approvals
 * complete; a FAIL or ERROR is never green, whoever acknowledges it.
 */
export function signoffStatus(log: ApprovalLog, withdrawnBy?: string): SignoffStatus {
  const approvers = log.current.filter((a) => a.state === "approved").map((a) => `@${a.reviewer}`);
  const count = `${log.approved} of ${log.required} approval${log.required === 1 ? "" : "s"}`;
  if (log.verdict !== "PASS") {
    return {
      state: "failure",
      description: approvers.length ? `NO-GO (${log.verdict}) acknowledged by ${approvers.join(", ")}` : `NO-GO: the gate's verdict is ${log.verdict}`,
    };
  }
  if (log.status !== "pending") return { state: "success", description: `GO: signed off by ${approvers.join(", ") || "policy (no approval required)"}` };
  if (withdrawnBy) return { state: "pending", description: `approval withdrawn by @${withdrawnBy}: ${count}` };
  return { state: "pending", description: `awaiting sign-off: ${count}` };
}

export async function setSignoffStatus(
  github: GitHub,
  where: RepoRef,
  o: { gateTitle: string; commit: string; status: SignoffStatus; targetUrl?: string },
): Promise<void> {
  // The status belongs to the commit the run measured; a bundle of an unknown commit has nowhere to put it.
  if (!/^[0-9a-f]{40}$/i.test(o.commit)) return;
  await github.rest.repos.createCommitStatus({
    ...where,
    sha: o.commit,
    state: o.status.state,
    context: signoffContext(o.gateTitle),
    description: o.status.description.slice(0, 140),
    ...(o.targetUrl ? { target_url: o.targetUrl } : {}),
  });
}

/** The decision a completed sign-off appends: a GO only ever for a PASS. */
export function signoffDecision(gateTitle: string, verdict: Verdict, log: ApprovalLog, at: string, prUrl: string): Decision {
  const who = log.current.filter((a) => a.state === "approved").map((a) => `@${a.reviewer}`).join(", ");
  return verdict === "PASS"
    ? {
        time: at,
        title: `${gateTitle} GO`,
        authority: `sign-off by ${who}`,
        decision: "GO for production promotion",
        rationale: `the run PASSed and the sign-off policy's ${log.required} approval(s) are complete (${prUrl})`,
      }
    : {
        time: at,
        title: `${gateTitle} NO-GO acknowledged`,
        authority: `sign-off by ${who}`,
        decision: `NO-GO acknowledged: the run's verdict is ${verdict}; an approval cannot turn it into a GO`,
        rationale: `the evidence of a ${verdict} was reviewed and acknowledged (${prUrl})`,
      };
}

/** A GO that loses its approvals is withdrawn in the decision log, not silently. */
function withdrawalDecision(gateTitle: string, by: string, log: ApprovalLog, at: string, prUrl: string): Decision {
  return {
    time: at,
    title: `${gateTitle} GO withdrawn`,
    authority: `dismissal of @${by}'s approval`,
    decision: "GO withdrawn: the sign-off is incomplete again",
    rationale: `${log.approved} of ${log.required} approvals remain (${prUrl})`,
  };
}

/** Why `login` may not approve, or null when they may. */
export async function approverProblem(github: GitHub, where: RepoRef, login: string, log: ApprovalLog): Promise<string | null> {
  if (log.approvers.length) {
    const lower = login.toLowerCase();
    const unreadable: string[] = [];
    for (const entry of log.approvers) {
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
    return `@${login} is not one of the approvers the gate's sign-off policy names (${log.approvers.join(", ")})${teams}`;
  }
  const permission = await collaboratorPermission(github, where, login);
  if (hasPermission(permission, log.permission as "admin" | "write" | "read")) return null;
  return `the sign-off policy needs **${log.permission}** permission on this repository and @${login} has **${permission}**`;
}

/** The bundle as committed on a branch, written to a fresh temporary folder. */
async function checkoutBundle(github: GitHub, where: RepoRef, commitSha: string, prefix: string): Promise<{ dir: string; digests: Map<string, string> }> {
  const { data: commit } = await github.rest.git.getCommit({ ...where, commit_sha: commitSha });
  const { data: tree } = await github.rest.git.getTree({ ...where, tree_sha: commit.tree.sha, recursive: "true" });
  const dir = await mkdtemp(join(tmpdir(), "release-gate-signoff-"));
  const digests = new Map<string, string>();
  const under = `${prefix}/`;
  for (const entry of tree.tree) {
    if (entry.type !== "blob" || !entry.path?.startsWith(under) || !entry.sha) continue;
    const rel = entry.path.slice(under.length);
    const { data: blob } = await github.rest.git.getBlob({ ...where, file_sha: entry.sha });
    const bytes = Buffer.from(blob.content, blob.encoding === "base64" ? "base64" : "utf8");
    const file = join(dir, ...rel.split("/"));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
    digests.set(rel, createHash("sha256").update(bytes).digest("hex"));
  }
  if (!digests.has(MANIFEST_FILE)) {
    await rm(dir, { recursive: true, force: true });
    throw Object.assign(new Error(`${prefix}/${MANIFEST_FILE} is missing on ${commitSha.slice(0, 7)}: this branch holds no evidence bundle`), { code: "no_bundle" });
  }
  return { dir, digests };
}

/** The files recordApproval changed, added or removed, as repository paths under `prefix`. */
async function changedFiles(dir: string, before: Map<string, string>, prefix: string): Promise<FileChange[]> {
  const now = [...(await listBundleFiles(dir)), MANIFEST_FILE];
  const changes: FileChange[] = [];
  for (const rel of now) {
    const bytes = await readFile(join(dir, ...rel.split("/")));
    if (before.get(rel) !== createHash("sha256").update(bytes).digest("hex")) changes.push({ path: `${prefix}/${rel}`, content: bytes });
  }
  for (const rel of before.keys()) if (!now.includes(rel)) changes.push({ path: `${prefix}/${rel}`, content: null });
  return changes;
}

export interface SignoffDeps {
  gates: { byName(name: string): Gate | undefined };
  state: RunState;
  /** The app's own login ("release-gate[bot]"), whose reviews never count. */
  botLogin?: string;
}

/**
 * Handles a pull_request_review event on an evidence PR. Replies on the PR for refusals and recordings;
 * returns what happened. Reviews of other PRs are ignored.
 */
export async function handleReview(github: GitHub, where: RepoRef, event: ReviewEvent, deps: SignoffDeps): Promise<SignoffOutcome> {
  const pr = event.pull_request;
  const branch = parseEvidenceBranch(pr.head.ref);
  if (!branch) return { kind: "ignored", why: "not an evidence PR" };
  if (pr.head.repo && pr.head.repo.full_name.toLowerCase() !== pr.base.repo.full_name.toLowerCase()) {
    return { kind: "ignored", why: "evidence branches live in the repository itself, not in a fork" };
  }
  const reviewer = event.review.user?.login ?? "ghost";
  if (deps.botLogin && reviewer.toLowerCase() === deps.botLogin.toLowerCase()) return { kind: "ignored", why: "the bot's own review" };
  const dismissed = event.action === "dismissed";
  if (!dismissed && (event.action !== "submitted" || event.review.state.toLowerCase() !== "approved")) {
    return { kind: "ignored", why: `a ${event.review.state} review is not a sign-off` };
  }
  const reply = (body: string) => github.rest.issues.createComment({ ...where, issue_number: pr.number, body });
  const gate = deps.gates.byName(branch.gate);
  const gateTitle = gate?.title ?? branch.gate;

  if (!dismissed && (event.review.user?.type === "Bot" || reviewer.endsWith("[bot]"))) {
    await reply(`@${reviewer}'s approval is not recorded: a sign-off is a person's decision, and ${reviewer} is a bot.`);
    return { kind: "refused", why: "bot reviewer" };
  }
  if (!dismissed) {
    const reviewable = await deps.state.reviewableCommits(where.owner, where.repo, pr.head.ref, pr.head.sha);
    if (!reviewable.includes(event.review.commit_id)) {
      const why = `the approval is for ${event.review.commit_id.slice(0, 7)}, but the evidence PR's head is ${pr.head.sha.slice(0, 7)}`;
      await reply(`@${reviewer}, your approval is not recorded: ${why}. Review the current head and approve again.`);
      return { kind: "refused", why };
    }
  }

  const prefix = evidencePath(branch.runId);
  for (let attempt = 1; ; attempt++) {
    const head = attempt === 1 ? pr.head.sha : (await github.rest.git.getRef({ ...where, ref: `heads/${pr.head.ref}` })).data.object.sha;
    const { dir, digests } = await checkoutBundle(github, where, head, prefix);
    try {
      const log = parseApprovalLog(await readFile(join(dir, BUNDLE_FILES.approvalJson), "utf8"), BUNDLE_FILES.approvalJson);
      const latest = log.current.find((a) => a.reviewer.toLowerCase() === reviewer.toLowerCase());
      if (dismissed && latest?.state !== "approved") return { kind: "ignored", why: `@${reviewer} had no recorded approval to withdraw` };
      if (!dismissed) {
        const problem = await approverProblem(github, where, reviewer, log);
        if (problem) {
          await reply(`@${reviewer}, your approval is not recorded: ${problem}. Nothing was changed; the sign-off still needs ${log.required - log.approved} more approval(s) from an allowed approver.`);
          return { kind: "refused", why: problem };
        }
      }
      const at = dismissed ? (pr.updated_at ?? event.review.submitted_at ?? new Date().toISOString()) : (event.review.submitted_at ?? new Date().toISOString());
      const approval: Approval = {
        reviewer,
        at,
        commit: log.commit,
        verdict: log.verdict,
        state: dismissed ? "dismissed" : "approved",
        pullRequest: pr.html_url,
      };
      const after = withApproval(log, approval) ?? log;
      let decision: Decision | undefined;
      if (log.status === "pending" && after.status === "complete") decision = signoffDecision(gateTitle, log.verdict, after, at, pr.html_url);
      else if (dismissed && log.verdict === "PASS" && log.status === "complete" && after.status === "pending") {
        decision = withdrawalDecision(gateTitle, reviewer, after, at, pr.html_url);
      }
      await recordApproval(dir, approval, decision);
      const changes = await changedFiles(dir, digests, prefix);
      const status = signoffStatus(after, dismissed ? reviewer : undefined);
      if (changes.length === 0) return { kind: "recorded", state: approval.state, log: after, commitSha: head, status };

      const message = `Sign-off: ${approval.state} by @${reviewer} (${log.verdict}, ${after.approved} of ${after.required})${decision ? `\n\nDecision: ${decision.title}` : ""}\n`;
      const { commitSha } = await commitChanges(github, where, head, changes, message);
      try {
        await github.rest.git.updateRef({ ...where, ref: `heads/${pr.head.ref}`, sha: commitSha, force: false });
      } catch (err) {
        // Someone moved the branch meanwhile (another approval): record again on top of theirs.
        if (httpStatus(err) === 422 && attempt < 3) continue;
        throw err;
      }
      await deps.state.recordSignoffCommit(where.owner, where.repo, pr.head.ref, commitSha, head);
      await setSignoffStatus(github, where, { gateTitle, commit: log.commit, status, targetUrl: pr.html_url });
      await deps.state.update(branch.runId, () => ({ signoff: { ...status, at } })).catch(() => null);
      await reply(signoffReply(gateTitle, reviewer, approval.state, after, decision));
      return { kind: "recorded", state: approval.state, log: after, commitSha, status };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export function signoffReply(gateTitle: string, reviewer: string, state: "approved" | "dismissed", log: ApprovalLog, decision?: Decision): string {
  const count = `${log.approved} of ${log.required} required approval${log.required === 1 ? "" : "s"}`;
  const recorded =
    state === "approved"
      ? `Recorded @${reviewer}'s approval in the HOTL approval log (${count}).`
      : `Recorded the dismissal of @${reviewer}'s approval (${count} remain); the \`${signoffContext(gateTitle)}\` status is withdrawn.`;
  if (log.status !== "complete") return `${recorded} The sign-off is pending.`;
  if (log.verdict === "PASS") {
    return `${recorded}\n\n✅ **The sign-off policy's approvals are complete: ${decision?.title ?? `${gateTitle} GO`}.** The \`${signoffContext(gateTitle)}\` status on ${log.commit.slice(0, 7)} is green.`;
  }
  return `${recorded}\n\n**The sign-off policy's approvals are complete: NO-GO acknowledged.** The verdict is ${log.verdict}; an approval cannot make it a GO, so \`${signoffContext(gateTitle)}\` stays red.`;
}
