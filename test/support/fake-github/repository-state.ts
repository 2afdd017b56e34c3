// The fake GitHub's state: one repository with its refs, pull requests, reviews, comments,
// reactions, check runs, statuses and collaborators, plus the app and its installation.
// Routes and test set-up both go through these operations, so both meet the same rules.

import { randomBytes } from "node:crypto";
import { GitStore, type CommitObject, type FlatEntry, type GitPerson, type TreeChange } from "./git-store.js";
import { GitHubApiError, notFound, unprocessable, validationFailed } from "./github-errors.js";

/** Repository permission as the collaborator endpoint reports it, plus the two finer roles. */
export type PermissionLevel = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface UserRecord {
  login: string;
  id: number;
  type: "User" | "Bot" | "Organization";
}

export interface AppRecord {
  id: number;
  slug: string;
  name: string;
}

export interface InstallationRecord {
  id: number;
  account: string;
  createdAt: string;
}

/** Who made a request, from its Authorization header. */
export type Actor =
  { kind: "app"; appId: string } | { kind: "installation"; installationId: number; login: string } | { kind: "user"; login: string };

export interface IssueRecord {
  number: number;
  id: number;
  title: string;
  body: string | null;
  user: string;
  state: "open" | "closed";
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Set when this issue number is a pull request. */
  isPullRequest: boolean;
}

export interface PullRecord {
  number: number;
  id: number;
  headRef: string;
  baseRef: string;
  /** Follows the head branch while it exists; kept when the branch is deleted. */
  headSha: string;
  baseSha: string;
  draft: boolean;
  mergedAt: string | null;
  requestedReviewers: string[];
  requestedTeams: string[];
  /** The owner of the fork the head branch lives in; unset when it is in this repository. */
  forkOwner?: string;
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

export interface ReviewRecord {
  id: number;
  pullNumber: number;
  user: string;
  body: string;
  state: ReviewState;
  commitId: string;
  submittedAt: string;
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  body: string;
  user: string;
  /** Set when an installation token wrote it: GitHub shows performed_via_github_app. */
  viaApp: boolean;
  createdAt: string;
  updatedAt: string;
}

export const REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"] as const;
export type ReactionContent = (typeof REACTIONS)[number];

export interface ReactionRecord {
  id: number;
  commentId: number;
  content: ReactionContent;
  user: string;
  createdAt: string;
}

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
  raw_details?: string;
  start_column?: number;
  end_column?: number;
}

export interface CheckAction {
  label: string;
  description: string;
  identifier: string;
}

export interface CheckRunRecord {
  id: number;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  startedAt: string;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: CheckAnnotation[];
  actions: CheckAction[];
  checkSuiteId: number;
  appId: number;
}

export interface StatusRecord {
  id: number;
  sha: string;
  state: "error" | "failure" | "pending" | "success";
  targetUrl: string | null;
  description: string | null;
  context: string;
  creator: string;
  createdAt: string;
  updatedAt: string;
}

/** One successful write, in the order it happened: what "no duplicate comments" is asserted on. */
export interface MutationRecord {
  /** Octokit's name for the endpoint, e.g. "issues.createComment"; "fake.*" for test set-up. */
  route: string;
  method: string;
  path: string;
  status: number;
  actor: string;
  at: string;
}

export interface RepositoryOptions {
  owner: string;
  repo: string;
  defaultBranch: string;
  /** Files of the initial commit on the default branch. */
  files: Record<string, string | Buffer>;
  permissions: Record<string, PermissionLevel>;
  app: AppRecord;
  installationId: number;
}

