// The JSON the fake answers with, shaped after GitHub's REST documentation (a GitHub Enterprise
// Server at http://127.0.0.1:PORT, API under /api/v3), so clients parse what they will parse live.

import type { CommitObject } from "./git-store.js";
import type {
  CheckRunRecord,
  CommentRecord,
  IssueRecord,
  PullRecord,
  ReactionRecord,
  RepositoryState,
  ReviewRecord,
  StatusRecord,
} from "./repository-state.js";

export type Json = Record<string, unknown>;

export class RestShapes {
  constructor(
    private readonly state: RepositoryState,
    /** http://127.0.0.1:PORT/api/v3 */
    readonly api: string,
    /** http://127.0.0.1:PORT */
    readonly html: string,
  ) {}

  get repoApi(): string {
    return `${this.api}/repos/${this.state.owner}/${this.state.repo}`;
  }

  get repoHtml(): string {
    return `${this.html}/${this.state.owner}/${this.state.repo}`;
  }

  nodeId(type: string, id: number | string): string {
    return Buffer.from(`0${type.length}:${type}${id}`).toString("base64");
  }

  linkedUser(email: string): Json | null {
    const login = this.state.accountOfEmail(email);
    return login ? this.user(login) : null;
  }

  user(login: string): Json {
    const u = this.state.user(login);
    return {
      login: u.login,
      id: u.id,
      node_id: this.nodeId(u.type === "Bot" ? "Bot" : "User", u.id),
      avatar_url: `${this.html}/avatars/u/${u.id}`,
      gravatar_id: "",
      url: `${this.api}/users/${encodeURIComponent(u.login)}`,
      html_url: `${this.html}/${u.type === "Bot" ? "apps/" + u.login.replace(/\[bot\]$/, "") : u.login}`,
      type: u.type,
      site_admin: false,
    };
  }

  app(): Json {
    const a = this.state.app;
    return {
      id: a.id,
      slug: a.slug,
      node_id: this.nodeId("App", a.id),
      owner: this.user(this.state.owner),
      name: a.name,
      description: "",
      external_url: `${this.html}/apps/${a.slug}`,
      html_url: `${this.html}/apps/${a.slug}`,
      created_at: this.state.createdAt,
      updated_at: this.state.createdAt,
      permissions: { checks: "write", contents: "write", issues: "write", metadata: "read", pull_requests: "write", statuses: "write" },
      events: ["issue_comment", "pull_request", "pull_request_review"],
    };
  }

  installation(): Json {
    const i = this.state.installation;
    return {
      id: i.id,
      account: this.user(i.account),
      repository_selection: "selected",
      access_tokens_url: `${this.api}/app/installations/${i.id}/access_tokens`,
      repositories_url: `${this.api}/installation/repositories`,
      html_url: `${this.html}/settings/installations/${i.id}`,
      app_id: this.state.app.id,
      app_slug: this.state.app.slug,
      target_id: this.state.user(i.account).id,
      target_type: "User",
      permissions: this.app().permissions,
      events: this.app().events,
      created_at: i.createdAt,
      updated_at: i.createdAt,
      single_file_name: null,
      suspended_at: null,
      suspended_by: null,
    };
  }

  /** A PR head in a fork: another owner's repository of the same name, marked as a fork of this one. */
  forkBranch(forkOwner: string, ref: string, sha: string): Json {
    const repository = this.repository() as Record<string, unknown>;
    return {
      label: `${forkOwner}:${ref}`,
      ref,
      sha,
      user: this.user(forkOwner),
      repo: {
        ...repository,
        id: (this.state.repositoryId as number) + 1000,
        full_name: `${forkOwner}/${this.state.repo}`,
        owner: this.user(forkOwner),
        html_url: `${this.html}/${forkOwner}/${this.state.repo}`,
        url: `${this.api}/repos/${forkOwner}/${this.state.repo}`,
        fork: true,
      },
    };
  }

