// Delivers webhooks the way GitHub does (signed raw body, X-GitHub-* headers), and builds their
// payloads from @octokit/webhooks-examples, made consistent with a fake GitHub's repository.

import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { githubSignature } from "../../src/webhook-signatures.js";

export interface WebhookDelivery {
  /** X-GitHub-Event: "issue_comment", "pull_request_review", "pull_request", ... */
  event: string;
  payload: unknown;
  secret: string;
  /** X-GitHub-Delivery; a fresh UUID when absent. Reuse one to simulate a redelivery. */
  deliveryId?: string;
  /** Extra or overriding headers (e.g. a wrong signature). */
  headers?: Record<string, string>;
}

export interface WebhookAnswer {
  status: number;
  body: string;
  deliveryId: string;
  headers: Record<string, string>;
}

export async function sendWebhook(url: string, delivery: WebhookDelivery): Promise<WebhookAnswer> {
  const body = JSON.stringify(delivery.payload);
  const deliveryId = delivery.deliveryId ?? randomUUID();
  const installation = (delivery.payload as { installation?: { id?: number } } | null)?.installation;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/6e3f4a1",
      "x-github-event": delivery.event,
      "x-github-delivery": deliveryId,
      "x-github-hook-id": "424242",
      "x-github-hook-installation-target-type": installation ? "integration" : "repository",
      "x-github-hook-installation-target-id": String(installation?.id ?? 1),
      "x-hub-signature": `sha1=${createHmac("sha1", delivery.secret).update(body).digest("hex")}`,
      "x-hub-signature-256": githubSignature(delivery.secret, body),
      ...delivery.headers,
    },
    body,
  });
  return {
    status: response.status,
    body: await response.text(),
    deliveryId,
    headers: Object.fromEntries(response.headers),
  };
}

// ---- payload builders --------------------------------------------------------------------

type Json = Record<string, unknown>;

/** The repository a payload is about; pass a fake GitHub's webhookContext() to stay consistent. */
export interface RepositoryContext {
  owner: string;
  repo: string;
  installationId: number;
  /** The repository JSON (GET /repos/:o/:r); built from the examples when absent. */
  repository?: Json;
}

interface ExampleEvent {
  name: string;
  examples: Json[];
}

let examples: ExampleEvent[] | undefined;

function example(event: string, pick: (e: Json) => boolean): Json {
  examples ??= createRequire(import.meta.url)("@octokit/webhooks-examples") as ExampleEvent[];
  const found = examples.find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`@octokit/webhooks-examples has no ${event} example matching the builder's needs`);
  return structuredClone(found);
}

function stableId(login: string): number {
  let h = 2166136261;
  for (const ch of login) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return 10_000_000 + (h % 90_000_000);
}

/** A user as webhooks show one; bots are "<slug>[bot]" with type "Bot". */
export function webhookUser(login: string, type: "User" | "Bot" = login.endsWith("[bot]") ? "Bot" : "User"): Json {
  const id = stableId(login);
  return {
    login,
    id,
    node_id: Buffer.from(`04:${type}${id}`).toString("base64"),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: "",
    url: `https://api.github.com/users/${login}`,
    html_url: type === "Bot" ? `https://github.com/apps/${login.replace(/\[bot\]$/, "")}` : `https://github.com/${login}`,
    type,
    site_admin: false,
  };
}

function repositoryFor(ctx: RepositoryContext, template: Json): Json {
  if (ctx.repository) return structuredClone(ctx.repository);
  const text = JSON.stringify(template.repository).replaceAll("Codertocat/Hello-World", `${ctx.owner}/${ctx.repo}`);
  const repository = JSON.parse(text) as Json;
  repository.name = ctx.repo;
  repository.full_name = `${ctx.owner}/${ctx.repo}`;
  repository.owner = webhookUser(ctx.owner);
  return repository;
}