export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class RepositoryState {
  readonly git = new GitStore();
  readonly owner: string;
  readonly repo: string;
  readonly repositoryId: number;
  readonly defaultBranch: string;
  readonly createdAt = isoNow();
  readonly app: AppRecord;
  readonly installation: InstallationRecord;

  /** Full ref name ("refs/heads/main") to commit sha. */
  readonly refs = new Map<string, string>();
  readonly users = new Map<string, UserRecord>();
  /** Lower-cased login to its repository permission. */
  readonly permissions = new Map<string, PermissionLevel>();
  /** "org/team-slug" to member logins, for "@org/team" reviewers and approvers. */
  readonly teams = new Map<string, Set<string>>();
  readonly issues = new Map<number, IssueRecord>();
  readonly pulls = new Map<number, PullRecord>();
  readonly reviews = new Map<number, ReviewRecord>();
  readonly comments = new Map<number, CommentRecord>();
  readonly reactions = new Map<number, ReactionRecord>();
  readonly checkRuns = new Map<number, CheckRunRecord>();
  readonly statuses: StatusRecord[] = [];
  /** Installation access tokens handed out, to their installation and expiry. */
  readonly installationTokens = new Map<string, { installationId: number; expiresAt: string }>();
  /** Personal tokens tests hand to clients acting as a given user. */
  readonly userTokens = new Map<string, string>();
  readonly mutations: MutationRecord[] = [];

  #nextId = 1000;
  #nextNumber = 1;

  constructor(options: RepositoryOptions) {
    this.owner = options.owner;
    this.repo = options.repo;
    this.defaultBranch = options.defaultBranch;
    this.app = options.app;
    this.repositoryId = this.newId();
    this.user(options.owner);
    this.installation = { id: options.installationId, account: options.owner, createdAt: this.createdAt };
    this.permissions.set(options.owner.toLowerCase(), "admin");
    for (const [login, level] of Object.entries(options.permissions)) this.setPermission(login, level);
    const files = new Map<string, FlatEntry>();
    for (const [path, content] of Object.entries(options.files)) {
      const blob = this.git.putBlob(typeof content === "string" ? Buffer.from(content, "utf8") : content);
      files.set(path, { mode: "100644", type: "blob", sha: blob.sha });
    }
    const tree = this.git.buildTree(files);
    const commit = this.git.putCommit({
      tree: tree.sha,
      parents: [],
      message: "Initial commit",
      author: this.person(options.owner),
      committer: this.person(options.owner),
    });
    this.refs.set(`refs/heads/${options.defaultBranch}`, commit.sha);
  }

  newId(): number {
    return this.#nextId++;
  }

  get botLogin(): string {
    return `${this.app.slug}[bot]`;
  }

  /** The user record for a login, created on first sight (every login "exists" in the fake). */
  user(login: string): UserRecord {
    const key = login.toLowerCase();
    let u = this.users.get(key);
    if (!u) {
      const type = login.endsWith("[bot]") ? "Bot" : "User";
      u = { login, id: this.newId(), type };
      this.users.set(key, u);
    }
    return u;
  }

  person(login: string, date = isoNow()): GitPerson {
    const u = this.user(login);
    return { name: login, email: `${u.id}+${login}@users.noreply.github.com`, date };
  }

  /**
   * The account a commit email belongs to, as GitHub links it: an account's noreply address
   * (`<id>+<login>@users.noreply.github.com`) or an email it verified; null for any other email.
   */
  accountOfEmail(email: string): string | null {
    const noreply = /^(\d+)\+([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$/i.exec(email);
    if (noreply) {
      const u = this.users.get(noreply[2]!.toLowerCase());
      return u && String(u.id) === noreply[1] ? u.login : null;
    }
    return this.verifiedEmails.get(email.toLowerCase()) ?? null;
  }

  /** Emails people verified on their accounts (a commit with one is linked to that account). */
  readonly verifiedEmails = new Map<string, string>();

  actorLogin(actor: Actor): string {
    if (actor.kind === "app") return this.botLogin;
    return actor.login;
  }

  setPermission(login: string, level: PermissionLevel): void {
    this.user(login);
    this.permissions.set(login.toLowerCase(), level);
  }

  permissionOf(login: string): PermissionLevel {
    return this.permissions.get(login.toLowerCase()) ?? "none";
  }

  /** GitHub's author_association for a login on this repository. */
  association(login: string): string {
    if (login.toLowerCase() === this.owner.toLowerCase()) return "OWNER";
    const p = this.permissionOf(login);
    return p === "none" ? "NONE" : "COLLABORATOR";
  }

  recordMutation(m: Omit<MutationRecord, "at">): void {
    this.mutations.push({ ...m, at: new Date().toISOString() });
  }

  /** How many successful writes went to a route, e.g. count("issues.createComment"). */
  count(route: string): number {
    return this.mutations.filter((m) => m.route === route).length;
  }

  // ---- refs and commits ------------------------------------------------------------------

  /** Resolves a branch, tag, full ref, full sha or unique sha prefix (>= 7) to a commit sha. */
  resolveCommit(ref: string): string | undefined {
    if (/^[0-9a-f]{40}$/i.test(ref)) return this.git.commit(ref.toLowerCase()) ? ref.toLowerCase() : undefined;
    const candidates = ref.startsWith("refs/") ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`];
    for (const c of candidates) {
      const sha = this.refs.get(c);
      if (sha) return sha;
    }
    if (/^[0-9a-f]{7,39}$/i.test(ref)) {
      const matches = [...this.git.objects.values()].filter((o) => o.kind === "commit" && o.sha.startsWith(ref.toLowerCase()));
      if (matches.length === 1) return matches[0].sha;
    }
    return undefined;
  }

  commitOrThrow(ref: string): CommitObject {
    const sha = this.resolveCommit(ref);
    const commit = sha ? this.git.commit(sha) : undefined;
    if (!commit) throw notFound();
    return commit;
  }

  branchSha(branch: string): string | undefined {
    return this.refs.get(`refs/heads/${branch}`);
  }

  /** Moves (or creates) a ref; open pull requests follow their head and base branches. */
  setRef(ref: string, sha: string): void {
    this.refs.set(ref, sha);
    const branch = ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null;
    if (branch === null) return;
    for (const pr of this.pulls.values()) {
      const issue = this.issues.get(pr.number)!;
      if (issue.state !== "open") continue;
      if (pr.headRef === branch) pr.headSha = sha;
      if (pr.baseRef === branch) pr.baseSha = sha;
    }
  }

  createRef(ref: string, sha: string): void {
    if (!/^refs\/[^/]+\/.+/.test(ref)) {
      throw unprocessable("Reference name must start with 'refs/' and have at least two slashes.");
    }
    if (this.refs.has(ref)) throw unprocessable("Reference already exists");
    if (!this.git.commit(sha)) throw unprocessable("Object does not exist");
    this.setRef(ref, sha);
  }

  updateRef(ref: string, sha: string, force: boolean): void {
    const current = this.refs.get(ref);
    if (current === undefined) throw unprocessable("Reference does not exist");
    if (!this.git.commit(sha)) throw unprocessable("Object does not exist");
    if (!force && !this.git.isAncestor(current, sha)) throw unprocessable("Update is not a fast forward");
    this.setRef(ref, sha);
  }

  deleteRef(ref: string): void {
    if (!this.refs.delete(ref)) throw unprocessable("Reference does not exist");
  }

  /** The files of a commit, tree or branch: what a checkout would write. */
  readTree(shaOrRef: string): Map<string, Buffer> {
    const treeSha = this.git.tree(shaOrRef) ? shaOrRef : this.commitOrThrow(shaOrRef).tree;
    const out = new Map<string, Buffer>();
    for (const [path, e] of this.git.flatten(treeSha)) {
      if (e.type === "blob") out.set(path, this.git.blob(e.sha)!.content);
    }
    return out;
  }

  /**
   * Commits files on top of a branch (created from the default branch if missing) and moves the
   * branch: what a `git push` from a contributor does. A null content deletes the path.
   */
  pushCommit(options: {
    branch: string;
    files: Record<string, string | Buffer | null>;
    message?: string;
    /** A login (its account's noreply email, so linked), or a name and an email linked to no account. */
    author?: string | { name: string; email: string };
    /** Who committed it; the author when absent. */
    committer?: string | { name: string; email: string };
    /** Start the branch from this commit instead of its current head (force push). */
    parent?: string;
  }): CommitObject {
    const parent = options.parent ?? this.branchSha(options.branch) ?? this.branchSha(this.defaultBranch);
    if (!parent) throw new Error(`cannot push to ${options.branch}: no parent commit`);
    const base = this.git.flatten(this.commitOrThrow(parent).tree);
    const changes: TreeChange[] = Object.entries(options.files).map(([path, content]) => ({
      path,
      mode: "100644",
      type: "blob",
      sha: content === null ? null : this.git.putBlob(typeof content === "string" ? Buffer.from(content, "utf8") : content).sha,
    }));
    const tree = this.git.buildTree(this.git.applyChanges(base, changes));
    const identity = (who: string | { name: string; email: string }) =>
      typeof who === "string" ? this.person(who) : { ...who, date: isoNow() };
    const author = identity(options.author ?? this.owner);
    const commit = this.git.putCommit({
      tree: tree.sha,
      parents: [parent],
      message: options.message ?? `Update ${Object.keys(options.files).join(", ")}`,
      author,
      committer: options.committer ? identity(options.committer) : author,
    });
    this.setRef(`refs/heads/${options.branch}`, commit.sha);
    return commit;
  }

  // ---- issues and pull requests --------------------------------------------------------------

  issueOrThrow(n: number): IssueRecord {
    const issue = this.issues.get(n);
    if (!issue) throw notFound();
    return issue;
  }

  pullOrThrow(n: number): PullRecord {
    const pr = this.pulls.get(n);
    if (!pr) throw notFound();
    return pr;
  }

  createIssue(options: { title: string; body?: string | null; user: string }): IssueRecord {
    if (!options.title) throw validationFailed([{ resource: "Issue", field: "title", code: "missing_field" }]);
    checkIssueBody(options.body ?? null, "Issue");
    const now = isoNow();
    const issue: IssueRecord = {
      number: this.#nextNumber++,
      id: this.newId(),
      title: options.title,
      body: options.body ?? null,
      user: this.user(options.user).login,
      state: "open",
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      isPullRequest: false,
    };
    this.issues.set(issue.number, issue);
    return issue;
  }

  createPullRequest(options: {
    title: string;
    head: string;
    base: string;
    body?: string | null;
    draft?: boolean;
    user: string;
  }): PullRecord {
    const doc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request";
    // "owner:branch" names a branch in this repository when owner is ours (no forks here).
    const head = options.head.includes(":") ? options.head.slice(options.head.indexOf(":") + 1) : options.head;
    if (!options.title) throw validationFailed([{ resource: "PullRequest", field: "title", code: "missing_field" }], doc);
    const headSha = this.branchSha(head);
    const baseSha = this.branchSha(options.base);
    if (!headSha) throw validationFailed([{ resource: "PullRequest", field: "head", code: "invalid" }], doc);
    if (!baseSha) throw validationFailed([{ resource: "PullRequest", field: "base", code: "invalid" }], doc);
    for (const pr of this.pulls.values()) {
      if (pr.headRef === head && pr.baseRef === options.base && this.issues.get(pr.number)!.state === "open") {
        throw validationFailed(
          [{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${this.owner}:${head}.` }],
          doc,
        );
      }
    }
    if (this.git.isAncestor(headSha, baseSha)) {
      throw validationFailed([{ resource: "PullRequest", code: "custom", message: `No commits between ${options.base} and ${head}` }], doc);
    }
    checkIssueBody(options.body ?? null, "PullRequest");
    const issue = this.createIssue({ title: options.title, body: options.body ?? null, user: options.user });
    issue.isPullRequest = true;
    const pr: PullRecord = {
      number: issue.number,
      id: this.newId(),
      headRef: head,
      baseRef: options.base,
      headSha,
      baseSha,
      draft: options.draft ?? false,
      mergedAt: null,
      requestedReviewers: [],
      requestedTeams: [],
    };
    this.pulls.set(pr.number, pr);
    return pr;
  }

  requestReviewers(n: number, reviewers: string[], teams: string[]): void {
    const pr = this.pullOrThrow(n);
    const issue = this.issues.get(n)!;
    const doc = "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request";
    if (reviewers.some((r) => r.toLowerCase() === issue.user.toLowerCase())) {
      throw unprocessable("Review cannot be requested from pull request author.", doc);
    }
    const missingTeam = teams.find((t) => !this.teams.has(`${this.owner}/${t}`.toLowerCase()));
    if (reviewers.some((r) => this.permissionOf(r) === "none") || missingTeam !== undefined) {
      throw unprocessable(
        `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${this.owner}/${this.repo} repository.`,
        doc,
      );
    }
    for (const r of reviewers) {
      const login = this.user(r).login;
      if (!pr.requestedReviewers.includes(login)) pr.requestedReviewers.push(login);
    }
    for (const t of teams) if (!pr.requestedTeams.includes(t)) pr.requestedTeams.push(t);
  }

  /** A review as a person submits it in the UI; the REST state is upper case. */
  submitReview(options: {
    pullNumber: number;
    reviewer: string;
    state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "PENDING";
    body?: string;
    commitId?: string;
  }): ReviewRecord {
    const pr = this.pullOrThrow(options.pullNumber);
    const issue = this.issues.get(pr.number)!;
    const reviewer = this.user(options.reviewer).login;
    if (reviewer.toLowerCase() === issue.user.toLowerCase() && options.state !== "COMMENTED" && options.state !== "PENDING") {
      const verb = options.state === "APPROVED" ? "approve" : "request changes on";
      throw reviewRefused(`Can not ${verb} your own pull request`);
    }
    if ((options.state === "CHANGES_REQUESTED" || options.state === "COMMENTED") && !options.body) {
      const event = options.state === "COMMENTED" ? "COMMENT" : "REQUEST_CHANGES";
      throw reviewRefused(`Review Comment body is required when using the ${event} event`);
    }
    const commitId = options.commitId ?? pr.headSha;
    if (!this.git.commit(commitId)) throw unprocessable(`No commit found for SHA: ${commitId}`);
    const review: ReviewRecord = {
      id: this.newId(),
      pullNumber: pr.number,
      user: reviewer,
      body: options.body ?? "",
      state: options.state,
      commitId,
      submittedAt: isoNow(),
    };
    this.reviews.set(review.id, review);
    pr.requestedReviewers = pr.requestedReviewers.filter((r) => r.toLowerCase() !== reviewer.toLowerCase());
    return review;
  }

  dismissReview(pullNumber: number, reviewId: number): ReviewRecord {
    const review = this.reviews.get(reviewId);
    if (!review || review.pullNumber !== pullNumber) throw notFound();
    if (review.state !== "APPROVED" && review.state !== "CHANGES_REQUESTED") {
      throw unprocessable(`Can not dismiss a ${review.state.toLowerCase()} pull request review`);
    }
    review.state = "DISMISSED";
    return review;
  }

  /** Files changed between the merge base and the head, as the pull request's files tab shows. */
  pullFiles(
    n: number,
  ): { filename: string; status: "added" | "modified" | "removed"; sha: string; additions: number; deletions: number }[] {
    const pr = this.pullOrThrow(n);
    const base = this.git.mergeBase(pr.baseSha, pr.headSha) ?? pr.baseSha;
    const before = this.git.flatten(this.git.commit(base)!.tree);
    const after = this.git.flatten(this.git.commit(pr.headSha)!.tree);
    const lines = (sha: string) => {
      const text = this.git.blob(sha)?.content.toString("utf8") ?? "";
      return text === "" ? [] : text.replace(/\n$/, "").split("\n");
    };
    const out = [];
    for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const a = before.get(path);
      const b = after.get(path);
      if (a && b && a.sha === b.sha) continue;
      if (!a) out.push({ filename: path, status: "added" as const, sha: b!.sha, additions: lines(b!.sha).length, deletions: 0 });
      else if (!b) out.push({ filename: path, status: "removed" as const, sha: a.sha, additions: 0, deletions: lines(a.sha).length });
      else {
        // A multiset line difference: not a real diff, but right in count for appends and rewrites.
        const old = lines(a.sha);
        const pool = new Map<string, number>();
        for (const l of old) pool.set(l, (pool.get(l) ?? 0) + 1);
        let additions = 0;
        for (const l of lines(b.sha)) {
          const left = pool.get(l) ?? 0;
          if (left > 0) pool.set(l, left - 1);
          else additions++;
        }
        const deletions = [...pool.values()].reduce((s, v) => s + v, 0);
        out.push({ filename: path, status: "modified" as const, sha: b.sha, additions, deletions });
      }
    }
    return out;
  }

  // ---- comments and reactions -------------------------------------------------------------

  createComment(options: { issueNumber: number; body: string; user: string; viaApp?: boolean }): CommentRecord {
    this.issueOrThrow(options.issueNumber);
    checkCommentBody(options.body, "create-an-issue-comment");
    const now = isoNow();
    const comment: CommentRecord = {
      id: this.newId(),
      issueNumber: options.issueNumber,
      body: options.body,
      user: this.user(options.user).login,
      viaApp: options.viaApp ?? false,
      createdAt: now,
      updatedAt: now,
    };
    this.comments.set(comment.id, comment);
    return comment;
  }

  updateComment(id: number, body: string): CommentRecord {
    const comment = this.commentOrThrow(id);
    checkCommentBody(body, "update-an-issue-comment");
    comment.body = body;
    comment.updatedAt = isoNow();
    return comment;
  }

  commentOrThrow(id: number): CommentRecord {
    const comment = this.comments.get(id);
    if (!comment) throw notFound();
    return comment;
  }

  /** Comments on an issue or pull request, oldest first, as GitHub lists them. */
  commentsOn(issueNumber: number): CommentRecord[] {
    return [...this.comments.values()].filter((c) => c.issueNumber === issueNumber);
  }

  /** Adds a reaction; the same user reacting the same way again gets the existing one back. */
  react(commentId: number, content: string, user: string): { reaction: ReactionRecord; created: boolean } {
    this.commentOrThrow(commentId);
    if (!(REACTIONS as readonly string[]).includes(content)) {
      throw validationFailed(
        [{ resource: "Reaction", field: "content", code: "invalid", value: content }],
        "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment",
      );
    }
    for (const r of this.reactions.values()) {
      if (r.commentId === commentId && r.content === content && r.user.toLowerCase() === user.toLowerCase()) {
        return { reaction: r, created: false };
      }
    }
    const reaction: ReactionRecord = {
      id: this.newId(),
      commentId,
      content: content as ReactionContent,
      user: this.user(user).login,
      createdAt: isoNow(),
    };
    this.reactions.set(reaction.id, reaction);
    return { reaction, created: true };
  }

  reactionsOn(commentId: number): ReactionRecord[] {
    return [...this.reactions.values()].filter((r) => r.commentId === commentId);
  }

  // ---- statuses ----------------------------------------------------------------------------

  /** The combined state GitHub computes from the latest status of each context. */
  combinedStatus(sha: string): { state: "failure" | "pending" | "success"; latest: StatusRecord[] } {
    const latest = new Map<string, StatusRecord>();
    for (const s of this.statuses) if (s.sha === sha) latest.set(s.context, s);
    const list = [...latest.values()].reverse();
    let state: "failure" | "pending" | "success" = "success";
    if (list.length === 0 || list.some((s) => s.state === "pending")) state = "pending";
    if (list.some((s) => s.state === "failure" || s.state === "error")) state = "failure";
    return { state, latest: list };
  }

  newToken(prefix: "ghs" | "ghp"): string {
    return `${prefix}_${randomBytes(18).toString("base64url").slice(0, 36)}`;
  }
}

