// The evidence pull request: a whole evidence bundle committed in ONE commit through the Git Data API
// (blobs, one tree on the base commit, one commit, a new ref `<gate>/evidence/<run-id>`), opened as a PR
// titled with the verdict, its body the bundle's summary, reviewers asked from the sign-off policy.
// Used by the bot's runner and by `gate publish` (GitHub Actions) alike.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Gate, Verdict } from "../../gates/model/index.js";
import { BUNDLE_FILES, MANIFEST_FILE, readManifestedFiles } from "../../gates/evidence/index.js";
import type { VerdictDocument } from "../../gates/verdict/index.js";
import type { GitHub, RepoRef } from "./github.js";
import { httpStatus } from "./github.js";
import { DEFAULT_EVIDENCE_BASE } from "../../gates/gate-file/index.js";

/** GitHub rejects a pull request body longer than this (characters). */
export const PULL_BODY_LIMIT = 65_536;

/** `<gate>/evidence/<run-id>`, or `<gate>/evidence-<n>/<run-id>` when the bot found the first names taken. */
export function evidenceBranch(gateName: string, runId: string, attempt = 1): string {
  return `${gateName}/evidence${attempt > 1 ? `-${attempt}` : ""}/${runId}`;
}

/** The gate and run an evidence branch belongs to, or null for any other branch. */
export function parseEvidenceBranch(branch: string): { gate: string; runId: string } | null {
  const m = /^([a-z0-9][a-z0-9-]*)\/evidence(?:-\d{1,2})?\/([A-Za-z0-9._-]+)$/.exec(branch);
  return m ? { gate: m[1], runId: m[2] } : null;
}

/** How many names the bot tries before it gives up on a repository where someone squats them all. */
const BRANCH_ATTEMPTS = 5;

/** Where a run's bundle lives in the repository. */
export function evidencePath(runId: string): string {
  return `evidence/${runId}`;
}

/** "30K" for the last phase of the run (its first alias), else the phase's name. */
export function replayScope(gate: Gate, phaseNames: readonly string[]): string {
  const last = phaseNames[phaseNames.length - 1];
  const phase = gate.phases.find((p) => p.name === last);
  const word = phase?.aliases[0] ?? last ?? "gate";
  return /^\d+k$/i.test(word) ? word.toUpperCase() : word;
}

/** "Gate A PASS: 30K replay evidence, 2025-11-13" */
export function evidenceTitle(gate: Gate, verdict: Verdict, phaseNames: readonly string[], finishedAt: string): string {
  const day = (finishedAt || new Date().toISOString()).slice(0, 10);
  return `${gate.title} ${verdict}: ${replayScope(gate, phaseNames)} replay evidence, ${day}`;
}

export function fitPullBody(text: string, limit = PULL_BODY_LIMIT): string {
  if (text.length <= limit) return text;
  const cut = "\n\n… (summary cut to fit GitHub's pull request body limit; the whole summary.md is in this PR's files)";
  return `${text.slice(0, limit - cut.length)}${cut}`;
}

/** What the bot needs to know about a bundle on disk, read from its own files. */
export interface BundleFacts {
  verdict: VerdictDocument;
  summary: string;
}

export async function readBundleFacts(dir: string): Promise<BundleFacts> {
  const verdictFile = join(dir, BUNDLE_FILES.verdict);
  let verdict: VerdictDocument;
  try {
    verdict = JSON.parse(await readFile(verdictFile, "utf8")) as VerdictDocument;
  } catch (err) {
    throw Object.assign(
      new Error(`${verdictFile} could not be read (${(err as Error).message}); is ${dir} an evidence bundle written by \`gate run\`?`),
      {
        code: "not_a_bundle",
      },
    );
  }
  if (!verdict.run_id || !verdict.gate || !verdict.verdict) {
    throw Object.assign(new Error(`${verdictFile} lacks run_id, gate or verdict; is ${dir} an evidence bundle written by \`gate run\`?`), {
      code: "not_a_bundle",
    });
  }
  const summary = await readFile(join(dir, BUNDLE_FILES.summary), "utf8").catch(() => `Evidence bundle for run ${verdict.run_id}.`);
  return { verdict, summary };
}

/** A file to commit: its path in the repository and its bytes; null bytes delete the path. */
export interface FileChange {
  path: string;
  content: Buffer | null;
}

/**
 * The files of a bundle on disk that its manifest lists (and the manifest), under `prefix` in the
 * repository, each checked against its digest; and the files in the folder it does not list, left out.
 * Throws (code "bundle_inconsistent") when a listed file is missing or altered: nothing is published then.
 */
export async function bundleFiles(dir: string, prefix: string): Promise<{ changes: FileChange[]; stray: string[] }> {
  const { files, stray } = await readManifestedFiles(dir);
  return { changes: files.map((f) => ({ path: `${prefix}/${f.path}`, content: f.bytes })), stray };
}

