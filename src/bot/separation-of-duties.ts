// Separation of duties: who asked for a run, and who wrote the code it measured, do not sign it off
// (unless the gate file says `signoff.allow_self: true`). Bots never count as approvers.

import type { Gate } from "../gates/gate.js";
import type { GitHub, RepoRef } from "./github.js";
import type { RunRecord } from "./run-state.js";

export function isBotAccount(login: string, type?: string): boolean {
  return type === "Bot" || /\[bot\]$/i.test(login);
}

/** Why `reviewer` may not sign off `run` under separation of duties, or null when they may. */
export async function selfSignoffProblem(
  github: GitHub,
  where: RepoRef,
  gate: Gate,
  run: RunRecord,
  reviewer: string,
): Promise<string | null> {
  if (gate.signoff.allowSelf) return null;
  const me = reviewer.toLowerCase();
  const setting = `(\`signoff.allow_self\` is false in ${gate.source.file})`;
  if (run.requestedBy.toLowerCase() === me)
    return `@${reviewer} requested run \`${run.id}\`, and the person who asked for a run does not sign it off ${setting}`;
  const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: run.pullNumber });
  if (pr.user?.login.toLowerCase() === me)
    return `@${reviewer} opened the gated pull request #${run.pullNumber}, and its author does not sign off its gate ${setting}`;
  // GitHub lists at most 250 commits of a pull request: three pages of 100.
  for (let page = 1; page <= 3; page++) {
    const { data: commits } = await github.rest.pulls.listCommits({ ...where, pull_number: run.pullNumber, per_page: 100, page });
    const authored = commits.find((c) => c.author?.login?.toLowerCase() === me || c.committer?.login?.toLowerCase() === me);
    if (authored)
      return `@${reviewer} authored commit ${authored.sha.slice(0, 7)} of the gated pull request #${run.pullNumber}, and its authors do not sign off its gate ${setting}`;
    if (commits.length < 100) break;
  }
  return null;
}
