// How the fake finds the handler for a request: a table of GitHub REST routes named as Octokit
// names them, matched against the percent-decoded path, plus GitHub-style pagination.

import { notFound, validationFailed } from "./github-errors.js";
import type { Actor, RepositoryState } from "./repository-state.js";
import type { RestShapes } from "./rest-shapes.js";

export interface ApiRequest {
  method: string;
  /** Percent-decoded path below /api/v3, e.g. /repos/o/r/git/ref/heads/main. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body; {} when there was none. */
  body: Record<string, unknown>;
  actor: Actor;
  state: RepositoryState;
  shapes: RestShapes;
  /** Absolute URL of this request without its query, for Link headers. */
  selfUrl: string;
}

export interface ApiAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  /** "/repos/:owner/:repo/git/ref/*ref": ":x" is one segment, "*x" the rest of the path. */
  pattern: string;
  /** Octokit's method name, e.g. "git.getRef"; what failNext and mutation counts refer to. */
  name: string;
  /** "app": needs the app's JWT; otherwise a token (installation or personal). */
  auth: "app" | "token";
  /** False for writes that change no repository state (an access token). */
  mutation: boolean;
  handle(req: ApiRequest): ApiAnswer;
  regex: RegExp;
  keys: string[];
}

export function route(
  method: string,
  pattern: string,
  name: string,
  handle: (req: ApiRequest) => ApiAnswer,
  options: { auth?: "app" | "token"; mutation?: boolean } = {},
): Route {
  const keys: string[] = [];
  const source = pattern
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        keys.push(segment.slice(1));
        return "([^/]+)";
      }
      if (segment.startsWith("*")) {
        keys.push(segment.slice(1));
        return "(.+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
    })
    .join("/");
  return {
    method,
    pattern,
    name,
    handle,
    auth: options.auth ?? "token",
    mutation: options.mutation ?? method !== "GET",
    regex: new RegExp(`^${source}/?$`),
    keys,
  };
}

export function matchRoute(routes: Route[], method: string, path: string): { route: Route; params: Record<string, string> } | null {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.regex.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => (params[k] = m[i + 1]));
    return { route: r, params };
  }
  return null;
}

/** Answers a list the way GitHub does: per_page (default 30, max 100), page, and a Link header. */
export function paginate(req: ApiRequest, items: unknown[], wrap?: (page: unknown[]) => unknown): ApiAnswer {
  const perPage = Math.min(100, Math.max(1, Number(req.query.get("per_page") ?? 30) || 30));
  const page = Math.max(1, Number(req.query.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number, rel: string) => {
    const q = new URLSearchParams(req.query);
    q.set("per_page", String(perPage));
    q.set("page", String(p));
    return `<${req.selfUrl}?${q.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, "prev"), link(1, "first"));
  if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
  return {
    status: 200,
    body: wrap ? wrap(slice) : slice,
    headers: links.length > 0 ? { link: links.join(", ") } : {},
  };
}

/** 404 unless the path names this fake's repository (GitHub compares case-insensitively). */
export function checkRepository(req: ApiRequest): void {
  const { owner, repo } = req.params;
  if (owner === undefined || repo === undefined) return;
  if (owner.toLowerCase() !== req.state.owner.toLowerCase() || repo.toLowerCase() !== req.state.repo.toLowerCase()) {
    throw notFound();
  }
}

/** A required string field of the body, or GitHub's 422 naming it. */
export function requireString(req: ApiRequest, field: string, resource: string): string {
  const v = req.body[field];
  if (typeof v !== "string" || v.length === 0) {
    throw validationFailed([{ resource, field, code: "missing_field" }]);
  }
  return v;
}

export function optionalString(req: ApiRequest, field: string, resource: string): string | undefined {
  const v = req.body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw validationFailed([{ resource, field, code: "invalid", value: v }]);
  return v;
}

export function intParam(req: ApiRequest, key: string): number {
  const v = Number(req.params[key]);
  if (!Number.isInteger(v) || v <= 0) throw notFound();
  return v;
}
