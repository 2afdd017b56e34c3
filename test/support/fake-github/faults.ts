// Failures a test schedules before it acts: the next matching request(s) get this answer instead
// of reaching the state, which stays untouched, as when GitHub fails a request.

export interface FaultResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What a fault applies to: an Octokit route name ("issues.createComment"), a "METHOD /path" or
 *  "/path" (path below /api/v3, percent-decoded; a trailing * matches a prefix), a RegExp tested
 *  against "METHOD /path", or a predicate. */
export type FaultMatch = string | RegExp | ((request: { method: string; path: string; route: string | null }) => boolean);

interface Fault {
  match: FaultMatch;
  response: FaultResponse;
  remaining: number;
}

export class FaultPlan {
  readonly #faults: Fault[] = [];

  add(match: FaultMatch, response: FaultResponse, times = 1): void {
    if (!Number.isInteger(times) || times < 1) throw new Error(`failNext: times must be a positive integer, got ${times}`);
    this.#faults.push({ match, response, remaining: times });
  }

  /** The answer for this request if a fault matches it (consuming one use), else undefined. */
  take(request: { method: string; path: string; route: string | null }): FaultResponse | undefined {
    const i = this.#faults.findIndex((f) => matches(f.match, request));
    if (i < 0) return undefined;
    const fault = this.#faults[i];
    if (--fault.remaining === 0) this.#faults.splice(i, 1);
    return fault.response;
  }

  /** Uses left across all scheduled faults: a test can assert its faults were all hit. */
  get pending(): number {
    return this.#faults.reduce((n, f) => n + f.remaining, 0);
  }

  clear(): void {
    this.#faults.length = 0;
  }
}

function matches(match: FaultMatch, r: { method: string; path: string; route: string | null }): boolean {
  if (typeof match === "function") return match(r);
  if (match instanceof RegExp) return match.test(`${r.method} ${r.path}`);
  if (!match.includes("/")) return r.route === match;
  const space = match.indexOf(" ");
  const method = space > 0 ? match.slice(0, space).toUpperCase() : null;
  const path = space > 0 ? match.slice(space + 1) : match;
  if (method !== null && method !== r.method) return false;
  return path.endsWith("*") ? r.path.startsWith(path.slice(0, -1)) : r.path === path;
}

/** Ready-made GitHub failures, with the headers Octokit's retry and throttling plugins read. */
export const githubFaults = {
  serverError(status = 500): FaultResponse {
    return { status, body: { message: "Server Error" } };
  },

  /** Primary rate limit: 403 with x-ratelimit-remaining 0 and the reset time (epoch seconds). */
  rateLimited(resetInSeconds = 60): FaultResponse {
    const reset = Math.floor(Date.now() / 1000) + resetInSeconds;
    return {
      status: 403,
      headers: {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": String(reset),
        "x-ratelimit-resource": "core",
      },
      body: {
        message: "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.",
        documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        status: "403",
      },
    };
  },

  /** Secondary rate limit: 429 (or 403) with Retry-After seconds. */
  secondaryRateLimited(retryAfterSeconds = 60, status: 403 | 429 = 429): FaultResponse {
    return {
      status,
      headers: { "retry-after": String(retryAfterSeconds) },
      body: {
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        status: String(status),
      },
    };
  },
};
