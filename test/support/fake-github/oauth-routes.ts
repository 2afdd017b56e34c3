// The App's OAuth web flow on the fake's web host (not under /api/v3): /login/oauth/authorize sends the
// browser back with a code and the state, as GitHub does once someone is signed in and authorizes;
// /login/oauth/access_token trades a code (once, ten minutes, same redirect_uri) for a user token.
// The user routes (/user, /user/installations...) answer with what the fake's permissions let that user read.

import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { forbidden, notFound } from "./github-errors.js";
import type { RepositoryState } from "./repository-state.js";
import { paginate, route, type ApiRequest, type Route } from "./router.js";

const CODE_LIFETIME_MS = 10 * 60 * 1000;
const DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

interface IssuedCode {
  login: string;
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}

export interface WebAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class FakeOAuth {
  /** The person signed in on the fake's github.com; null: nobody (authorize then answers 401). */
  signedIn: string | null = null;
  readonly codes = new Map<string, IssuedCode>();

  constructor(
    private readonly state: RepositoryState,
    readonly clientId: string,
    readonly clientSecret: string,
  ) {}

  /** A request to /login/oauth/*: authorize (GET) or access_token (POST, a form or JSON body as clients send). */
  answer(method: string, url: URL, body: Buffer, headers: IncomingHttpHeaders): WebAnswer {
    if (url.pathname === "/login/oauth/authorize" && method === "GET") return this.authorize(url.searchParams);
    if (url.pathname === "/login/oauth/access_token" && method === "POST") {
      let params: Record<string, string> = {};
      try {
        const raw = body.toString("utf8");
        params = headers["content-type"]?.includes("json")
          ? (JSON.parse(raw) as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        // An unreadable body has no client id: answered as GitHub does, incorrect_client_credentials.
      }
      return this.accessToken(params, headers.accept);
    }
    return { status: 404, headers: { "content-type": "text/plain" }, body: "Not Found" };
  }

  /** GET /login/oauth/authorize: the signed-in person authorizes at once. */
  authorize(query: URLSearchParams): WebAnswer {
    const text = (status: number, body: string): WebAnswer => ({ status, headers: { "content-type": "text/plain" }, body });
    if (query.get("client_id") !== this.clientId) return text(404, "Not Found: no application has this client_id");
    const redirectUri = query.get("redirect_uri");
    if (!redirectUri) return text(400, "The redirect_uri is missing (the fake has no registered callback URL)");
    if (!this.signedIn) return text(401, "Nobody is signed in to the fake GitHub: call fake.signInAs(login) first");
    const code = randomBytes(10).toString("hex");
    this.codes.set(code, { login: this.signedIn, redirectUri, expiresAt: Date.now() + CODE_LIFETIME_MS, used: false });
    const back = new URL(redirectUri);
    back.searchParams.set("code", code);
    const state = query.get("state");
    if (state !== null) back.searchParams.set("state", state);
    return { status: 302, headers: { location: back.toString() }, body: "" };
  }

  /** POST /login/oauth/access_token: GitHub answers 200 even for errors, with an `error` field. */
  accessToken(params: Record<string, string>, accept: string | undefined): WebAnswer {
    const answer = (data: Record<string, string>): WebAnswer =>
      accept?.includes("application/json")
        ? { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(data) }
        : { status: 200, headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(data).toString() };
    const error = (code: string, description: string) => answer({ error: code, error_description: description, error_uri: DOCS });
    if (params.client_id !== this.clientId || params.client_secret !== this.clientSecret)
      return error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    const issued = this.codes.get(params.code ?? "");
    if (!issued || issued.used || issued.expiresAt < Date.now())
      return error("bad_verification_code", "The code passed is incorrect or expired.");
    if (params.redirect_uri !== undefined && params.redirect_uri !== issued.redirectUri)
      return error("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
    issued.used = true;
    const token = `ghu_${randomBytes(18).toString("base64url").slice(0, 36)}`;
    this.state.userTokens.set(token, this.state.user(issued.login).login);
    return answer({ access_token: token, token_type: "bearer", scope: "" });
  }
}

/** The user a route is called as; installation tokens are refused as GitHub refuses them. */
function userLogin(req: ApiRequest): string {
  if (req.actor.kind !== "user") throw forbidden("Resource not accessible by integration");
  return req.actor.login;
}

/** GitHub lists repositories a user has explicit access to (read or more) through the installation. */
function readable(req: ApiRequest, login: string): boolean {
  return req.state.permissionOf(login) !== "none";
}

export const userRoutes: Route[] = [
  route("GET", "/user", "users.getAuthenticated", (req) => ({ status: 200, body: req.shapes.user(userLogin(req)) })),

  route("GET", "/user/installations", "apps.listInstallationsForAuthenticatedUser", (req) => {
    const installations = readable(req, userLogin(req)) ? [req.shapes.installation()] : [];
    return paginate(req, installations, (page) => ({ total_count: installations.length, installations: page }));
  }),

  route("GET", "/user/installations/:installation_id/repositories", "apps.listInstallationReposForAuthenticatedUser", (req) => {
    const login = userLogin(req);
    // GitHub: 404 for an installation the user cannot reach.
    if (Number(req.params.installation_id) !== req.state.installation.id || !readable(req, login)) throw notFound();
    const repositories = [req.shapes.repository()];
    return paginate(req, repositories, (page) => ({ total_count: repositories.length, repositories: page }));
  }),
];
