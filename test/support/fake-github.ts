// A stateful fake GitHub (Enterprise Server flavour: REST under /api/v3) on 127.0.0.1, for the
// bot's end-to-end tests: Probot with GHE_HOST/GHE_PROTOCOL=http, or @octokit/rest with baseUrl.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AppAuth } from "./fake-github/app-auth.js";
import { appRoutes } from "./fake-github/app-routes.js";
import { checkRoutes } from "./fake-github/check-routes.js";
import {
  deploymentBook,
  deploymentRoutes,
  startWaitingDeployment,
  type DeploymentCallback,
  type WaitingDeployment,
} from "./fake-github/deployment-routes.js";
import { FaultPlan, type FaultMatch, type FaultResponse } from "./fake-github/faults.js";
import { gitDataRoutes } from "./fake-github/git-data-routes.js";
import { GitHubApiError, notFound } from "./fake-github/github-errors.js";
import { issueRoutes } from "./fake-github/issue-routes.js";
import { pullRoutes } from "./fake-github/pull-routes.js";
import { RepositoryState, type Actor, type MutationRecord, type PermissionLevel } from "./fake-github/repository-state.js";
import { repositoryRoutes } from "./fake-github/repository-routes.js";
import { archiveRoutes, CODELOAD_PREFIX, downloadArchive } from "./fake-github/archive-routes.js";
import { RestShapes, type Json } from "./fake-github/rest-shapes.js";
import { matchRoute, type ApiAnswer, type Route } from "./fake-github/router.js";
import { FakeOAuth, userRoutes } from "./fake-github/oauth-routes.js";

export { githubFaults, type FaultMatch, type FaultResponse } from "./fake-github/faults.js";
export type { DeploymentCallback, WaitingDeployment } from "./fake-github/deployment-routes.js";
export type { PermissionLevel, MutationRecord } from "./fake-github/repository-state.js";
export { COMMENT_BODY_LIMIT } from "./fake-github/repository-state.js";
export { CHECK_OUTPUT_LIMIT_BYTES, ANNOTATIONS_PER_REQUEST, CHECK_ACTIONS_LIMIT } from "./fake-github/check-routes.js";

export interface FakeGitHubOptions {
  /** Repository owner (a user who is admin). Default "acme". */
  owner?: string;
  /** Default "service". */
  repo?: string;
  /** Default "main". */
  defaultBranch?: string;
  /** Collaborators and their role; maintain reports as write, triage as read. */
  permissions?: Record<string, PermissionLevel>;
  /** Files of the initial commit on the default branch. Default: a README.md. */
  files?: Record<string, string | Buffer>;
  /** The GitHub App. `privateKey` (PEM) turns on JWT signature and issuer checks. */
  app?: { id?: number; slug?: string; name?: string; privateKey?: string };
  installationId?: number;
  /** Reject tokens the fake did not issue. Default false: any token acts as the app's bot. */
  strictTokens?: boolean;
  /** The App's OAuth client (sign-in with GitHub). Defaults: "Iv1.fake<app id>" and a random secret. */
  oauth?: { clientId?: string; clientSecret?: string };
}

export interface RecordedRequest {
  method: string;
  /** Percent-decoded path below /api/v3. */
  path: string;
  /** The path exactly as sent, encoding included. */
  rawPath: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** Octokit's name for the route, null when no route matched. */
  route: string | null;
  /** "app", "installation:<id>" or "user:<login>"; null when unauthenticated. */
  actor: string | null;
  /** True when failNext answered instead of the fake. */
  injected: boolean;
  /** When it arrived (ISO, milliseconds). */
  at: string;
  /** Set when a handler threw something other than a GitHub error: a bug in the fake. */
  error?: string;
}

/** The parts of a pull request's REST JSON tests usually need; the full object is there too. */
export interface PullRequestJson {
  number: number;
  title: string;
  state: "open" | "closed";
  user: { login: string };
  head: { ref: string; sha: string; label: string };
  base: { ref: string; sha: string; label: string };
  [key: string]: unknown;
}

export interface CommentJson {
  id: number;
  body: string;
  user: { login: string; type: string };
  html_url: string;
  [key: string]: unknown;
}

export interface ReviewJson {
  id: number;
  state: string;
  commit_id: string;
  user: { login: string };
  [key: string]: unknown;
}

/** What webhook payload builders need to describe this fake's repository consistently. */
export interface WebhookContext {
  owner: string;
  repo: string;
  installationId: number;
  repository: Json;
}

