// GitHub's error answers, in GitHub's shapes, so a client's error handling meets what it will meet
// in production: 404 {message:"Not Found"}, 422 "Validation Failed" with an errors array, and so on.

const DOCS = "https://docs.github.com/rest";

export interface ValidationError {
  resource: string;
  field?: string;
  code: "missing" | "missing_field" | "invalid" | "already_exists" | "unprocessable" | "custom";
  message?: string;
  value?: unknown;
}

/** Thrown by route handlers and state operations; the server turns it into the HTTP answer. */
export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    // Thrown from test set-up helpers too, so the message carries the details GitHub would send.
    super(Array.isArray(body.errors) ? `${String(body.message)}: ${JSON.stringify(body.errors)}` : String(body.message));
  }
}

export function notFound(): GitHubApiError {
  return new GitHubApiError(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
}

export function validationFailed(errors: ValidationError[], documentation = DOCS): GitHubApiError {
  return new GitHubApiError(422, {
    message: "Validation Failed",
    errors,
    documentation_url: documentation,
    status: "422",
  });
}

/** A 422 whose message is the whole explanation, as git data and contents endpoints answer. */
export function unprocessable(message: string, documentation = DOCS): GitHubApiError {
  return new GitHubApiError(422, { message, documentation_url: documentation, status: "422" });
}

export function invalidRequest(detail: string): GitHubApiError {
  return unprocessable(`Invalid request.\n\n${detail}`);
}

export function conflict(message: string): GitHubApiError {
  return new GitHubApiError(409, { message, documentation_url: DOCS, status: "409" });
}

export function unauthorized(message: string): GitHubApiError {
  return new GitHubApiError(401, { message, documentation_url: DOCS, status: "401" });
}

export function forbidden(message: string): GitHubApiError {
  return new GitHubApiError(403, { message, documentation_url: DOCS, status: "403" });
}