  repository(): Json {
    const s = this.state;
    const api = this.repoApi;
    return {
      id: s.repositoryId,
      node_id: this.nodeId("Repository", s.repositoryId),
      name: s.repo,
      full_name: `${s.owner}/${s.repo}`,
      private: true,
      owner: this.user(s.owner),
      html_url: this.repoHtml,
      description: null,
      fork: false,
      url: api,
      git_refs_url: `${api}/git/refs{/sha}`,
      trees_url: `${api}/git/trees{/sha}`,
      blobs_url: `${api}/git/blobs{/sha}`,
      git_commits_url: `${api}/git/commits{/sha}`,
      statuses_url: `${api}/statuses/{sha}`,
      contents_url: `${api}/contents/{+path}`,
      pulls_url: `${api}/pulls{/number}`,
      issues_url: `${api}/issues{/number}`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      commits_url: `${api}/commits{/sha}`,
      created_at: s.createdAt,
      updated_at: s.createdAt,
      pushed_at: s.createdAt,
      git_url: `${this.repoHtml.replace(/^https?/, "git")}.git`,
      clone_url: `${this.repoHtml}.git`,
      homepage: null,
      size: 0,
      archived: false,
      disabled: false,
      visibility: "private",
      default_branch: s.defaultBranch,
      open_issues_count: [...s.issues.values()].filter((i) => i.state === "open").length,
      has_issues: true,
      topics: [],
      permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
    };
  }

  ref(ref: string, sha: string): Json {
    return {
      ref,
      node_id: this.nodeId("Ref", ref),
      url: `${this.repoApi}/git/${ref}`,
      object: { sha, type: "commit", url: `${this.repoApi}/git/commits/${sha}` },
    };
  }

  gitCommit(c: CommitObject): Json {
    return {
      sha: c.sha,
      node_id: this.nodeId("Commit", c.sha),
      url: `${this.repoApi}/git/commits/${c.sha}`,
      html_url: `${this.repoHtml}/commit/${c.sha}`,
      author: c.author,
      committer: c.committer,
      message: c.message,
      tree: { sha: c.tree, url: `${this.repoApi}/git/trees/${c.tree}` },
      parents: c.parents.map((p) => ({ sha: p, url: `${this.repoApi}/git/commits/${p}`, html_url: `${this.repoHtml}/commit/${p}` })),
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    };
  }

  /** The repos-commit shape (GET /commits/:ref), which wraps the git commit. */
  repoCommit(c: CommitObject): Json {
    const g = this.gitCommit(c);
    return {
      sha: c.sha,
      node_id: g.node_id,
      url: `${this.repoApi}/commits/${c.sha}`,
      html_url: g.html_url,
      commit: {
        author: c.author,
        committer: c.committer,
        message: c.message,
        tree: g.tree,
        url: g.url,
        comment_count: 0,
        verification: g.verification,
      },
      // GitHub links a commit to accounts by email: null when no account has it.
      author: this.linkedUser(c.author.email),
      committer: this.linkedUser(c.committer.email),
      parents: g.parents,
    };
  }

  issue(i: IssueRecord): Json {
    const url = `${this.repoApi}/issues/${i.number}`;
    return {
      url,
      repository_url: this.repoApi,
      comments_url: `${url}/comments`,
      html_url: `${this.repoHtml}/${i.isPullRequest ? "pull" : "issues"}/${i.number}`,
      id: i.id,
      node_id: this.nodeId("Issue", i.id),
      number: i.number,
      title: i.title,
      user: this.user(i.user),
      labels: [],
      state: i.state,
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: this.state.commentsOn(i.number).length,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      author_association: this.state.association(i.user),
      body: i.body,
      ...(i.isPullRequest
        ? {
            pull_request: {
              url: `${this.repoApi}/pulls/${i.number}`,
              html_url: `${this.repoHtml}/pull/${i.number}`,
              diff_url: `${this.repoHtml}/pull/${i.number}.diff`,
              patch_url: `${this.repoHtml}/pull/${i.number}.patch`,
              merged_at: this.state.pulls.get(i.number)?.mergedAt ?? null,
            },
          }
        : {}),
    };
  }

