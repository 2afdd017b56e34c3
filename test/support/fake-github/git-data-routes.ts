// The Git Data API: refs, commits, blobs and trees, which is how a client commits many files in
// one commit (get ref, get commit, create blobs, create tree on base_tree, create commit, create ref).

import { TREE_MODES, type FlatEntry, type TreeChange, type TreeEntryMode, type TreeEntryType, type TreeObject } from "./git-store.js";
import { invalidRequest, notFound, unprocessable } from "./github-errors.js";
import { isoNow } from "./repository-state.js";
import { checkRepository, route, type ApiRequest, type Route } from "./router.js";
import type { Json } from "./rest-shapes.js";

const REPO = "/repos/:owner/:repo";

export const gitDataRoutes: Route[] = [
  route("GET", `${REPO}/git/ref/*ref`, "git.getRef", (req) => {
    checkRepository(req);
    const full = `refs/${req.params.ref}`;
    const sha = req.state.refs.get(full);
    if (!sha) throw notFound();
    return { status: 200, body: req.shapes.ref(full, sha) };
  }),

  route("GET", `${REPO}/git/matching-refs/*ref`, "git.listMatchingRefs", (req) => {
    checkRepository(req);
    return { status: 200, body: refsWithPrefix(req, `refs/${req.params.ref}`) };
  }),

  // The older form: one ref when the name is exact, else every ref under that prefix.
  route("GET", `${REPO}/git/refs/*ref`, "git.getRefLegacy", (req) => {
    checkRepository(req);
    const full = `refs/${req.params.ref}`;
    const sha = req.state.refs.get(full);
    if (sha) return { status: 200, body: req.shapes.ref(full, sha) };
    const list = refsWithPrefix(req, `${full}/`);
    if (list.length === 0) throw notFound();
    return { status: 200, body: list };
  }),

  route("POST", `${REPO}/git/refs`, "git.createRef", (req) => {
    checkRepository(req);
    const ref = req.body.ref;
    const sha = req.body.sha;
    if (typeof ref !== "string") throw invalidRequest(`"ref" wasn't supplied.`);
    if (typeof sha !== "string") throw invalidRequest(`"sha" wasn't supplied.`);
    req.state.createRef(ref, sha);
    return { status: 201, body: req.shapes.ref(ref, sha) };
  }),

  route("PATCH", `${REPO}/git/refs/*ref`, "git.updateRef", (req) => {
    checkRepository(req);
    const full = `refs/${req.params.ref}`;
    const sha = req.body.sha;
    if (typeof sha !== "string") throw invalidRequest(`"sha" wasn't supplied.`);
    req.state.updateRef(full, sha, req.body.force === true);
    return { status: 200, body: req.shapes.ref(full, sha) };
  }),

  route("DELETE", `${REPO}/git/refs/*ref`, "git.deleteRef", (req) => {
    checkRepository(req);
    req.state.deleteRef(`refs/${req.params.ref}`);
    return { status: 204 };
  }),

  route("GET", `${REPO}/git/commits/:sha`, "git.getCommit", (req) => {
    checkRepository(req);
    const commit = req.state.git.commit(req.params.sha.toLowerCase());
    if (!commit) throw notFound();
    return { status: 200, body: req.shapes.gitCommit(commit) };
  }),

  route("POST", `${REPO}/git/commits`, "git.createCommit", (req) => {
    checkRepository(req);
    const { message, tree, parents = [] } = req.body;
    if (typeof message !== "string") throw invalidRequest(`"message" wasn't supplied.`);
    if (typeof tree !== "string") throw invalidRequest(`"tree" wasn't supplied.`);
    if (!req.state.git.tree(tree)) throw unprocessable("Tree SHA does not exist");
    if (!Array.isArray(parents) || parents.some((p) => typeof p !== "string" || !req.state.git.commit(p))) {
      throw unprocessable("Parent SHA does not exist or is not a commit object");
    }
    const login = req.state.actorLogin(req.actor);
    const author = person(req.body.author) ?? req.state.person(login);
    const committer = person(req.body.committer) ?? author;
    const commit = req.state.git.putCommit({ tree, parents: parents as string[], message, author, committer });
    return { status: 201, body: req.shapes.gitCommit(commit) };
  }),

  route("POST", `${REPO}/git/blobs`, "git.createBlob", (req) => {
    checkRepository(req);
    const { content, encoding = "utf-8" } = req.body;
    if (typeof content !== "string") throw invalidRequest(`"content" wasn't supplied.`);
    if (encoding !== "utf-8" && encoding !== "utf8" && encoding !== "base64") {
      throw invalidRequest(`encoding must be "utf-8" or "base64", not ${JSON.stringify(encoding)}.`);
    }
    const bytes = encoding === "base64" ? Buffer.from(content, "base64") : Buffer.from(content, "utf8");
    const blob = req.state.git.putBlob(bytes);
    return { status: 201, body: { sha: blob.sha, url: `${req.shapes.repoApi}/git/blobs/${blob.sha}` } };
  }),

  route("GET", `${REPO}/git/blobs/:sha`, "git.getBlob", (req) => {
    checkRepository(req);
    const blob = req.state.git.blob(req.params.sha.toLowerCase());
    if (!blob) throw notFound();
    return {
      status: 200,
      body: {
        sha: blob.sha,
        node_id: req.shapes.nodeId("Blob", blob.sha),
        size: blob.content.length,
        url: `${req.shapes.repoApi}/git/blobs/${blob.sha}`,
        content: blob.content.toString("base64").replace(/(.{60})/g, "$1\n"),
        encoding: "base64",
      },
    };
  }),

  route("POST", `${REPO}/git/trees`, "git.createTree", (req) => {
    checkRepository(req);
    const git = req.state.git;
    const baseTree = req.body.base_tree;
    let base = new Map<string, FlatEntry>();
    if (baseTree !== undefined && baseTree !== null) {
      if (typeof baseTree !== "string" || !git.tree(baseTree)) {
        throw unprocessable(`base_tree ${String(baseTree)} is not a valid tree oid`);
      }
      base = git.flatten(baseTree);
    }
    if (!Array.isArray(req.body.tree)) throw invalidRequest(`"tree" wasn't supplied.`);
    const changes = req.body.tree.map((entry: unknown) => treeChange(req, entry));
    const tree = git.buildTree(git.applyChanges(base, changes));
    return { status: 201, body: treeJson(req, tree, false) };
  }),

  route("GET", `${REPO}/git/trees/:sha`, "git.getTree", (req) => {
    checkRepository(req);
    const git = req.state.git;
    const key = req.params.sha;
    const tree = git.tree(key.toLowerCase()) ?? git.tree(req.state.git.commit(req.state.resolveCommit(key) ?? "")?.tree ?? "");
    if (!tree) throw notFound();
    const recursive = req.query.has("recursive") && !["0", "false"].includes(req.query.get("recursive") ?? "");
    return { status: 200, body: treeJson(req, tree, recursive) };
  }),
];

