// Who may do what: a user's repository permission (GET /repos/{o}/{r}/collaborators/{u}/permission)
// compared with the level a gate file asks for, and the reply a refused user gets.

import type { GitHub, RepoRef } from "../github/github.js";
import { httpStatus } from "../github/github.js";

export type Permission = "admin" | "write" | "read" | "none";

const RANK: Record<Permission, number> = { none: 0, read: 1, write: 2, admin: 3 };

export function hasPermission(actual: Permission, required: Exclude<Permission, "none">): boolean {
  return RANK[actual] >= RANK[required];
}

/**
 * The user's permission on the repository. GitHub folds maintain into write and triage into read
 * in the `permission` field; a user who is not a collaborator (404) has none.
 */
export async function collaboratorPermission(github: GitHub, where: RepoRef, username: string): Promise<Permission> {
  try {
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({ ...where, username });
    const p = data.permission;
    return p === "admin" || p === "write" || p === "read" ? p : "none";
  } catch (err) {
    if (httpStatus(err) === 404) return "none";
    throw err;
  }
}

/** Why a user may not run a command, in one sentence they can act on. */
export function refusal(
  username: string,
  actual: Permission,
  required: Exclude<Permission, "none">,
  what: string,
  gateFile: string,
): string {
  return (
    `@${username}, you may not ${what}: it needs **${required}** permission on this repository and you have **${actual}**. ` +
    `Ask a maintainer to run it, or to grant you ${required} access (the level is \`commands.permission\` in \`${gateFile}\`).`
  );
}
