// Check runs and commit statuses, with GitHub's limits: output.summary and output.text at most
// 65,535 bytes each, at most 50 annotations per request, at most 3 actions.

import { GitHubApiError, notFound, validationFailed, type ValidationError } from "./github-errors.js";
import { isoNow, type CheckAction, type CheckAnnotation, type CheckRunRecord, type StatusRecord } from "./repository-state.js";
import { checkRepository, intParam, paginate, requireString, route, type ApiRequest, type Route } from "./router.js";

const REPO = "/repos/:owner/:repo";

export const CHECK_OUTPUT_LIMIT_BYTES = 65_535;
export const ANNOTATIONS_PER_REQUEST = 50;
export const CHECK_ACTIONS_LIMIT = 3;
export const STATUS_DESCRIPTION_LIMIT = 140;

const STATUSES = ["queued", "in_progress", "completed", "waiting", "requested", "pending"];
const CONCLUSIONS = ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"];
const CHECK_DOC = "https://docs.github.com/rest/checks/runs#create-a-check-run";

export const checkRoutes: Route[] = [
  route("POST", `${REPO}/check-runs`, "checks.create", (req) => {
    checkRepository(req);
    const name = requireString(req, "name", "CheckRun");
    const headSha = requireString(req, "head_sha", "CheckRun");
    if (!req.state.git.commit(headSha.toLowerCase())) {
      throw new GitHubApiError(422, { message: `No commit found for SHA: ${headSha}`, documentation_url: CHECK_DOC, status: "422" });
    }
    const now = isoNow();
    const run: CheckRunRecord = {
      id: req.state.newId(),
      name,
      headSha: headSha.toLowerCase(),
      status: "queued",
      conclusion: null,
      startedAt: now,
      completedAt: null,
      detailsUrl: null,
      externalId: "",
      output: { title: null, summary: null, text: null },
      annotations: [],
      actions: [],
      checkSuiteId: suiteFor(req, headSha.toLowerCase()),
      appId: req.state.app.id,
    };
    applyCheckFields(req, run, true);
    req.state.checkRuns.set(run.id, run);
    return { status: 201, body: req.shapes.checkRun(run) };
  }),

  route("PATCH", `${REPO}/check-runs/:check_run_id`, "checks.update", (req) => {
    checkRepository(req);
    const run = req.state.checkRuns.get(intParam(req, "check_run_id"));
    if (!run) throw notFound();
    applyCheckFields(req, run, false);
    return { status: 200, body: req.shapes.checkRun(run) };
  }),

  route("GET", `${REPO}/check-runs/:check_run_id`, "checks.get", (req) => {
    checkRepository(req);
    const run = req.state.checkRuns.get(intParam(req, "check_run_id"));
    if (!run) throw notFound();
    return { status: 200, body: req.shapes.checkRun(run) };
  }),

  route("GET", `${REPO}/check-runs/:check_run_id/annotations`, "checks.listAnnotations", (req) => {
    checkRepository(req);
    const run = req.state.checkRuns.get(intParam(req, "check_run_id"));
    if (!run) throw notFound();
    return paginate(
      req,
      run.annotations.map((a) => ({ ...a, blob_href: "", title: a.title ?? null, raw_details: a.raw_details ?? null })),
    );
  }),

  route("GET", `${REPO}/commits/*ref/check-runs`, "checks.listForRef", (req) => {
    checkRepository(req);
    const sha = req.state.resolveCommit(req.params.ref);
    if (!sha) throw new GitHubApiError(422, { message: `No commit found for SHA: ${req.params.ref}`, status: "422" });
    const name = req.query.get("check_name");
    const status = req.query.get("status");
    let runs = [...req.state.checkRuns.values()].filter(
      (r) => r.headSha === sha && (!name || r.name === name) && (!status || r.status === status),
    );
    if ((req.query.get("filter") ?? "latest") === "latest") {
      const latest = new Map<string, CheckRunRecord>();
      for (const r of runs) latest.set(r.name, r);
      runs = [...latest.values()];
    }
    runs.sort((a, b) => b.id - a.id);
    const total = runs.length;
    return paginate(
      req,
      runs.map((r) => req.shapes.checkRun(r)),
      (page) => ({ total_count: total, check_runs: page }),
    );
  }),

  route("POST", `${REPO}/statuses/:sha`, "repos.createCommitStatus", (req) => {
    checkRepository(req);
    const sha = req.params.sha.toLowerCase();
    if (!req.state.git.commit(sha)) {
      throw new GitHubApiError(422, { message: `No commit found for SHA: ${req.params.sha}`, status: "422" });
    }
    const state = req.body.state;
    const errors: ValidationError[] = [];
    if (!["error", "failure", "pending", "success"].includes(String(state))) {
      errors.push({ resource: "Status", field: "state", code: "custom", message: `state is not included in the list`, value: state });
    }
    const description = typeof req.body.description === "string" ? req.body.description : null;
    if (description !== null && [...description].length > STATUS_DESCRIPTION_LIMIT) {
      errors.push({
        resource: "Status",
        field: "description",
        code: "custom",
        message: `description is too long (maximum is ${STATUS_DESCRIPTION_LIMIT} characters)`,
      });
    }
    if (errors.length > 0) throw validationFailed(errors, "https://docs.github.com/rest/commits/statuses#create-a-commit-status");
    const now = isoNow();
    const record: StatusRecord = {
      id: req.state.newId(),
      sha,
      state: state as StatusRecord["state"],
      targetUrl: typeof req.body.target_url === "string" ? req.body.target_url : null,
      description,
      context: typeof req.body.context === "string" && req.body.context !== "" ? req.body.context : "default",
      creator: req.state.actorLogin(req.actor),
      createdAt: now,
      updatedAt: now,
    };
    req.state.statuses.push(record);
    return { status: 201, body: req.shapes.status(record) };
  }),

  route("GET", `${REPO}/commits/*ref/statuses`, "repos.listCommitStatusesForRef", (req) => {
    checkRepository(req);
    const sha = req.state.resolveCommit(req.params.ref);
    if (!sha) throw notFound();
    const list = req.state.statuses.filter((s) => s.sha === sha).reverse();
    return paginate(
      req,
      list.map((s) => req.shapes.status(s)),
    );
  }),

  route("GET", `${REPO}/commits/*ref/status`, "repos.getCombinedStatusForRef", (req) => {
    checkRepository(req);
    const sha = req.state.resolveCommit(req.params.ref);
    if (!sha) throw notFound();
    const combined = req.state.combinedStatus(sha);
    return {
      status: 200,
      body: {
        state: combined.state,
        statuses: combined.latest.map((s) => req.shapes.status(s)),
        sha,
        total_count: combined.latest.length,
        repository: req.shapes.repository(),
        commit_url: `${req.shapes.repoApi}/commits/${sha}`,
        url: `${req.shapes.repoApi}/commits/${sha}/status`,
      },
    };
  }),
];

