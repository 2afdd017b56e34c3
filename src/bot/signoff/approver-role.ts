// Who holds the approver role of a gate's sign-off policy: a named login or a member of a named @org/team,
// and, named or not, someone with the policy's `permission` on the repository (a name in a gate file is no
// access: a person who lost theirs, or never had it, does not sign off).

import type { SignoffPolicy } from "../../gates/model/index.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { httpStatus } from "../github/github.js";
import { collaboratorPermission, hasPermission } from "../commands/permission.js";

/** Why `login` is not named by the policy's approvers, or null when they are (or none are named). */
async function notNamed(github: GitHub, where: RepoRef, login: string, approvers: readonly string[]): Promise<string | null> {
  if (!approvers.length) return null;
  const lower = login.toLowerCase();
  const unreadable: string[] = [];
  for (const entry of approvers) {
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
  return `@${login} is not one of the approvers the gate's sign-off policy names (${approvers.join(", ")})${teams}`;
}

/** Why `login` does not hold the approver role of the policy, or null when they do. */
export async function approverProblem(
  github: GitHub,
  where: RepoRef,
  login: string,
  policy: Pick<SignoffPolicy, "approvers" | "permission">,
): Promise<string | null> {
  const named = await notNamed(github, where, login, policy.approvers);
  if (named) return named;
  const permission = await collaboratorPermission(github, where, login);
  if (hasPermission(permission, policy.permission)) return null;
  const who = policy.approvers.length ? `@${login} is a named approver, but the` : "the";
  return `${who} sign-off policy needs **${policy.permission}** permission on this repository (\`signoff.permission\`) and @${login} has **${permission}**`;
}
