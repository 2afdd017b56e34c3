// Recording a sign-off decision: the signed entry appended to the run record's log, and the bundle's copy of
// the sign-off committed by the bot on its own head of the evidence branch.

import { createHash, type KeyObject } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Approval, Decision, Verdict } from "../../gates/model/index.js";
import {
  recordApproval,
  listBundleFiles,
  MANIFEST_FILE,
  chainHead,
  SIGNED_APPROVALS_FILE,
  signedApprovalLine,
  type ApprovalEntry,
} from "../../gates/evidence/index.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { commitChanges, evidencePath, type FileChange } from "../github/evidence-pr.js";
import type { RunRecord, RunState } from "../runs/run-state.js";

/** The record's signed log with one more entry, linked to the one before it. */
export function appendEntry(
  r: RunRecord,
  key: KeyObject | undefined,
  e: Pick<ApprovalEntry, "reviewer" | "state" | "reviewId" | "reviewedCommit" | "at" | "outcome">,
): string[] {
  const log = r.signoffLog ?? [];
  const entry: ApprovalEntry = {
    run: r.id,
    gate: r.gate,
    commit: r.headSha,
    verdict: r.verdict ?? "ERROR",
    full: r.full,
    ...e,
    previous: log.length
      ? createHash("sha256")
          .update(log[log.length - 1]!, "utf8")
          .digest("hex")
      : (r.attestationDigest ?? chainHead("", [])),
  };
  const line = key ? signedApprovalLine(entry, key) : JSON.stringify({ unsigned: entry });
  return [...log, line];
}

/** The entry a signed (or unsigned) log line holds. */
function entryOf(line: string): ApprovalEntry {
  const parsed = JSON.parse(line) as { payload?: string; unsigned?: ApprovalEntry };
  return parsed.unsigned ?? (JSON.parse(Buffer.from(parsed.payload ?? "", "base64").toString("utf8")) as ApprovalEntry);
}

/** The bundle as committed on a branch, written to a fresh temporary folder. */
export async function checkoutBundle(
  github: GitHub,
  where: RepoRef,
  commitSha: string,
  prefix: string,
): Promise<{ dir: string; digests: Map<string, string> }> {
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
  return { dir, digests };
}

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

/**
 * After a decision, the bundle's copy of the sign-off (HOTL log, decision log, signed entries, manifest
 * chain) is committed by the bot on the bot's own head of the evidence branch. Never on anyone else's.
 */
export async function writeSignoffToBranch(
  github: GitHub,
  where: RepoRef,
  state: RunState,
  runId: string,
  pr: { number: number; html_url: string; head: { ref: string } },
  decision: Decision | undefined,
): Promise<void> {
  const run = await state.get(runId);
  if (!run) return;
  const head = (await github.rest.git.getRef({ ...where, ref: `heads/${pr.head.ref}` })).data.object.sha;
  if (!(run.evidenceCommits ?? []).includes(head)) return;
  const lines = run.signoffLog ?? [];
  const pending = lines.slice(run.signoffWritten ?? 0).map(entryOf);
  if (!pending.length) return;
  const prefix = evidencePath(run.id);
  const { dir, digests } = await checkoutBundle(github, where, head, prefix);
  try {
    for (const [i, e] of pending.entries()) {
      const last = i === pending.length - 1;
      const approval: Approval = {
        reviewer: e.reviewer,
        at: e.at,
        commit: e.commit,
        verdict: e.verdict as Verdict,
        state: e.state,
        pullRequest: pr.html_url,
      };
      const signed = lines.every((l) => !l.startsWith('{"unsigned"'));
      await recordApproval(
        dir,
        approval,
        last ? decision : undefined,
        last && signed ? [{ path: SIGNED_APPROVALS_FILE, text: `${lines.join("\n")}\n` }] : [],
      );
    }
    const changes = await changedFiles(dir, digests, prefix);
    if (!changes.length) return;
    const message = `Sign-off of run ${run.id}: ${decision?.title ?? "recorded"} (${run.signoff?.approvals.map((a) => `@${a.login}`).join(", ") || "no approvals"})\n`;
    const { commitSha } = await commitChanges(github, where, head, changes, message);
    // The bot's commit joins the record before the branch moves, so a review of it is never taken for a stranger's.
    await state.update(run.id, (r) => ({ evidenceCommits: [...(r.evidenceCommits ?? []), commitSha], signoffWritten: lines.length }));
    await github.rest.git.updateRef({ ...where, ref: `heads/${pr.head.ref}`, sha: commitSha, force: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