export interface FakeGitHub {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + "/api/v3": Octokit's baseUrl, GITHUB_API_URL. */
  apiUrl: string;
  /** "127.0.0.1:PORT": GHE_HOST (with GHE_PROTOCOL=http). */
  host: string;
  owner: string;
  repo: string;
  appId: number;
  installationId: number;
  /** "<slug>[bot]": the login the app's writes appear under. */
  botLogin: string;
  /** Everything, inspectable: refs, objects (state.git), pulls, reviews, comments, reactions,
   *  checkRuns, statuses, permissions, mutations. */
  state: RepositoryState;
  /** Every request received, in order, including rejected and injected ones. */
  requests: RecordedRequest[];
  /** Successful API writes (not test set-up), in order. */
  mutations: MutationRecord[];
  /** Successful API writes to one route, e.g. count("issues.createComment"). */
  count(route: string): number;
  /** The next `times` requests matching `match` get `response` and change nothing. */
  failNext(match: FaultMatch, response: FaultResponse, times?: number): void;
  /** Scheduled fault uses not yet consumed. */
  pendingFaults(): number;
  setPermission(user: string, level: PermissionLevel): void;
  /** Members of a team, "org/slug" or "slug" (in the owner's org), for "@org/team" reviewers. */
  setTeamMembers(team: string, members: string[]): void;
  /** A personal token whose requests act as `login` (e.g. a human approving through the API). */
  tokenFor(login: string): string;
  /** The App's OAuth client id and secret, for GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET. */
  oauth: { clientId: string; clientSecret: string };
  /** Who is signed in on the fake github.com: /login/oauth/authorize signs them into the App (null: nobody). */
  signInAs(login: string | null): void;
  /** The OAuth codes issued so far, by code. */
  oauthCodes(): ReadonlyMap<string, { login: string; used: boolean; expiresAt: number }>;
  /** A contributor's push: commits files (null deletes) on a branch, creating it from the
   *  default branch if needed, and moves the branch (open pull requests follow). */
  pushCommit(options: {
    branch: string;
    files: Record<string, string | Buffer | null>;
    message?: string;
    /** A login (linked through its noreply email), or a name and an email no account has. */
    author?: string | { name: string; email: string };
    committer?: string | { name: string; email: string };
    /** Start from this commit instead of the branch's head: a force push. */
    parent?: string;
  }): {
    sha: string;
    tree: string;
  };
  /** Opens a pull request as `author` (default "contributor", given write), first pushing
   *  `files` to the head branch when given. */
  createPullRequest(options: {
    head: string;
    base?: string;
    title?: string;
    body?: string;
    author?: string;
    files?: Record<string, string | Buffer | null>;
    /** The owner of the fork the head branch comes from (the PR is then a fork PR). */
    fork?: string;
  }): PullRequestJson;
  /** A person's comment on an issue or pull request, as if typed in the UI. */
  addComment(options: { issueNumber: number; user: string; body: string }): CommentJson;
  /** A person's review, as if submitted in the UI; commitId defaults to the current head. */
  submitReview(options: {
    pullNumber: number;
    reviewer: string;
    state: "approved" | "changes_requested" | "commented";
    commitId?: string;
    body?: string;
  }): ReviewJson;
  dismissReview(pullNumber: number, reviewId: number): ReviewJson;
  /** The files of a commit, tree or branch: path to content. */
  readTree(shaOrRef: string): Map<string, Buffer>;
  pullRequestJson(pullNumber: number): PullRequestJson;
  commentJson(commentId: number): CommentJson;
  webhookContext(): WebhookContext;
  /** A workflow job with `environment: <name>` waiting for the App's deployment protection rule
   *  (send the deployment_protection_rule webhook with `callbackUrl`). */
  waitForDeployment(o: { environment: string; sha: string; ref?: string; creator?: string }): WaitingDeployment & { callbackUrl: string };
  /** The App's accepted answers to deployment protection rules, in order. */
  deploymentCallbacks(): DeploymentCallback[];
  close(): Promise<void>;
}

