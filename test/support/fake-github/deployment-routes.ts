// Deployments waiting on a custom deployment protection rule, and the rule's answer
// (POST /repos/{o}/{r}/actions/runs/{run_id}/deployment_protection_rule), as GitHub takes it: only the
// App's installation may answer, only for an environment the workflow run waits on, `state` is
// "approved" or "rejected" (or absent, with a `comment`: a progress note), and once decided the rule
// is no longer pending. Every accepted answer is recorded for tests to assert on.

import { GitHubApiError, notFound, validationFailed } from "./github-errors.js";
import { isoNow, type RepositoryState } from "./repository-state.js";
import { checkRepository, intParam, requireString, route, type Route } from "./router.js";

const REPO = "/repos/:owner/:repo";
const DOC = "https://docs.github.com/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run";

/** A workflow run whose job targets an environment protected by the App. */
export interface WaitingDeployment {
  runId: number;
  deploymentId: number;
  environment: string;
  sha: string;
  ref: string;
  creator: string;
  createdAt: string;
  /** "waiting" until the App approves or rejects. */
  state: "waiting" | "approved" | "rejected";
}

/** One accepted answer of the App, in order. */
export interface DeploymentCallback {
  runId: number;
  environment: string;
  /** Absent for a comment-only answer (progress). */
  state?: "approved" | "rejected";
  comment?: string;
  actor: string;
  at: string;
}

interface DeploymentBook {
  waiting: Map<number, WaitingDeployment>;
  callbacks: DeploymentCallback[];
}

const books = new WeakMap<RepositoryState, DeploymentBook>();

export function deploymentBook(state: RepositoryState): DeploymentBook {
  let book = books.get(state);
  if (!book) {
    book = { waiting: new Map(), callbacks: [] };
    books.set(state, book);
  }
  return book;
}

/** A workflow job with `environment: <name>` starts and waits for the App: what GitHub does before it sends the webhook. */
export function startWaitingDeployment(
  state: RepositoryState,
  o: { environment: string; sha: string; ref?: string; creator?: string },
): WaitingDeployment {
  if (!state.git.commit(o.sha)) throw new Error(`no commit ${o.sha} in the fake repository`);
  const d: WaitingDeployment = {
    runId: state.newId(),
    deploymentId: state.newId(),
    environment: o.environment,
    sha: o.sha,
    ref: o.ref ?? state.defaultBranch,
    creator: o.creator ?? state.owner,
    createdAt: isoNow(),
    state: "waiting",
  };
  deploymentBook(state).waiting.set(d.runId, d);
  return d;
}

export const deploymentRoutes: Route[] = [
  route("POST", `${REPO}/actions/runs/:run_id/deployment_protection_rule`, "actions.reviewCustomGatesForRun", (req) => {
    checkRepository(req);
    if (req.actor.kind !== "installation") {
      throw new GitHubApiError(403, {
        message: "Resource not accessible by integration: only the GitHub App of a deployment protection rule may review it",
        documentation_url: DOC,
        status: "403",
      });
    }
    const book = deploymentBook(req.state);
    const waiting = book.waiting.get(intParam(req, "run_id"));
    if (!waiting) throw notFound();
    const environment = requireString(req, "environment_name", "DeploymentProtectionRule");
    const state = req.body.state;
    const comment = req.body.comment;
    if (state !== undefined && state !== "approved" && state !== "rejected") {
      throw validationFailed([{ resource: "DeploymentProtectionRule", field: "state", code: "invalid", value: state }], DOC);
    }
    if (state === undefined && (typeof comment !== "string" || comment === "")) {
      throw validationFailed(
        [
          {
            resource: "DeploymentProtectionRule",
            field: "comment",
            code: "missing_field",
            message: "comment is required when state is not provided",
          },
        ],
        DOC,
      );
    }
    if (comment !== undefined && typeof comment !== "string") {
      throw validationFailed([{ resource: "DeploymentProtectionRule", field: "comment", code: "invalid" }], DOC);
    }
    if (environment !== waiting.environment) {
      throw validationFailed(
        [
          {
            resource: "DeploymentProtectionRule",
            field: "environment_name",
            code: "invalid",
            message: `the workflow run waits on ${waiting.environment}, not ${environment}`,
          },
        ],
        DOC,
      );
    }
    if (waiting.state !== "waiting") {
      throw validationFailed(
        [
          {
            resource: "DeploymentProtectionRule",
            code: "unprocessable",
            message: `the deployment protection rule for ${environment} was already ${waiting.state}`,
          },
        ],
        DOC,
      );
    }
    if (state) waiting.state = state;
    book.callbacks.push({
      runId: waiting.runId,
      environment,
      ...(state ? { state } : {}),
      ...(typeof comment === "string" ? { comment } : {}),
      actor: req.actor.login,
      at: isoNow(),
    });
    return { status: 204 };
  }),
];
