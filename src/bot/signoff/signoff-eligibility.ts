// Whether a run's evidence PR can be signed off at all, whoever approves: the run finished, was not
// superseded, ran every phase; the PR's head is a commit the bot made, it targets the evidence base and
// holds evidence only. Each answer is the reason a person reads.

import type { Gate } from "../../gates/model/index.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { evidencePath } from "../github/evidence-pr.js";
import { promotionContext } from "../github/promotion-status.js";
import type { RunRecord } from "../runs/run-state.js";

export interface EvidencePullState {
  number: number;
  head: { sha: string };
  base: { ref?: string };
}

export interface RunProblem {
  why: string;
  /** The whole reply, when the reason needs more than "your approval is not recorded: <why>". */
  reply?: (reviewer: string) => string;
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

/** Why no approval of `run`'s evidence PR can count, or null when approvals are judged one by one. */
export async function runProblem(
  github: GitHub,
  where: RepoRef,
  pr: EvidencePullState,
  run: RunRecord,
  gate: Gate,
): Promise<RunProblem | null> {
  if (run.phase !== "finished" || !run.verdict) return { why: `run \`${run.id}\` has not finished` };
  if (run.signoff?.status === "superseded") {
    return {
      why: `run \`${run.id}\` was superseded by run \`${run.signoff.supersededBy}\` on the same commit; review that run's evidence instead`,
    };
  }
  if (!run.full) {
    return {
      why: "partial: not a promotion decision",
      reply: (reviewer) =>
        `@${reviewer}, your approval is not recorded: **partial: not a promotion decision**. Run \`${run.id}\` ran ${run.scope}, not every phase of ${gate.title}; ` +
        `only a full run (\`${gate.command.prefix} replay all\`) can be signed off for promotion. The \`${promotionContext(gate.name)}\` status is unchanged.`,
    };
  }
  // Only commits whose SHAs the bot recorded are its own: a branch name proves nothing.
  if (!(run.evidenceCommits ?? []).includes(pr.head.sha)) {
    return {
      why: `the evidence branch's head ${pr.head.sha} is not a commit the bot made (someone else pushed it); the evidence may only change through the bot. Run the gate again for fresh evidence`,
    };
  }
  if (pr.base.ref && run.evidenceBase && pr.base.ref !== run.evidenceBase) {
    return {
      why: `this PR targets \`${pr.base.ref}\`, not the evidence branch \`${run.evidenceBase}\`: approving it could merge more than evidence`,
    };
  }
  const outside = await filesOutsideBundle(github, where, pr.number, run.id);
  if (outside.length) {
    const named = outside
      .slice(0, 5)
      .map((f) => `\`${f}\``)
      .join(", ");
    return {
      why: `this PR changes files outside \`${evidencePath(run.id)}/\` (${named}${outside.length > 5 ? ", …" : ""}); an evidence PR holds evidence only`,
    };
  }
  return null;
}