/** What the evidence PR is told about files found in the bundle folder that its manifest does not list. */
export function strayFilesNote(stray: readonly string[]): string {
  const named = stray
    .slice(0, 10)
    .map((f) => `\`${f}\``)
    .join(", ");
  return (
    `${stray.length} file${stray.length === 1 ? " was" : "s were"} found in the bundle folder but ${stray.length === 1 ? "is" : "are"} not in ${MANIFEST_FILE}, ` +
    `so ${stray.length === 1 ? "it was" : "they were"} not committed: ${named}${stray.length > 10 ? ", …" : ""}. Something other than the gate wrote into the bundle folder.`
  );
}

/**
 * Creates one commit on top of `parentSha` with `changes` applied to its tree (base_tree keeps every
 * other file: without it GitHub would delete them). Blobs go up four at a time.
 */
export async function commitChanges(
  github: GitHub,
  where: RepoRef,
  parentSha: string,
  changes: FileChange[],
  message: string,
): Promise<{ commitSha: string; treeSha: string }> {
  const treeSha = await treeWithChanges(github, where, parentSha, changes);
  const { data: commit } = await github.rest.git.createCommit({ ...where, message, tree: treeSha, parents: [parentSha] });
  return { commitSha: commit.sha, treeSha };
}

/** The tree of `parentSha` with `changes` applied (blobs and tree are content-addressed: asking twice makes nothing new). */
async function treeWithChanges(github: GitHub, where: RepoRef, parentSha: string, changes: FileChange[]): Promise<string> {
  const { data: parent } = await github.rest.git.getCommit({ ...where, commit_sha: parentSha });
  const entries: { path: string; mode: "100644"; type: "blob"; sha: string | null }[] = [];
  const queue = [...changes];
  const upload = async () => {
    for (let change = queue.shift(); change; change = queue.shift()) {
      if (change.content === null) {
        entries.push({ path: change.path, mode: "100644", type: "blob", sha: null });
        continue;
      }
      const { data } = await github.rest.git.createBlob({ ...where, content: change.content.toString("base64"), encoding: "base64" });
      entries.push({ path: change.path, mode: "100644", type: "blob", sha: data.sha });
    }
  };
  await Promise.all([upload(), upload(), upload(), upload()]);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const { data: tree } = await github.rest.git.createTree({ ...where, base_tree: parent.tree.sha, tree: entries });
  return tree.sha;
}

export interface EvidencePullRequest {
  number: number;
  url: string;
  branch: string;
  /** The branch the PR targets (the evidence base). */
  base: string;
  commitSha: string;
  /** Who was asked to review; empty when the policy names nobody (anyone with the permission may approve). */
  reviewers: string[];
  /** Why reviewers could not be requested, when GitHub refused. */
  reviewerProblem?: string;
  /** Files in the bundle folder its manifest does not list, left out of the commit. */
  strayFiles?: string[];
}

/** Logins and @org/team entries of a sign-off policy, as the review request wants them. */
export function reviewerRequest(approvers: readonly string[]): { reviewers: string[]; team_reviewers: string[] } {
  const reviewers: string[] = [];
  const team_reviewers: string[] = [];
  for (const a of approvers) {
    const team = /^@?[^/\s]+\/([^/\s]+)$/.exec(a);
    if (team) team_reviewers.push(team[1]);
    else reviewers.push(a.replace(/^@/, ""));
  }
  return { reviewers, team_reviewers };
}

/**
 * Commits the bundle in `dir` as `evidence/<run-id>/` on a new branch from the evidence base (never the
 * default branch) and opens the evidence PR against it, so its diff is the bundle and nothing else. The branch is always one the bot just created; a name someone else took is skipped, and the PR says so.
 */
