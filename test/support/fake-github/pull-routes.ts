// Pull requests: open, read, list by head branch, request reviewers, reviews (states upper case
// in REST), files and commits. A pull request's head follows its branch, as on GitHub.

import { invalidRequest, notFound, unprocessable } from "./github-errors.js";
import { checkIssueBody, isoNow } from "./repository-state.js";
import { checkRepository, intParam, paginate, route, type ApiRequest, type Route } from "./router.js";
import { encodePath } from "./rest-shapes.js";

const PULLS = "/repos/:owner/:repo/pulls";

const REVIEW_EVENTS: Record<string, "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED"> = {
  APPROVE: "APPROVED",
  REQUEST_CHANGES: "CHANGES_REQUESTED",
  COMMENT: "COMMENTED",
};

export const pullRoutes: Route[] = [
  route("POST", PULLS, "pulls.create", (req) => {
    checkRepository(req);
    const { title, head, base, body, draft } = req.body;
    if (typeof head !== "string") throw invalidRequest(`"head" wasn't supplied.`);
    if (typeof base !== "string") throw invalidRequest(`"base" wasn't supplied.`);
    const pr = req.state.createPullRequest({
      title: typeof title === "string" ? title : "",
      head,
      base,
      body: typeof body === "string" ? body : null,
      draft: draft === true,
      user: req.state.actorLogin(req.actor),
    });
    return { status: 201, body: req.shapes.pull(pr) };
  }),

  route("GET", PULLS, "pulls.list", (req) => {
    checkRepository(req);
    const state = req.query.get("state") ?? "open";
    const head = req.query.get("head");
    const base = req.query.get("base");
    // head must be "user:ref-name". GitHub silently ignores a bare branch name and lists every
    // pull request, a classic trap, so the fake does the same. Another user's fork matches none.
    let headRef: string | null | undefined;
    if (head?.includes(":")) {
      const [user, ...rest] = head.split(":");
      headRef = user.toLowerCase() === req.state.owner.toLowerCase() ? rest.join(":") : null;
    }
    const list = [...req.state.pulls.values()]
      .filter((pr) => {
        const issue = req.state.issues.get(pr.number)!;
        if (state !== "all" && issue.state !== state) return false;
        if (headRef !== undefined && pr.headRef !== headRef) return false;
        if (base && pr.baseRef !== base) return false;
        return true;
      })
      .sort((a, b) => (req.query.get("direction") === "asc" ? a.number - b.number : b.number - a.number))
      .map((pr) => req.shapes.pull(pr));
    return paginate(req, list);
  }),

  route("GET", `${PULLS}/:pull_number`, "pulls.get", (req) => {
    checkRepository(req);
    return { status: 200, body: req.shapes.pull(req.state.pullOrThrow(intParam(req, "pull_number"))) };
  }),

  route("PATCH", `${PULLS}/:pull_number`, "pulls.update", (req) => {
    checkRepository(req);
    const pr = req.state.pullOrThrow(intParam(req, "pull_number"));
    const issue = req.state.issues.get(pr.number)!;
    const { title, body, state } = req.body;
    if (typeof title === "string") issue.title = title;
    if (typeof body === "string" || body === null) {
      checkIssueBody(body, "PullRequest");
      issue.body = body;
    }
    if (state === "closed" || state === "open") {
      issue.state = state;
      issue.closedAt = state === "closed" ? isoNow() : null;
      if (state === "open") pr.headSha = req.state.branchSha(pr.headRef) ?? pr.headSha;
    }
    issue.updatedAt = isoNow();
    return { status: 200, body: req.shapes.pull(pr) };
  }),

  route("POST", `${PULLS}/:pull_number/requested_reviewers`, "pulls.requestReviewers", (req) => {
    checkRepository(req);
    const n = intParam(req, "pull_number");
    req.state.requestReviewers(n, stringList(req, "reviewers"), stringList(req, "team_reviewers"));
    return { status: 201, body: req.shapes.pull(req.state.pullOrThrow(n)) };
  }),

  route("GET", `${PULLS}/:pull_number/requested_reviewers`, "pulls.listRequestedReviewers", (req) => {
    checkRepository(req);
    const pr = req.state.pullOrThrow(intParam(req, "pull_number"));
    return {
      status: 200,
      body: { users: pr.requestedReviewers.map((u) => req.shapes.user(u)), teams: pr.requestedTeams.map((t) => req.shapes.team(t)) },
    };
  }),

  route("DELETE", `${PULLS}/:pull_number/requested_reviewers`, "pulls.removeRequestedReviewers", (req) => {
    checkRepository(req);
    const pr = req.state.pullOrThrow(intParam(req, "pull_number"));
    const users = stringList(req, "reviewers").map((u) => u.toLowerCase());
    const teams = stringList(req, "team_reviewers");
    pr.requestedReviewers = pr.requestedReviewers.filter((u) => !users.includes(u.toLowerCase()));
    pr.requestedTeams = pr.requestedTeams.filter((t) => !teams.includes(t));
    return { status: 200, body: req.shapes.pull(pr) };
  }),

  route("GET", `${PULLS}/:pull_number/reviews`, "pulls.listReviews", (req) => {
    checkRepository(req);
    const n = req.state.pullOrThrow(intParam(req, "pull_number")).number;
    const list = [...req.state.reviews.values()].filter((r) => r.pullNumber === n && r.state !== "PENDING");
    return paginate(
      req,
      list.map((r) => req.shapes.review(r)),
    );
  }),

  route("GET", `${PULLS}/:pull_number/reviews/:review_id`, "pulls.getReview", (req) => {
    checkRepository(req);
    const review = req.state.reviews.get(intParam(req, "review_id"));
    if (!review || review.pullNumber !== intParam(req, "pull_number")) throw notFound();
    return { status: 200, body: req.shapes.review(review) };
  }),

  route("POST", `${PULLS}/:pull_number/reviews`, "pulls.createReview", (req) => {
    checkRepository(req);
    const event = req.body.event;
    if (event !== undefined && (typeof event !== "string" || !(event in REVIEW_EVENTS))) {
      throw unprocessable(`event must be one of APPROVE, REQUEST_CHANGES, COMMENT, not ${String(event)}`);
    }
    const review = req.state.submitReview({
      pullNumber: intParam(req, "pull_number"),
      reviewer: req.state.actorLogin(req.actor),
      state: event === undefined ? "PENDING" : REVIEW_EVENTS[event as string],
      body: typeof req.body.body === "string" ? req.body.body : undefined,
      commitId: typeof req.body.commit_id === "string" ? req.body.commit_id : undefined,
    });
    return { status: 200, body: req.shapes.review(review) };
  }),

  route("PUT", `${PULLS}/:pull_number/reviews/:review_id/dismissals`, "pulls.dismissReview", (req) => {
    checkRepository(req);
    if (typeof req.body.message !== "string") throw invalidRequest(`"message" wasn't supplied.`);
    const review = req.state.dismissReview(intParam(req, "pull_number"), intParam(req, "review_id"));
    return { status: 200, body: req.shapes.review(review) };
  }),

  route("GET", `${PULLS}/:pull_number/files`, "pulls.listFiles", (req) => {
    checkRepository(req);
    const files = req.state.pullFiles(intParam(req, "pull_number")).map((f) => ({
      sha: f.sha,
      filename: f.filename,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      changes: f.additions + f.deletions,
      blob_url: `${req.shapes.repoHtml}/blob/${f.sha}/${encodePath(f.filename)}`,
      raw_url: `${req.shapes.repoHtml}/raw/${f.sha}/${encodePath(f.filename)}`,
      contents_url: `${req.shapes.repoApi}/contents/${encodePath(f.filename)}?ref=${f.sha}`,
    }));
    return paginate(req, files);
  }),

  route("GET", `${PULLS}/:pull_number/commits`, "pulls.listCommits", (req) => {
    checkRepository(req);
    const pr = req.state.pullOrThrow(intParam(req, "pull_number"));
    const git = req.state.git;
    const onBase = git.ancestors(pr.baseSha);
    // Oldest first: walk first parents from the head, then reverse.
    const chain = [];
    for (let sha: string | undefined = pr.headSha; sha && !onBase.has(sha); sha = git.commit(sha)?.parents[0]) {
      chain.push(git.commit(sha)!);
    }
    return paginate(
      req,
      chain.reverse().map((c) => req.shapes.repoCommit(c)),
    );
  }),
];

function stringList(req: ApiRequest, field: string): string[] {
  const v = req.body[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalidRequest(`"${field}" must be an array of strings.`);
  return v as string[];
}