function installationFor(ctx: RepositoryContext): Json {
  return { id: ctx.installationId, node_id: Buffer.from(`023:IntegrationInstallation${ctx.installationId}`).toString("base64") };
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function urls(repository: Json) {
  const api = String(repository.url);
  const html = String(repository.html_url);
  return { api, html };
}

/** An issue_comment on a pull request: unlike the examples, its issue carries `pull_request`. */
export function issueCommentOnPullRequest(
  options: RepositoryContext & {
    prNumber: number;
    commenter: string;
    body: string;
    senderType?: "User" | "Bot";
    action?: "created" | "edited";
    /** The comment as the fake stored it (fake.addComment), so reactions to its id land. */
    comment?: Json;
    commentId?: number;
    /** The pull request's REST JSON (fake.pullRequestJson), for its title and author. */
    pullRequest?: Json;
    /** For "edited": the body before the edit. */
    previousBody?: string;
  },
): Json {
  const payload = example("issue_comment", (e) => e.action === "created");
  const repository = repositoryFor(options, payload);
  const { api, html } = urls(repository);
  const n = options.prNumber;
  const senderType = options.senderType ?? (options.commenter.endsWith("[bot]") ? "Bot" : "User");
  const commenter = webhookUser(options.commenter, senderType);
  const pr = options.pullRequest;
  const issue = payload.issue as Json;
  Object.assign(issue, {
    url: `${api}/issues/${n}`,
    repository_url: api,
    labels_url: `${api}/issues/${n}/labels{/name}`,
    comments_url: `${api}/issues/${n}/comments`,
    events_url: `${api}/issues/${n}/events`,
    html_url: `${html}/pull/${n}`,
    id: (pr?.id as number | undefined) ?? stableId(`issue-${n}`),
    number: n,
    title: (pr?.title as string | undefined) ?? `Pull request #${n}`,
    user: (pr?.user as Json | undefined) ?? webhookUser(options.owner),
    labels: [],
    state: (pr?.state as string | undefined) ?? "open",
    assignee: null,
    assignees: [],
    milestone: null,
    body: (pr?.body as string | null | undefined) ?? null,
    pull_request: {
      url: `${api}/pulls/${n}`,
      html_url: `${html}/pull/${n}`,
      diff_url: `${html}/pull/${n}.diff`,
      patch_url: `${html}/pull/${n}.patch`,
      merged_at: null,
    },
  });
  const commentId = (options.comment?.id as number | undefined) ?? options.commentId ?? stableId(`${n}:${options.body}:${Date.now()}`);
  const comment =
    options.comment !== undefined
      ? structuredClone(options.comment)
      : {
          ...(payload.comment as Json),
          url: `${api}/issues/comments/${commentId}`,
          html_url: `${html}/pull/${n}#issuecomment-${commentId}`,
          issue_url: `${api}/issues/${n}`,
          id: commentId,
          node_id: Buffer.from(`012:IssueComment${commentId}`).toString("base64"),
          user: commenter,
          created_at: now(),
          updated_at: now(),
          author_association: senderType === "Bot" ? "NONE" : "COLLABORATOR",
          performed_via_github_app: null,
          body: options.body,
        };
  comment.body = options.body;
  const out: Json = {
    action: options.action ?? "created",
    issue,
    comment,
    repository,
    sender: commenter,
    installation: installationFor(options),
  };
  if (options.action === "edited") out.changes = { body: { from: options.previousBody ?? "" } };
  return out;
}

/** A pull_request_review event; `state` is lower case, as webhooks spell it. */
export function pullRequestReview(
  options: RepositoryContext & {
    prNumber: number;
    reviewer: string;
    state: "approved" | "changes_requested" | "commented" | "dismissed";
    /** The commit the review was made on (review.commit_id). */
    commitId: string;
    reviewId?: number;
    body?: string | null;
    /** The pull request's REST JSON (fake.pullRequestJson); its head is used as is. */
    pullRequest?: Json;
    action?: "submitted" | "edited" | "dismissed";
  },
): Json {
  const payload = example("pull_request_review", (e) => e.action === "submitted");
  const repository = repositoryFor(options, payload);
  const { api, html } = urls(repository);
  const n = options.prNumber;
  const reviewer = webhookUser(options.reviewer);
  const reviewId = options.reviewId ?? stableId(`review-${n}-${options.reviewer}-${options.commitId}`);
  const pullRequest = options.pullRequest
    ? structuredClone(options.pullRequest)
    : examplePullRequest(payload.pull_request as Json, repository, n, options.commitId);
  const reviewHtml = `${html}/pull/${n}#pullrequestreview-${reviewId}`;
  return {
    action: options.action ?? (options.state === "dismissed" ? "dismissed" : "submitted"),
    review: {
      id: reviewId,
      node_id: Buffer.from(`017:PullRequestReview${reviewId}`).toString("base64"),
      user: reviewer,
      body: options.body ?? null,
      commit_id: options.commitId,
      submitted_at: now(),
      state: options.state,
      html_url: reviewHtml,
      pull_request_url: `${api}/pulls/${n}`,
      author_association: "COLLABORATOR",
      _links: { html: { href: reviewHtml }, pull_request: { href: `${api}/pulls/${n}` } },
    },
    pull_request: pullRequest,
    repository,
    sender: reviewer,
    installation: installationFor(options),
  };
}

/** A pull_request event (opened, synchronize, closed, reopened ...). */
export function pullRequestEvent(
  options: RepositoryContext & {
    action: "opened" | "synchronize" | "closed" | "reopened" | "edited";
    prNumber: number;
    headSha: string;
    /** For synchronize: the head before the push. */
    before?: string;
    sender?: string;
    pullRequest?: Json;
  },
): Json {
  const payload = example("pull_request", (e) => e.action === "synchronize");
  const repository = repositoryFor(options, payload);
  const pullRequest = options.pullRequest
    ? structuredClone(options.pullRequest)
    : examplePullRequest(payload.pull_request as Json, repository, options.prNumber, options.headSha);
  (pullRequest.head as Json).sha = options.headSha;
  const out: Json = {
    action: options.action,
    number: options.prNumber,
    pull_request: pullRequest,
    repository,
    installation: installationFor(options),
    sender: webhookUser(options.sender ?? options.owner),
  };
  if (options.action === "synchronize") {
    out.before = options.before ?? "0".repeat(40);
    out.after = options.headSha;
  }
  return out;
}

/** New commits pushed to a pull request's head branch. */
export function pullRequestSynchronize(
  options: RepositoryContext & { prNumber: number; headSha: string; before?: string; sender?: string; pullRequest?: Json },
): Json {
  return pullRequestEvent({ ...options, action: "synchronize" });
}

function examplePullRequest(template: Json, repository: Json, n: number, headSha: string): Json {
  const { api, html } = urls(repository);
  const text = JSON.stringify(template)
    .replaceAll("https://api.github.com/repos/Codertocat/Hello-World", api)
    .replaceAll("https://github.com/Codertocat/Hello-World", html);
  const pr = JSON.parse(text) as Json;
  pr.number = n;
  pr.url = `${api}/pulls/${n}`;
  pr.html_url = `${html}/pull/${n}`;
  pr.issue_url = `${api}/issues/${n}`;
  pr.state = "open";
  const head = pr.head as Json;
  head.sha = headSha;
  head.repo = repository;
  (pr.base as Json).repo = repository;
  return pr;
}

/**
 * deployment_protection_rule.requested, as GitHub sends it to the App of a custom deployment
 * protection rule (no published example; shaped after the webhook schema): the environment, the
 * event that started the workflow, the deployment (its sha), the callback URL the App answers, and
 * the pull requests of the deployment's ref.
 */
export function deploymentProtectionRuleRequested(
  options: RepositoryContext & {
    environment: string;
    /** fake.waitForDeployment(...): its ids, sha, ref and callback URL. */
    deployment: { runId: number; deploymentId: number; sha: string; ref: string; creator: string; createdAt: string; callbackUrl: string };
    /** "push", "workflow_dispatch", "pull_request" ... */
    event?: string;
    /** The deployment's payload (a deploy tool may put environment_url there). */
    deploymentPayload?: Json;
    /** Pull requests' REST JSON (fake.pullRequestJson). */
    pullRequests?: Json[];
    sender?: string;
  },
): Json {
  const template = example("pull_request", (e) => e.action === "synchronize");
  const repository = repositoryFor(options, template);
  const { api } = urls(repository);
  const d = options.deployment;
  return {
    action: "requested",
    environment: options.environment,
    event: options.event ?? "push",
    deployment_callback_url: d.callbackUrl,
    deployment: {
      url: `${api}/deployments/${d.deploymentId}`,
      id: d.deploymentId,
      node_id: Buffer.from(`010:Deployment${d.deploymentId}`).toString("base64"),
      sha: d.sha,
      ref: d.ref,
      task: "deploy",
      payload: options.deploymentPayload ?? {},
      original_environment: options.environment,
      environment: options.environment,
      description: null,
      creator: webhookUser(d.creator),
      created_at: d.createdAt,
      updated_at: d.createdAt,
      statuses_url: `${api}/deployments/${d.deploymentId}/statuses`,
      repository_url: api,
      transient_environment: false,
      production_environment: options.environment === "production",
      performed_via_github_app: null,
    },
    pull_requests: (options.pullRequests ?? []).map((p) => structuredClone(p)),
    repository,
    sender: webhookUser(options.sender ?? d.creator),
    installation: installationFor(options),
  };
}

/** check_run.rerequested: someone pressed "Re-run" on the App's check run (from the published example). */
export function checkRunRerequested(
  options: RepositoryContext & {
    /** The check run as the fake stores it (fake.state.checkRuns). */
    checkRun: { id: number; name: string; headSha: string; externalId: string; status: string; conclusion: string | null };
    sender: string;
    appId: number;
    pullRequests?: Json[];
  },
): Json {
  const payload = example("check_run", (e) => e.action === "rerequested");
  const repository = repositoryFor(options, payload);
  const { api, html } = urls(repository);
  const c = options.checkRun;
  const run = payload.check_run as Json;
  const app = { ...(run.app as Json), id: options.appId };
  Object.assign(run, {
    id: c.id,
    name: c.name,
    head_sha: c.headSha,
    external_id: c.externalId,
    status: c.status,
    conclusion: c.conclusion,
    url: `${api}/check-runs/${c.id}`,
    html_url: `${html}/runs/${c.id}`,
    app,
    pull_requests: options.pullRequests ?? [],
  });
  Object.assign(run.check_suite as Json, {
    head_sha: c.headSha,
    after: c.headSha,
    app,
    repository,
    pull_requests: options.pullRequests ?? [],
  });
  return { ...payload, repository, sender: webhookUser(options.sender), installation: installationFor(options), organization: undefined };
}

/** merge_group.checks_requested: a merge queue made a merge group and asks for its required checks. */
export function mergeGroupChecksRequested(
  options: RepositoryContext & { headSha: string; baseSha: string; prNumber: number; baseRef?: string; sender?: string },
): Json {
  const payload = example("merge_group", (e) => e.action === "checks_requested");
  const repository = repositoryFor(options, payload);
  const base = options.baseRef ?? "main";
  const group = payload.merge_group as Json;
  Object.assign(group, {
    head_sha: options.headSha,
    head_ref: `refs/heads/gh-readonly-queue/${base}/pr-${options.prNumber}-${options.baseSha}`,
    base_sha: options.baseSha,
    base_ref: `refs/heads/${base}`,
  });
  Object.assign(group.head_commit as Json, { id: options.headSha });
  return {
    ...payload,
    repository,
    sender: webhookUser(options.sender ?? options.owner),
    installation: installationFor(options),
    organization: undefined,
  };
}
