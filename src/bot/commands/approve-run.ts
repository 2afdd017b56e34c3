// `/gate-a approve-run`: a maintainer lets the gate build and run a fork PR's current head commit
// (a later push needs a new approval).

import type { RepoRef } from "../github/github.js";
import { noArguments, type CommandDefinition, type NoArguments } from "./pr-command.js";

export const approveRun: CommandDefinition<"approve-run", NoArguments> = {
  verb: "approve-run",
  describe: () => "on a pull request from a fork, let the gate build and run its current head commit (a later push needs a new approval).",
  privileged: (gate) => `approve ${gate.title} runs of a fork's code`,
  parse: noArguments("approve-run"),
  async handle(_, { github, where, gate, pullNumber, user, forkApprovals, reply }) {
    const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: pullNumber });
    const fork = forkOf(pr, where);
    if (!fork) {
      await reply(`This pull request's head is in ${where.owner}/${where.repo}, not a fork: its runs need no approval.`);
      return;
    }
    if (!forkApprovals) {
      await reply(`This bot keeps no approvals; set \`commands.allow_forks: true\` in the gate file to run fork PRs.`);
      return;
    }
    await forkApprovals.approve(where.owner, where.repo, pullNumber, pr.head.sha, user);
    await reply(
      `@${user} approved ${gate.title} runs of ${pr.head.sha.slice(0, 7)} from \`${fork}\`: \`${gate.command.prefix} replay <phase>\` now builds and runs it. A later push needs a new approval.`,
    );
  },
};

/** "owner/repo" of a PR's head when it is not this repository (a fork, or a head repository since deleted). */
export function forkOf(pr: { head: { repo?: { full_name?: string; fork?: boolean } | null } }, where: RepoRef): string | null {
  const repo = pr.head.repo;
  if (!repo?.full_name) return "a deleted repository";
  return repo.full_name.toLowerCase() === `${where.owner}/${where.repo}`.toLowerCase() ? null : repo.full_name;
}
