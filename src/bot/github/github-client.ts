// The one way this project makes a GitHub client: @octokit/rest with @octokit/plugin-retry (5xx answers tried
// again with backoff) and @octokit/plugin-throttling (rate-limit answers waited out, writes optionally spaced).
// `gate publish`, `gate ci`, the dashboard's sign-in and the bot's installation clients all come from here.

import { Octokit } from "@octokit/rest";
import { retry } from "@octokit/plugin-retry";
import { throttling, type ThrottlingOptions } from "@octokit/plugin-throttling";
import { ProbotOctokit } from "probot";

/** @octokit/rest with the retry and throttling plugins. */
export const RetryingOctokit = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof RetryingOctokit>;

export interface GitHubClientOptions {
  /** The API's base URL (https://api.github.com or https://ghe.example.com/api/v3). */
  baseUrl: string;
  userAgent: string;
  /** How often a 5xx or rate-limited request is tried again (default 3); 0 gives up at the first refusal. */
  retries?: number;
  /** First wait before a retry of a 5xx, in ms (default 1000; the plugin waits 1, 4, 9… times this). */
  retryAfterBaseMs?: number;
  /**
   * Space writes a second apart (GitHub's advice against secondary rate limits for sustained writers). Off by
   * default: a CLI run writes a handful of times; a 403/429 that says "wait" is still waited out and retried.
   */
  spaceWrites?: boolean;
}

/**
 * A stand-in for the throttling plugin's per-installation write limiter (a Bottleneck group) that lets every
 * write go at once; the plugin only ever calls `key(...).schedule(...)` on it.
 */
const unspacedGroup = { key: () => ({ schedule: <T>(_options: unknown, job: () => T) => Promise.resolve(job()) }) };
const unspaced = unspacedGroup as unknown as NonNullable<Extract<ThrottlingOptions, { onRateLimit: unknown }>["write"]>;

type LimitHandler = (
  retryAfter: number,
  options: { method: string; url: string },
  octokit: { log: { warn(m: string): void } },
  retryCount: number,
) => boolean;

function limitHandler(retries: number, what: string): LimitHandler {
  return (retryAfter, options, octokit, retryCount) => {
    octokit.log.warn(`${what} on ${options.method} ${options.url}: ${retryCount < retries ? `retrying in ${retryAfter}s` : "giving up"}`);
    return retryCount < retries;
  };
}

/** The client class with these defaults, for libraries that take a class (OAuthApp). */
export function gitHubClientClass(o: GitHubClientOptions): typeof RetryingOctokit {
  const retries = o.retries ?? 3;
  return RetryingOctokit.defaults({
    baseUrl: o.baseUrl,
    userAgent: o.userAgent,
    retry: { retries, retryAfterBaseValue: o.retryAfterBaseMs ?? 1000 },
    throttle: {
      onRateLimit: limitHandler(retries, "GitHub's rate limit"),
      onSecondaryRateLimit: limitHandler(retries, "GitHub's secondary rate limit"),
      ...(o.spaceWrites ? {} : { write: unspaced, notifications: unspaced }),
    },
  });
}

/** A GitHub client acting with `auth` (a token), retrying and rate-limit aware. */
export function createGitHubClient(o: GitHubClientOptions & { auth?: string }): GitHubClient {
  const Client = gitHubClientClass(o);
  return new Client(o.auth === undefined ? {} : { auth: o.auth });
}

/**
 * The bot's installation clients: Probot's own Octokit, which already carries the retry and throttling
 * plugins and spaces writes a second apart per installation; a test against a local fake turns spacing off.
 */
export function probotClientClass(spaceWrites: boolean): typeof ProbotOctokit {
  // Off only stops the spacing: a 403 with x-ratelimit-remaining 0 or a 429 with Retry-After is still
  // waited out and retried (GHES has primary rate limits too), instead of losing the write.
  // A function, not an object: Probot passes its own throttle options down, which would replace ours.
  return spaceWrites
    ? ProbotOctokit
    : ProbotOctokit.defaults((options: { throttle?: object }) => ({
        ...options,
        throttle: { ...options.throttle, write: unspaced, notifications: unspaced },
      }));
}