function refsWithPrefix(req: ApiRequest, prefix: string): Json[] {
  return [...req.state.refs.entries()]
    .filter(([name]) => name.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, sha]) => req.shapes.ref(name, sha));
}

function person(value: unknown) {
  if (value === undefined || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.name !== "string" || typeof v.email !== "string") {
    throw invalidRequest(`author and committer need "name" and "email".`);
  }
  const date = typeof v.date === "string" ? new Date(v.date).toISOString().replace(/\.\d{3}Z$/, "Z") : isoNow();
  return { name: v.name, email: v.email, date };
}

function treeChange(req: ApiRequest, entry: unknown): TreeChange {
  const e = entry as Record<string, unknown>;
  const git = req.state.git;
  const path = e.path;
  if (typeof path !== "string" || path === "") throw invalidRequest(`"tree.path" wasn't supplied.`);
  if (path.startsWith("/") || path.endsWith("/") || path.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw unprocessable(`tree.path contains a malformed path component: ${path}`);
  }
  const mode = e.mode as TreeEntryMode;
  if (!TREE_MODES.includes(mode)) throw unprocessable(`tree.mode must be one of ${TREE_MODES.join(", ")}, not ${String(e.mode)}`);
  const type = (e.type ?? (mode === "040000" ? "tree" : mode === "160000" ? "commit" : "blob")) as TreeEntryType;
  if (!["blob", "tree", "commit"].includes(type)) throw unprocessable(`tree.type must be blob, tree or commit, not ${String(e.type)}`);
  const hasContent = typeof e.content === "string";
  if (hasContent && "sha" in e && e.sha !== undefined) throw unprocessable("Must supply either tree.sha or tree.content, not both");
  if (hasContent) {
    if (type !== "blob") throw unprocessable("tree.content is only allowed for blobs");
    return { path, mode, type, sha: git.putBlob(Buffer.from(e.content as string, "utf8")).sha };
  }
  if (e.sha === null) return { path, mode, type, sha: null };
  if (typeof e.sha !== "string") throw unprocessable("Must supply either tree.sha or tree.content");
  const sha = e.sha.toLowerCase();
  const ok = type === "blob" ? !!git.blob(sha) : type === "tree" ? !!git.tree(sha) : /^[0-9a-f]{40}$/.test(sha);
  if (!ok) throw unprocessable(`tree.sha ${e.sha} is not a valid ${type}`);
  return { path, mode, type, sha };
}

function treeJson(req: ApiRequest, tree: TreeObject, recursive: boolean): Json {
  const git = req.state.git;
  const api = req.shapes.repoApi;
  const entries: Json[] = [];
  const walk = (t: TreeObject, prefix: string) => {
    for (const e of t.entries) {
      const path = prefix + e.name;
      const url = e.type === "blob" ? `${api}/git/blobs/${e.sha}` : e.type === "tree" ? `${api}/git/trees/${e.sha}` : undefined;
      entries.push({
        path,
        mode: e.mode,
        type: e.type,
        sha: e.sha,
        ...(e.type === "blob" ? { size: git.blob(e.sha)!.content.length } : {}),
        ...(url ? { url } : {}),
      });
      if (recursive && e.type === "tree") walk(git.tree(e.sha)!, `${path}/`);
    }
  };
  walk(tree, "");
  return { sha: tree.sha, url: `${api}/git/trees/${tree.sha}`, tree: entries, truncated: false };
}
