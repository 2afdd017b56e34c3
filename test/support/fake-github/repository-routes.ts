// Repository-level endpoints: the repository itself, branches and commits, the contents API
// (one commit per file), collaborator permissions and team membership.

import type { FlatEntry, TreeObject } from "./git-store.js";
import { conflict, GitHubApiError, invalidRequest, notFound } from "./github-errors.js";
import type { PermissionLevel } from "./repository-state.js";
import { checkRepository, paginate, route, type ApiRequest, type Route } from "./router.js";
import { encodePath, type Json } from "./rest-shapes.js";

const REPO = "/repos/:owner/:repo";

/** What the permission endpoint reports for each role: maintain counts as write, triage as read. */
const REPORTED: Record<PermissionLevel, "admin" | "write" | "read" | "none"> = {
  admin: "admin",
  maintain: "write",
  write: "write",
  triage: "read",
  read: "read",
  none: "none",
};

export const repositoryRoutes: Route[] = [
  route("GET", REPO, "repos.get", (req) => {
    checkRepository(req);
    return { status: 200, body: req.shapes.repository() };
  }),

  route("GET", `${REPO}/branches/*branch`, "repos.getBranch", (req) => {
    checkRepository(req);
    const sha = req.state.branchSha(req.params.branch);
    if (!sha) throw new GitHubApiError(404, { message: "Branch not found", status: "404" });
    return {
      status: 200,
      body: {
        name: req.params.branch,
        commit: req.shapes.repoCommit(req.state.git.commit(sha)!),
        protected: false,
        _links: {
          self: `${req.shapes.repoApi}/branches/${encodePath(req.params.branch)}`,
          html: `${req.shapes.repoHtml}/tree/${req.params.branch}`,
        },
      },
    };
  }),

  route("GET", `${REPO}/commits/*ref`, "repos.getCommit", (req) => {
    checkRepository(req);
    const commit = req.state.resolveCommit(req.params.ref);
    if (!commit) throw new GitHubApiError(422, { message: `No commit found for SHA: ${req.params.ref}`, status: "422" });
    return { status: 200, body: req.shapes.repoCommit(req.state.git.commit(commit)!) };
  }),

  // Commits reachable from head and not from base (from their merge base), oldest first. Without page or
  // per_page GitHub answers at most 250 commits; with them it paginates (per_page at most 100).
  route("GET", `${REPO}/compare/*basehead`, "repos.compareCommitsWithBasehead", (req) => {
    checkRepository(req);
    const [baseRef, headRef, extra] = req.params.basehead.split("...");
    if (!baseRef || !headRef || extra !== undefined) throw notFound();
    const base = req.state.resolveCommit(baseRef);
    const head = req.state.resolveCommit(headRef);
    if (!base || !head) throw notFound();
    const git = req.state.git;
    const fromBase = git.ancestors(base);
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (sha: string) => {
      const stack = [sha];
      while (stack.length) {
        const s = stack.pop()!;
        if (seen.has(s) || fromBase.has(s)) continue;
        seen.add(s);
        order.push(s);
        stack.push(...(git.commit(s)?.parents ?? []));
      }
    };
    visit(head);
    const commits = order.reverse().map((sha) => req.shapes.repoCommit(git.commit(sha)!));
    const mergeBase = git.mergeBase(base, head);
    const behind = [...fromBase].filter((s) => !git.ancestors(head).has(s)).length;
    const wrap = (page: unknown[]) => ({
      url: `${req.shapes.repoApi}/compare/${req.params.basehead}`,
      status: behind === 0 ? (commits.length ? "ahead" : "identical") : commits.length ? "diverged" : "behind",
      ahead_by: commits.length,
      behind_by: behind,
      total_commits: commits.length,
      merge_base_commit: mergeBase ? req.shapes.repoCommit(git.commit(mergeBase)!) : null,
      base_commit: req.shapes.repoCommit(git.commit(base)!),
      commits: page,
      files: [],
    });
    if (!req.query.has("page") && !req.query.has("per_page")) return { status: 200, body: wrap(commits.slice(0, 250)) };
    return paginate(req, commits, wrap);
  }),

  route("GET", `${REPO}/contents`, "repos.getContent", (req) => getContent(req, "")),
  route("GET", `${REPO}/contents/*path`, "repos.getContent", (req) => getContent(req, req.params.path)),

  route("PUT", `${REPO}/contents/*path`, "repos.createOrUpdateFileContents", (req) => {
    checkRepository(req);
    const path = req.params.path;
    const { message, content, sha } = req.body;
    if (typeof message !== "string") throw invalidRequest(`"message" wasn't supplied.`);
    if (typeof content !== "string") throw invalidRequest(`"content" wasn't supplied.`);
    const { branch, head } = targetBranch(req);
    const existing = req.state.git.flatten(req.state.git.commit(head)!.tree).get(path);
    if (existing && sha === undefined) throw invalidRequest(`"sha" wasn't supplied.`);
    if (existing && sha !== existing.sha) throw conflict(`${path} does not match ${String(sha)}`);
    const blob = req.state.git.putBlob(Buffer.from(content, "base64"));
    const commit = commitOneFile(req, branch, head, path, { mode: "100644", type: "blob", sha: blob.sha }, message);
    const file = req.shapes.contentFile(path, blob.sha, blob.content, branch);
    delete file.content;
    delete file.encoding;
    return { status: existing ? 200 : 201, body: { content: file, commit: req.shapes.gitCommit(commit) } };
  }),

  route("DELETE", `${REPO}/contents/*path`, "repos.deleteFile", (req) => {
    checkRepository(req);
    const path = req.params.path;
    const { message, sha } = req.body;
    if (typeof message !== "string") throw invalidRequest(`"message" wasn't supplied.`);
    if (typeof sha !== "string") throw invalidRequest(`"sha" wasn't supplied.`);
    const { branch, head } = targetBranch(req);
    const existing = req.state.git.flatten(req.state.git.commit(head)!.tree).get(path);
    if (!existing) throw notFound();
    if (existing.sha !== sha) throw conflict(`${path} does not match ${sha}`);
    const commit = commitOneFile(req, branch, head, path, null, message);
    return { status: 200, body: { content: null, commit: req.shapes.gitCommit(commit) } };
  }),

  route("GET", `${REPO}/collaborators/:username/permission`, "repos.getCollaboratorPermissionLevel", (req) => {
    checkRepository(req);
    const level = req.state.permissionOf(req.params.username);
    return {
      status: 200,
      body: { permission: REPORTED[level], role_name: level, user: req.shapes.user(req.params.username) },
    };
  }),

  route("GET", `${REPO}/collaborators/:username`, "repos.checkCollaborator", (req) => {
    checkRepository(req);
    if (req.state.permissionOf(req.params.username) === "none") throw notFound();
    return { status: 204 };
  }),

  route("GET", "/orgs/:org/teams/:team_slug/memberships/:username", "teams.getMembershipForUserInOrg", (req) => {
    const members = req.state.teams.get(`${req.params.org}/${req.params.team_slug}`.toLowerCase());
    const login = req.params.username.toLowerCase();
    if (!members || ![...members].some((m) => m.toLowerCase() === login)) throw notFound();
    return {
      status: 200,
      body: {
        url: `${req.shapes.api}/organizations/teams/${req.params.team_slug}/memberships/${req.params.username}`,
        role: "member",
        state: "active",
      },
    };
  }),
];