/** One check suite per head commit, as GitHub groups an app's runs. */
function suiteFor(req: ApiRequest, sha: string): number {
  for (const r of req.state.checkRuns.values()) if (r.headSha === sha) return r.checkSuiteId;
  return req.state.newId();
}

function applyCheckFields(req: ApiRequest, run: CheckRunRecord, creating: boolean): void {
  const b = req.body;
  const errors: ValidationError[] = [];
  const bad = (field: string, message: string) => errors.push({ resource: "CheckRun", code: "custom", field, message });

  if (b.name !== undefined && !creating) {
    if (typeof b.name !== "string" || b.name === "") bad("name", "name can't be blank");
  }
  if (b.status !== undefined && !STATUSES.includes(String(b.status))) bad("status", `status is not included in the list`);
  if (b.conclusion !== undefined && b.conclusion !== null && !CONCLUSIONS.includes(String(b.conclusion))) {
    bad("conclusion", `conclusion is not included in the list`);
  }
  if (b.status === "completed" && (b.conclusion === undefined || b.conclusion === null) && run.conclusion === null) {
    errors.push({
      resource: "CheckRun",
      code: "missing_field",
      field: "conclusion",
      message: "conclusion must be given when status is completed",
    });
  }

  let output: { title?: unknown; summary?: unknown; text?: unknown; annotations?: unknown } | undefined;
  if (b.output !== undefined && b.output !== null) {
    output = b.output as typeof output;
    if (typeof output!.title !== "string") errors.push({ resource: "CheckRun", code: "missing_field", field: "title" });
    if (typeof output!.summary !== "string") errors.push({ resource: "CheckRun", code: "missing_field", field: "summary" });
    for (const field of ["summary", "text"] as const) {
      const v = output![field];
      if (typeof v === "string" && Buffer.byteLength(v, "utf8") > CHECK_OUTPUT_LIMIT_BYTES) {
        bad(field, `${field} exceeds a maximum bytesize of ${CHECK_OUTPUT_LIMIT_BYTES}`);
      }
    }
    const annotations = output!.annotations;
    if (annotations !== undefined) {
      if (!Array.isArray(annotations)) bad("annotations", "annotations must be an array");
      else {
        if (annotations.length > ANNOTATIONS_PER_REQUEST) {
          bad("annotations", `annotations exceeds a maximum of ${ANNOTATIONS_PER_REQUEST} per request; send the rest in further updates`);
        }
        annotations.forEach((a, i) => {
          const x = a as Record<string, unknown>;
          if (
            typeof x.path !== "string" ||
            typeof x.start_line !== "number" ||
            typeof x.end_line !== "number" ||
            typeof x.message !== "string" ||
            !["notice", "warning", "failure"].includes(String(x.annotation_level))
          ) {
            bad(
              `annotations[${i}]`,
              "an annotation needs path, start_line, end_line, annotation_level (notice|warning|failure) and message",
            );
          }
        });
      }
    }
  }

  const actions = b.actions;
  if (actions !== undefined) {
    if (!Array.isArray(actions)) bad("actions", "actions must be an array");
    else {
      if (actions.length > CHECK_ACTIONS_LIMIT) bad("actions", `actions exceeds a maximum of ${CHECK_ACTIONS_LIMIT}`);
      actions.forEach((a, i) => {
        const x = a as Record<string, unknown>;
        if (typeof x.label !== "string" || x.label.length > 20) bad(`actions[${i}].label`, "label is required, at most 20 characters");
        if (typeof x.description !== "string" || x.description.length > 40)
          bad(`actions[${i}].description`, "description is required, at most 40 characters");
        if (typeof x.identifier !== "string" || x.identifier.length > 20)
          bad(`actions[${i}].identifier`, "identifier is required, at most 20 characters");
      });
    }
  }
  if (errors.length > 0) throw validationFailed(errors, CHECK_DOC);

  if (typeof b.name === "string" && !creating) run.name = b.name;
  if (typeof b.details_url === "string") run.detailsUrl = b.details_url;
  if (typeof b.external_id === "string") run.externalId = b.external_id;
  if (typeof b.started_at === "string") run.startedAt = b.started_at;
  if (typeof b.status === "string") run.status = b.status;
  if (typeof b.conclusion === "string") {
    run.conclusion = b.conclusion;
    run.status = "completed";
  }
  if (run.status === "completed") run.completedAt = typeof b.completed_at === "string" ? b.completed_at : (run.completedAt ?? isoNow());
  if (output) {
    run.output = {
      title: output.title as string,
      summary: output.summary as string,
      text: typeof output.text === "string" ? output.text : run.output.text,
    };
    // Annotations accumulate across updates; that is how more than 50 get onto one run.
    if (Array.isArray(output.annotations)) run.annotations.push(...(output.annotations as CheckAnnotation[]));
  }
  if (Array.isArray(actions)) run.actions = actions as CheckAction[];
}
