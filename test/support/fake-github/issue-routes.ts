// Issues and their comments (a pull request is an issue too), comment edits in place, and
// reactions on comments (validated against GitHub's eight reaction contents).

import { notFound } from "./github-errors.js";
import { checkRepository, intParam, paginate, requireString, route, type ApiRequest, type Route } from "./router.js";

const ISSUES = "/repos/:owner/:repo/issues";

export const issueRoutes: Route[] = [
  route("GET", `${ISSUES}/comments/:comment_id`, "issues.getComment", (req) => {
    checkRepository(req);
    return { status: 200, body: req.shapes.comment(req.state.commentOrThrow(intParam(req, "comment_id"))) };
  }),

  route("PATCH", `${ISSUES}/comments/:comment_id`, "issues.updateComment", (req) => {
    checkRepository(req);
    const comment = req.state.updateComment(intParam(req, "comment_id"), req.body.body as string);
    return { status: 200, body: req.shapes.comment(comment) };
  }),

  route("DELETE", `${ISSUES}/comments/:comment_id`, "issues.deleteComment", (req) => {
    checkRepository(req);
    const id = intParam(req, "comment_id");
    req.state.commentOrThrow(id);
    req.state.comments.delete(id);
    return { status: 204 };
  }),

  route("POST", `${ISSUES}/comments/:comment_id/reactions`, "reactions.createForIssueComment", (req) => {
    checkRepository(req);
    const { reaction, created } = req.state.react(
      intParam(req, "comment_id"),
      String(req.body.content ?? ""),
      req.state.actorLogin(req.actor),
    );
    return { status: created ? 201 : 200, body: req.shapes.reaction(reaction) };
  }),

  route("GET", `${ISSUES}/comments/:comment_id/reactions`, "reactions.listForIssueComment", (req) => {
    checkRepository(req);
    const id = intParam(req, "comment_id");
    req.state.commentOrThrow(id);
    const content = req.query.get("content");
    const list = req.state.reactionsOn(id).filter((r) => !content || r.content === content);
    return paginate(
      req,
      list.map((r) => req.shapes.reaction(r)),
    );
  }),

  route("DELETE", `${ISSUES}/comments/:comment_id/reactions/:reaction_id`, "reactions.deleteForIssueComment", (req) => {
    checkRepository(req);
    const reaction = req.state.reactions.get(intParam(req, "reaction_id"));
    if (!reaction || reaction.commentId !== intParam(req, "comment_id")) throw notFound();
    req.state.reactions.delete(reaction.id);
    return { status: 204 };
  }),

  route("POST", ISSUES, "issues.create", (req) => {
    checkRepository(req);
    const issue = req.state.createIssue({
      title: requireString(req, "title", "Issue"),
      body: typeof req.body.body === "string" ? req.body.body : null,
      user: req.state.actorLogin(req.actor),
    });
    return { status: 201, body: req.shapes.issue(issue) };
  }),

  route("GET", `${ISSUES}/:issue_number`, "issues.get", (req) => {
    checkRepository(req);
    return { status: 200, body: req.shapes.issue(req.state.issueOrThrow(intParam(req, "issue_number"))) };
  }),

  route("GET", `${ISSUES}/:issue_number/comments`, "issues.listComments", (req) => {
    checkRepository(req);
    const n = req.state.issueOrThrow(intParam(req, "issue_number")).number;
    return paginate(
      req,
      req.state.commentsOn(n).map((c) => req.shapes.comment(c)),
    );
  }),

  route("POST", `${ISSUES}/:issue_number/comments`, "issues.createComment", (req) => {
    checkRepository(req);
    const comment = req.state.createComment({
      issueNumber: intParam(req, "issue_number"),
      body: req.body.body as string,
      user: req.state.actorLogin(req.actor),
      viaApp: writtenByApp(req),
    });
    return { status: 201, body: req.shapes.comment(comment) };
  }),
];

function writtenByApp(req: ApiRequest): boolean {
  return req.actor.kind === "installation" || req.actor.kind === "app";
}