  team(slug: string): Json {
    const id = [...slug].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
    return {
      id,
      node_id: this.nodeId("Team", id),
      url: `${this.api}/orgs/${this.state.owner}/teams/${slug}`,
      html_url: `${this.html}/orgs/${this.state.owner}/teams/${slug}`,
      name: slug,
      slug,
      description: null,
      privacy: "closed",
      permission: "pull",
      parent: null,
    };
  }

  pull(pr: PullRecord): Json {
    const s = this.state;
    const i = s.issues.get(pr.number)!;
    const url = `${this.repoApi}/pulls/${pr.number}`;
    const html = `${this.repoHtml}/pull/${pr.number}`;
    const files = s.pullFiles(pr.number);
    const commits = s.git.ancestors(pr.headSha);
    for (const a of s.git.ancestors(pr.baseSha)) commits.delete(a);
    const branch = (ref: string, sha: string) => ({
      label: `${s.owner}:${ref}`,
      ref,
      sha,
      user: this.user(s.owner),
      repo: this.repository(),
    });
    return {
      url,
      id: pr.id,
      node_id: this.nodeId("PullRequest", pr.id),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${this.repoApi}/issues/${pr.number}`,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      comments_url: `${this.repoApi}/issues/${pr.number}/comments`,
      statuses_url: `${this.repoApi}/statuses/${pr.headSha}`,
      number: pr.number,
      state: i.state,
      locked: false,
      title: i.title,
      user: this.user(i.user),
      body: i.body,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      merged_at: pr.mergedAt,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: pr.requestedReviewers.map((r) => this.user(r)),
      requested_teams: pr.requestedTeams.map((t) => this.team(t)),
      head: pr.forkOwner ? this.forkBranch(pr.forkOwner, pr.headRef, pr.headSha) : branch(pr.headRef, pr.headSha),
      base: branch(pr.baseRef, pr.baseSha),
      _links: {
        self: { href: url },
        html: { href: html },
        issue: { href: `${this.repoApi}/issues/${pr.number}` },
        comments: { href: `${this.repoApi}/issues/${pr.number}/comments` },
        statuses: { href: `${this.repoApi}/statuses/${pr.headSha}` },
      },
      author_association: s.association(i.user),
      auto_merge: null,
      draft: pr.draft,
      merged: pr.mergedAt !== null,
      mergeable: true,
      rebaseable: true,
      mergeable_state: "clean",
      merged_by: null,
      comments: s.commentsOn(pr.number).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: commits.size,
      additions: files.reduce((n, f) => n + f.additions, 0),
      deletions: files.reduce((n, f) => n + f.deletions, 0),
      changed_files: files.length,
    };
  }

  review(r: ReviewRecord): Json {
    const html = `${this.repoHtml}/pull/${r.pullNumber}#pullrequestreview-${r.id}`;
    return {
      id: r.id,
      node_id: this.nodeId("PullRequestReview", r.id),
      user: this.user(r.user),
      body: r.body,
      state: r.state,
      html_url: html,
      pull_request_url: `${this.repoApi}/pulls/${r.pullNumber}`,
      author_association: this.state.association(r.user),
      _links: { html: { href: html }, pull_request: { href: `${this.repoApi}/pulls/${r.pullNumber}` } },
      submitted_at: r.submittedAt,
      commit_id: r.commitId,
    };
  }

  comment(c: CommentRecord): Json {
    const url = `${this.repoApi}/issues/comments/${c.id}`;
    const issue = this.state.issues.get(c.issueNumber);
    const reactions = this.state.reactionsOn(c.id);
    const counts: Record<string, number> = { "+1": 0, "-1": 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 };
    for (const r of reactions) counts[r.content]++;
    return {
      id: c.id,
      node_id: this.nodeId("IssueComment", c.id),
      url,
      html_url: `${this.repoHtml}/${issue?.isPullRequest ? "pull" : "issues"}/${c.issueNumber}#issuecomment-${c.id}`,
      body: c.body,
      user: this.user(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      issue_url: `${this.repoApi}/issues/${c.issueNumber}`,
      author_association: this.state.association(c.user),
      performed_via_github_app: c.viaApp ? this.app() : null,
      reactions: { url: `${url}/reactions`, total_count: reactions.length, ...counts },
    };
  }

  reaction(r: ReactionRecord): Json {
    return { id: r.id, node_id: this.nodeId("Reaction", r.id), user: this.user(r.user), content: r.content, created_at: r.createdAt };
  }

  checkRun(c: CheckRunRecord): Json {
    const url = `${this.repoApi}/check-runs/${c.id}`;
    const pulls = [...this.state.pulls.values()].filter(
      (p) => p.headSha === c.headSha && this.state.issues.get(p.number)!.state === "open",
    );
    return {
      id: c.id,
      head_sha: c.headSha,
      node_id: this.nodeId("CheckRun", c.id),
      external_id: c.externalId,
      url,
      html_url: `${this.repoHtml}/runs/${c.id}`,
      details_url: c.detailsUrl ?? `${this.repoHtml}/runs/${c.id}`,
      status: c.status,
      conclusion: c.conclusion,
      started_at: c.startedAt,
      completed_at: c.completedAt,
      output: {
        title: c.output.title,
        summary: c.output.summary,
        text: c.output.text,
        annotations_count: c.annotations.length,
        annotations_url: `${url}/annotations`,
      },
      name: c.name,
      check_suite: { id: c.checkSuiteId },
      app: this.app(),
      pull_requests: pulls.map((p) => ({
        url: `${this.repoApi}/pulls/${p.number}`,
        id: p.id,
        number: p.number,
        head: { ref: p.headRef, sha: p.headSha, repo: { id: this.state.repositoryId, url: this.repoApi, name: this.state.repo } },
        base: { ref: p.baseRef, sha: p.baseSha, repo: { id: this.state.repositoryId, url: this.repoApi, name: this.state.repo } },
      })),
    };
  }

  status(s: StatusRecord): Json {
    return {
      url: `${this.repoApi}/statuses/${s.sha}`,
      avatar_url: `${this.html}/avatars/u/${this.state.user(s.creator).id}`,
      id: s.id,
      node_id: this.nodeId("StatusContext", s.id),
      state: s.state,
      description: s.description,
      target_url: s.targetUrl,
      context: s.context,
      created_at: s.createdAt,
      updated_at: s.updatedAt,
      creator: this.user(s.creator),
    };
  }

  contentFile(path: string, sha: string, content: Buffer, ref: string): Json {
    const name = path.split("/").pop()!;
    const url = `${this.repoApi}/contents/${encodePath(path)}?ref=${encodeURIComponent(ref)}`;
    const gitUrl = `${this.repoApi}/git/blobs/${sha}`;
    const htmlUrl = `${this.repoHtml}/blob/${ref}/${encodePath(path)}`;
    return {
      type: "file",
      encoding: "base64",
      size: content.length,
      name,
      path,
      content: wrapBase64(content),
      sha,
      url,
      git_url: gitUrl,
      html_url: htmlUrl,
      download_url: `${this.html}/raw/${this.state.owner}/${this.state.repo}/${ref}/${encodePath(path)}`,
      _links: { self: url, git: gitUrl, html: htmlUrl },
    };
  }
}

/** GitHub wraps base64 content at 60 characters per line. */
export function wrapBase64(content: Buffer): string {
  const b64 = content.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 60) lines.push(b64.slice(i, i + 60));
  return lines.join("\n") + (lines.length > 0 ? "\n" : "");
}

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
