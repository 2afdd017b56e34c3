// The GitHub client the bot's functions take: an @octokit/rest Octokit, or Probot's installation
// client (the same REST methods), so the app and `gate publish` share every GitHub call.

import type { Octokit } from "@octokit/rest";

export type GitHub = Pick<Octokit, "rest" | "request">;

/** owner/repo of the repository the bot acts on. */
export type RepoRef = {
  owner: string;
  repo: string;
};

/** The HTTP status of an Octokit error, or undefined when it was not an HTTP answer. */
export function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status;
  return typeof status === "number" ? status : undefined;
}