function targetBranch(req: ApiRequest): { branch: string; head: string } {
  const branch = typeof req.body.branch === "string" ? req.body.branch : req.state.defaultBranch;
  const head = req.state.branchSha(branch);
  if (!head) throw new GitHubApiError(404, { message: `Branch ${branch} not found`, status: "404" });
  return { branch, head };
}

function commitOneFile(req: ApiRequest, branch: string, head: string, path: string, entry: FlatEntry | null, message: string) {
  const git = req.state.git;
  const files = git.applyChanges(git.flatten(git.commit(head)!.tree), [
    { path, mode: entry?.mode ?? "100644", type: entry?.type ?? "blob", sha: entry?.sha ?? null },
  ]);
  const tree = git.buildTree(files);
  const who = req.state.person(req.state.actorLogin(req.actor));
  const author = namedPerson(req.body.author) ?? who;
  const committer = namedPerson(req.body.committer) ?? author;
  const commit = git.putCommit({ tree: tree.sha, parents: [head], message, author, committer });
  req.state.setRef(`refs/heads/${branch}`, commit.sha);
  return commit;
}

function namedPerson(value: unknown) {
  const v = value as { name?: unknown; email?: unknown } | undefined;
  if (!v || typeof v.name !== "string" || typeof v.email !== "string") return undefined;
  return { name: v.name, email: v.email, date: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") };
}

function getContent(req: ApiRequest, path: string) {
  checkRepository(req);
  const ref = req.query.get("ref") ?? req.state.defaultBranch;
  const sha = req.state.resolveCommit(ref);
  if (!sha) throw new GitHubApiError(404, { message: `No commit found for the ref ${ref}`, status: "404" });
  const git = req.state.git;
  const cleanPath = path.replace(/^\/+|\/+$/g, "");
  let tree: TreeObject = git.tree(git.commit(sha)!.tree)!;
  if (cleanPath !== "") {
    const parts = cleanPath.split("/");
    for (let i = 0; i < parts.length; i++) {
      const entry = tree.entries.find((e) => e.name === parts[i]);
      if (!entry) throw notFound();
      const last = i === parts.length - 1;
      if (entry.type === "tree") {
        tree = git.tree(entry.sha)!;
        continue;
      }
      if (!last || entry.type !== "blob") throw notFound();
      return { status: 200, body: req.shapes.contentFile(cleanPath, entry.sha, git.blob(entry.sha)!.content, ref) };
    }
  }
  const listing: Json[] = tree.entries.map((e) => {
    const p = cleanPath === "" ? e.name : `${cleanPath}/${e.name}`;
    const url = `${req.shapes.repoApi}/contents/${encodePath(p)}?ref=${encodeURIComponent(ref)}`;
    const gitUrl = `${req.shapes.repoApi}/git/${e.type === "tree" ? "trees" : "blobs"}/${e.sha}`;
    const htmlUrl = `${req.shapes.repoHtml}/${e.type === "tree" ? "tree" : "blob"}/${ref}/${encodePath(p)}`;
    return {
      type: e.type === "tree" ? "dir" : e.type === "commit" ? "submodule" : "file",
      size: e.type === "blob" ? git.blob(e.sha)!.content.length : 0,
      name: e.name,
      path: p,
      sha: e.sha,
      url,
      git_url: gitUrl,
      html_url: htmlUrl,
      download_url: e.type === "blob" ? `${req.shapes.html}/raw/${req.state.owner}/${req.state.repo}/${ref}/${encodePath(p)}` : null,
      _links: { self: url, git: gitUrl, html: htmlUrl },
    };
  });
  return { status: 200, body: listing };
}