export async function openEvidencePullRequest(
  github: GitHub,
  where: RepoRef,
  o: { gate: Gate; bundleDir: string; sourcePullRequest?: string },
): Promise<EvidencePullRequest> {
  const { verdict, summary } = await readBundleFacts(o.bundleDir);
  const runId = verdict.run_id;
  const { data: repository } = await github.rest.repos.get(where);
  const base = o.gate.signoff.evidenceBase ?? DEFAULT_EVIDENCE_BASE;
  if (base === repository.default_branch) {
    throw Object.assign(
      new Error(
        `signoff.evidence_base in ${o.gate.source.file} is ${base}, the default branch: evidence PRs never target it, so that approving evidence can never merge code. Name another branch (default ${DEFAULT_EVIDENCE_BASE}).`,
      ),
      { code: "evidence_base_is_default" },
    );
  }
  const title = evidenceTitle(
    o.gate,
    verdict.verdict,
    verdict.phases.map((p) => p.name),
    verdict.finished_at,
  );

  // The bot's branches are the bot's: it creates the ref itself and never adopts a head it finds there
  // (someone who created `<gate>/evidence/<run-id>` first would otherwise have their files approved).
  const baseSha = await ensureEvidenceBase(github, where, base);
  const files = await bundleFiles(o.bundleDir, evidencePath(runId));
  const strayFiles = files.stray;
  const message = `${title}\n\nEvidence bundle of run ${runId} (${verdict.verdict}) for commit ${verdict.commit}.\n${verdict.reason}\n`;
  // The same bundle published again (a retried workflow) finds its branch holding exactly this evidence's
  // tree, and reuses it: same content, whoever made the commit. Any other head on that name is someone
  // else's, and the evidence goes to a new name.
  const treeSha = await treeWithChanges(github, where, baseSha, files.changes);
  let commitSha: string | null = null;
  let branch: string;
  const taken: string[] = [];
  for (let attempt = 1; ; attempt++) {
    branch = evidenceBranch(o.gate.name, runId, attempt);
    const head = await findBranch(github, where, branch);
    if (head) {
      const { data: existing } = await github.rest.git.getCommit({ ...where, commit_sha: head });
      if (existing.tree.sha === treeSha) {
        commitSha = head;
        break;
      }
    } else {
      commitSha ??= (await github.rest.git.createCommit({ ...where, message, tree: treeSha, parents: [baseSha] })).data.sha;
      try {
        await github.rest.git.createRef({ ...where, ref: `refs/heads/${branch}`, sha: commitSha });
        break;
      } catch (err) {
        if (httpStatus(err) !== 422) throw err;
      }
    }
    if (attempt >= BRANCH_ATTEMPTS)
      throw new Error(`the evidence branches ${evidenceBranch(o.gate.name, runId, 1)} .. ${branch} are all taken by others`);
    taken.push(branch);
  }
  const squatted = taken.length
    ? `⚠️ \`${taken.join("`, `")}\` already existed and ${taken.length === 1 ? "was" : "were"} not made by the bot, so this evidence is on \`${branch}\` instead; nothing on ${taken.length === 1 ? "that branch" : "those branches"} counts as evidence.\n\n`
    : "";

  const open = await github.rest.pulls.list({ ...where, head: `${where.owner}:${branch}`, state: "open", per_page: 1 });
  let pull: { number: number; html_url: string };
  if (open.data.length) {
    pull = open.data[0];
  } else {
    const source = o.sourcePullRequest ? `Requested on ${o.sourcePullRequest}.\n\n` : "";
    const { data } = await github.rest.pulls.create({
      ...where,
      title,
      head: branch,
      base,
      body: fitPullBody(`${squatted}${source}${summary}`),
    });
    pull = data;
  }

  const request = reviewerRequest(o.gate.signoff.approvers);
  let reviewerProblem: string | undefined;
  if (request.reviewers.length || request.team_reviewers.length) {
    try {
      await github.rest.pulls.requestReviewers({ ...where, pull_number: pull.number, ...request });
    } catch (err) {
      // A PR without its reviewers is still evidence; say why on the PR instead of losing the run.
      reviewerProblem =
        `Could not request reviews from ${o.gate.signoff.approvers.join(", ")}: ${(err as Error).message}. ` +
        `Check that they are collaborators of ${where.owner}/${where.repo} (signoff.approvers in ${o.gate.source.file}).`;
    }
  }
  return {
    number: pull.number,
    url: pull.html_url,
    branch,
    base,
    commitSha,
    reviewers: [...request.reviewers, ...request.team_reviewers.map((t) => `${where.owner}/${t}`)],
    reviewerProblem,
    ...(strayFiles.length ? { strayFiles } : {}),
  };
}

/**
 * The evidence base branch's head, created when missing as a root commit holding only a README: it shares
 * no history with the code, so nothing merged into it can reach the default branch.
 */
export async function ensureEvidenceBase(github: GitHub, where: RepoRef, base: string): Promise<string> {
  const existing = await findBranch(github, where, base);
  if (existing) return existing;
  const readme =
    "# Evidence of release gates\n\nEach folder `evidence/<run-id>/` is the evidence bundle of one gate run, merged here from its evidence PR. " +
    "This branch holds evidence only and is never merged into the code.\n";
  const { data: blob } = await github.rest.git.createBlob({
    ...where,
    content: Buffer.from(readme).toString("base64"),
    encoding: "base64",
  });
  const { data: tree } = await github.rest.git.createTree({
    ...where,
    tree: [{ path: "README.md", mode: "100644", type: "blob", sha: blob.sha }],
  });
  const { data: commit } = await github.rest.git.createCommit({
    ...where,
    message: `Start ${base}: evidence only, never merged into code\n`,
    tree: tree.sha,
    parents: [],
  });
  try {
    await github.rest.git.createRef({ ...where, ref: `refs/heads/${base}`, sha: commit.sha });
    return commit.sha;
  } catch (err) {
    const theirs = httpStatus(err) === 422 ? await findBranch(github, where, base) : null;
    if (!theirs) throw err;
    return theirs;
  }
}

/** The branch's head, or null when there is no such branch (matching refs, so no 404 to log). */
async function findBranch(github: GitHub, where: RepoRef, branch: string): Promise<string | null> {
  const { data } = await github.rest.git.listMatchingRefs({ ...where, ref: `heads/${branch}` });
  return data.find((r) => r.ref === `refs/heads/${branch}`)?.object.sha ?? null;
}