const ROUTES: Route[] = [
  ...appRoutes,
  ...gitDataRoutes,
  ...checkRoutes,
  ...pullRoutes,
  ...issueRoutes,
  ...repositoryRoutes,
  ...archiveRoutes,
  ...deploymentRoutes,
  ...userRoutes,
];
const API_PREFIX = "/api/v3";
/** Larger than any blob GitHub takes through the API (100 MB is its hard cap; the fake stops sooner). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Starts the fake on 127.0.0.1 at a random port. A bot end-to-end test typically:
 *
 *   const gh = await startFakeGitHub({ permissions: { alice: "write" }, files: { "gates/gate-a.yaml": yaml } });
 *   // start Probot with GHE_HOST=gh.host, GHE_PROTOCOL=http (or @octokit/rest with baseUrl: gh.apiUrl)
 *   const pr = gh.createPullRequest({ head: "feature", files: { "src/x.ts": "..." } });
 *   const comment = gh.addComment({ issueNumber: pr.number, user: "alice", body: "/gate-a replay 1k" });
 *   await sendWebhook(botUrl, { event: "issue_comment", secret,
 *     payload: issueCommentOnPullRequest({ ...gh.webhookContext(), prNumber: pr.number, commenter: "alice",
 *                                          body: comment.body, comment, pullRequest: pr }) });
 *   // then assert on gh.state (comments, checkRuns, reviews ...), gh.count(...), gh.readTree(sha)
 */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const owner = options.owner ?? "acme";
  const repo = options.repo ?? "service";
  const state = new RepositoryState({
    owner,
    repo,
    defaultBranch: options.defaultBranch ?? "main",
    files: options.files ?? { "README.md": `# ${repo}\n` },
    permissions: options.permissions ?? {},
    app: { id: options.app?.id ?? 4242, slug: options.app?.slug ?? "release-gate", name: options.app?.name ?? "Release Gate" },
    installationId: options.installationId ?? 31337,
  });
  const auth = new AppAuth(state, { appKey: options.app?.privateKey, strictTokens: options.strictTokens });
  const faults = new FaultPlan();
  const oauth = new FakeOAuth(
    state,
    options.oauth?.clientId ?? `Iv1.fake${state.app.id}`,
    options.oauth?.clientSecret ?? randomUUID().replace(/-/g, ""),
  );
  const requests: RecordedRequest[] = [];
  // eslint-disable-next-line prefer-const -- the handler above closes over it; it is set once the server listens
  let shapes: RestShapes | undefined;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Only reachable if writing the answer itself failed; the client sees a reset.
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      rawPath: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      route: null,
      actor: null,
      injected: false,
      at: new Date().toISOString(),
    };
    requests.push(record);
    if (url.pathname.startsWith(`${CODELOAD_PREFIX}/`) && method === "GET") {
      // The download host behind a tarball redirect: no API token, the URL's own token instead.
      const download = downloadArchive(state, url.pathname, url.searchParams.get("token"));
      record.route = "codeload.download";
      record.status = download.status;
      res.writeHead(download.status, { ...download.headers, "content-length": String(download.body.length) }).end(download.body);
      return;
    }
    if (url.pathname.startsWith("/login/oauth/")) {
      const web = oauth.answer(method, url, method === "POST" ? await readBody(req) : Buffer.alloc(0), req.headers);
      record.route = `oauth.${url.pathname.slice("/login/oauth/".length)}`;
      record.status = web.status;
      res.writeHead(web.status, { ...web.headers, "content-length": String(Buffer.byteLength(web.body)) }).end(web.body);
      return;
    }
    const answer = await answerFor(req, url, method, record);
    record.status = answer.status;
    const headers: Record<string, string> = {
      "x-github-request-id": randomUUID().toUpperCase(),
      "x-github-media-type": "github.v3; format=json",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(Math.max(1, 5000 - requests.length)),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-used": String(Math.min(4999, requests.length)),
      "x-ratelimit-resource": "core",
      ...answer.headers,
    };
    if (answer.status === 204 || answer.body === undefined) {
      res.writeHead(answer.status, headers).end();
      return;
    }
    const payload = JSON.stringify(answer.body);
    res
      .writeHead(answer.status, {
        ...headers,
        "content-type": "application/json; charset=utf-8",
        "content-length": String(Buffer.byteLength(payload)),
      })
      .end(payload);
  }

  async function answerFor(req: IncomingMessage, url: URL, method: string, record: RecordedRequest): Promise<ApiAnswer> {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (error) {
      return errorAnswer(error);
    }
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        const parsed: unknown = JSON.parse(raw.toString("utf8"));
        record.body = parsed;
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
        body = parsed as Record<string, unknown>;
      } catch {
        record.body ??= raw.toString("utf8");
        return {
          status: 400,
          body: { message: "Problems parsing JSON", documentation_url: "https://docs.github.com/rest", status: "400" },
        };
      }
    }
    if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) return errorAnswer(notFound());
    const rawPath = url.pathname.slice(API_PREFIX.length) || "/";
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return errorAnswer(notFound());
    }
    record.path = path;
    record.rawPath = rawPath;
    const found = matchRoute(ROUTES, method, path);
    if (!found) return errorAnswer(notFound());
    record.route = found.route.name;
    try {
      const actor = auth.authenticate(req.headers.authorization, found.route.auth);
      record.actor = describe(actor);
      const fault = faults.take({ method, path, route: found.route.name });
      if (fault) {
        record.injected = true;
        return { status: fault.status, headers: fault.headers, body: fault.body };
      }
      const answer = found.route.handle({
        method,
        path,
        params: found.params,
        query: url.searchParams,
        body,
        actor,
        state,
        shapes: shapes!,
        selfUrl: `${fake.url}${url.pathname}`,
      });
      if (found.route.mutation && answer.status < 300) {
        state.recordMutation({ route: found.route.name, method, path, status: answer.status, actor: record.actor });
      }
      return answer;
    } catch (error) {
      if (!(error instanceof GitHubApiError)) record.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      return errorAnswer(error);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  shapes = new RestShapes(state, `${base}${API_PREFIX}`, base);
  const s = shapes;

  const fake: FakeGitHub = {
    url: base,
    apiUrl: `${base}${API_PREFIX}`,
    host: `127.0.0.1:${port}`,
    owner,
    repo,
    appId: state.app.id,
    installationId: state.installation.id,
    botLogin: state.botLogin,
    state,
    requests,
    mutations: state.mutations,
    count: (route) => state.count(route),
    failNext: (match, response, times = 1) => faults.add(match, response, times),
    pendingFaults: () => faults.pending,
    setPermission: (user, level) => state.setPermission(user, level),
    setTeamMembers(team, members) {
      const key = (team.replace(/^@/, "").includes("/") ? team.replace(/^@/, "") : `${owner}/${team}`).toLowerCase();
      state.teams.set(key, new Set(members));
    },
    tokenFor(login) {
      const token = state.newToken("ghp");
      state.userTokens.set(token, state.user(login).login);
      return token;
    },
    oauth: { clientId: oauth.clientId, clientSecret: oauth.clientSecret },
    signInAs(login) {
      oauth.signedIn = login === null ? null : state.user(login).login;
    },
    oauthCodes: () => oauth.codes,
    pushCommit(o) {
      const commit = state.pushCommit(o);
      return { sha: commit.sha, tree: commit.tree };
    },
    createPullRequest(o) {
      const author = o.author ?? "contributor";
      if (state.permissionOf(author) === "none") state.setPermission(author, "write");
      const base = o.base ?? state.defaultBranch;
      if (o.files) state.pushCommit({ branch: o.head, files: o.files, author, parent: state.branchSha(o.head) ?? state.branchSha(base) });
      const pr = state.createPullRequest({ title: o.title ?? `Change ${o.head}`, head: o.head, base, body: o.body ?? null, user: author });
      if (o.fork) pr.forkOwner = o.fork;
      return s.pull(pr) as PullRequestJson;
    },
    addComment(o) {
      return s.comment(state.createComment({ issueNumber: o.issueNumber, user: o.user, body: o.body })) as CommentJson;
    },
    submitReview(o) {
      const review = state.submitReview({
        pullNumber: o.pullNumber,
        reviewer: o.reviewer,
        state: o.state.toUpperCase() as "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED",
        commitId: o.commitId,
        body: o.body ?? (o.state === "approved" ? "" : `${o.state} by ${o.reviewer}`),
      });
      return s.review(review) as ReviewJson;
    },
    dismissReview: (pullNumber, reviewId) => s.review(state.dismissReview(pullNumber, reviewId)) as ReviewJson,
    readTree: (shaOrRef) => state.readTree(shaOrRef),
    pullRequestJson: (n) => s.pull(state.pullOrThrow(n)) as PullRequestJson,
    commentJson: (id) => s.comment(state.commentOrThrow(id)) as CommentJson,
    webhookContext: () => ({ owner, repo, installationId: state.installation.id, repository: s.repository() }),
    waitForDeployment(o) {
      const d = startWaitingDeployment(state, o);
      return { ...d, callbackUrl: `${base}${API_PREFIX}/repos/${owner}/${repo}/actions/runs/${d.runId}/deployment_protection_rule` };
    },
    deploymentCallbacks: () => [...deploymentBook(state).callbacks],
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return fake;
}

function describe(actor: Actor): string {
  if (actor.kind === "app") return "app";
  if (actor.kind === "installation") return `installation:${actor.installationId}`;
  return `user:${actor.login}`;
}

function errorAnswer(error: unknown): ApiAnswer {
  if (error instanceof GitHubApiError) return { status: error.status, body: error.body, headers: error.headers };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { message: `fake GitHub failed: ${message}` } };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new GitHubApiError(413, { message: `Request body over ${MAX_BODY_BYTES} bytes`, status: "413" });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