/** GitHub's limit on issue and pull request comment bodies, counted in characters. */
export const COMMENT_BODY_LIMIT = 65_536;

/** Issue and pull request descriptions share the comment limit. */
export function checkIssueBody(body: string | null, resource: "Issue" | "PullRequest"): void {
  if (body !== null && [...body].length > COMMENT_BODY_LIMIT) {
    throw validationFailed([
      { resource, code: "custom", field: "body", message: `body is too long (maximum is ${COMMENT_BODY_LIMIT} characters)` },
    ]);
  }
}

function checkCommentBody(body: unknown, docAnchor: string): asserts body is string {
  const doc = `https://docs.github.com/rest/issues/comments#${docAnchor}`;
  if (typeof body !== "string" || body.length === 0) {
    throw validationFailed([{ resource: "IssueComment", code: "missing_field", field: "body" }], doc);
  }
  // Characters as Ruby counts them (code points), not UTF-16 units.
  const length = [...body].length;
  if (length > COMMENT_BODY_LIMIT) {
    throw validationFailed(
      [
        {
          resource: "IssueComment",
          code: "unprocessable",
          field: "data",
          message: `Body is too long (maximum is ${COMMENT_BODY_LIMIT} characters)`,
        },
      ],
      doc,
    );
  }
}

// The reviews endpoint answers refusals with a bare list of strings, not Validation Failed objects.
function reviewRefused(reason: string): GitHubApiError {
  return new GitHubApiError(422, {
    message: "Unprocessable Entity",
    errors: [reason],
    documentation_url: "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
    status: "422",
  });
}
