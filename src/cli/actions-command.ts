// `gate ci GATE_FILE`: the GitHub Actions entry point. Reads the workflow's event and settings once, runs
// the gate as `gate run` does, writes and publishes the evidence whatever the verdict, and exits with it.

import { appendFile, readFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { parseCommandLine } from "./command-line.js";
import { createGitHubClient } from "../bot/github/github-client.js";
import type { Gate, Phase, GateRun, Verdict } from "../gates/model/index.js";
import { newRunId, checkServices } from "../gates/run/index.js";
import { renderPlainVerdictTable, renderVerdictTable } from "../gates/war-room/index.js";
import { VERDICT_MEANING, exitCodeFor } from "../gates/verdict/index.js";
import { GateDefinitionError, PhaseSelectionError, loadGate, phasesUpTo } from "../gates/gate-file/index.js";
import { commitUnderTest, observer, runInTerminal } from "./run-command.js";
import { manifestMismatch, readPublishEnv, type PublishEnv } from "./publish-command.js";
import { publishBundle, type PublishResult } from "../bot/github/publish-run.js";
import { gateOfFile, readGateFileAt } from "../bot/events/repository-gates.js";

export const ACTIONS_HELP = `Usage: gate ci GATE_FILE [--out DIR] [--phase P]

The GitHub Actions entry point of a gate workflow (.github/workflows/gate-a.yml). Runs the gate the way
\`gate run\` does, writes the evidence bundle, then publishes it the way \`gate publish\` does: the
evidence PR in one commit, the war-room comment and a check run on the commit under test (never the
promotion status: only the App sets that, from its own record of a run). The evidence is written and published whatever the verdict.

Options:
  --out DIR      where to write the evidence bundle (default evidence/<run-id>)
  --phase P      the last phase to run when the event does not choose one (a schedule): a phase name,
                 an alias (1k, 5k, 30k) or "all" (default all). A workflow_dispatch input "phase"
                 takes precedence.

Environment (set by GitHub Actions):
  GITHUB_EVENT_NAME    schedule or workflow_dispatch; any other event is refused
  GITHUB_EVENT_PATH    the event payload (JSON); workflow_dispatch reads inputs.phase from it, and
                       its ref: a dispatch on a branch other than the default one is judged by the
                       default branch's GATE_FILE (read through the contents API), not the branch's
  GITHUB_SHA           the commit under test (else git HEAD)
  GITHUB_REPOSITORY    owner/repo the evidence PR is opened on
  GITHUB_TOKEN         contents, pull-requests, issues, checks and statuses write
                       (pass \`env: GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}\` to the step)
  GITHUB_API_URL       default https://api.github.com
  GITHUB_SERVER_URL, GITHUB_RUN_ID   for a link back to the workflow run
  GITHUB_WORKFLOW_REF  the workflow file, named in the war room's NEXT (default .github/workflows/gate-a.yml)
  GITHUB_OUTPUT        when set, gets verdict=PASS|FAIL|ERROR|INCONCLUSIVE|PARTIAL, run_id, bundle and evidence_pr
  GITHUB_STEP_SUMMARY  when set, gets the verdict table in Markdown

Exit codes: 0 PASS, 1 FAIL, 2 ERROR, INCONCLUSIVE or could not run or publish, 3 PARTIAL (so anything
but a PASS fails the job).`;

export type ActionsEvent = "schedule" | "workflow_dispatch";

/** What a workflow run tells `gate ci`, read once from the environment. */
export interface ActionsEnv {
  event: ActionsEvent;
  /** The event payload, as GITHUB_EVENT_PATH holds it ({} when a schedule has none). */
  payload: Record<string, unknown>;
  eventPath: string | null;
  sha: string | undefined;
  publish: PublishEnv;
  /** The workflow run's page, or null outside Actions. */
  runUrl: string | null;
  outputFile: string | null;
  summaryFile: string | null;
  /** True inside GitHub Actions: workflow commands (::error::) are understood. */
  actions: boolean;
  /** The workflow's file (".github/workflows/gate-a.yml"), from GITHUB_WORKFLOW_REF; null when not set. */
  workflow: string | null;
}

/** ".github/workflows/gate-a.yml" from GITHUB_WORKFLOW_REF ("owner/repo/.github/workflows/gate-a.yml@refs/heads/main"). */
export function workflowFileOf(ref: string | undefined): string | null {
  const m = /^[^/]+\/[^/]+\/(.+?)(?:@.*)?$/.exec(ref ?? "");
  return m ? m[1]! : null;
}

export interface ActionsProblem {
  code: "unsupported_event" | "event_payload" | "publish_setting";
  message: string;
}

const EVENTS: readonly ActionsEvent[] = ["schedule", "workflow_dispatch"];

export async function readActionsEnv(env: NodeJS.ProcessEnv): Promise<ActionsEnv | ActionsProblem[]> {
  const problems: ActionsProblem[] = [];
  const name = env.GITHUB_EVENT_NAME ?? "";
  if (!name) {
    problems.push({
      code: "unsupported_event",
      message:
        "GITHUB_EVENT_NAME is not set: `gate ci` runs inside a GitHub Actions workflow; on a terminal use `gate run FILE` and `gate publish DIR`",
    });
  } else if (!EVENTS.includes(name as ActionsEvent)) {
    problems.push({
      code: "unsupported_event",
      message: `GITHUB_EVENT_NAME is "${name}"; \`gate ci\` runs on ${EVENTS.join(" and ")} only: trigger the gate workflow with \`on: schedule\` or \`on: workflow_dispatch\` (see docs/adding-a-gate.md)`,
    });
  }
  let payload: Record<string, unknown> = {};
  const eventPath = env.GITHUB_EVENT_PATH || null;
  if (eventPath) {
    try {
      const parsed: unknown = JSON.parse(await readFile(eventPath, "utf8"));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("expected a JSON object");
      payload = parsed as Record<string, unknown>;
    } catch (err) {
      problems.push({
        code: "event_payload",
        message: `GITHUB_EVENT_PATH ${eventPath} is not a readable event payload (${(err as Error).message})`,
      });
    }
  } else if (name === "workflow_dispatch") {
    problems.push({
      code: "event_payload",
      message: "GITHUB_EVENT_PATH is not set: a workflow_dispatch run needs its payload to read the phase input",
    });
  }
  const publish = readPublishEnv(env);
  if (Array.isArray(publish)) for (const message of publish) problems.push({ code: "publish_setting", message });
  if (problems.length || Array.isArray(publish)) return problems;

  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const repository = `${publish.repository.owner}/${publish.repository.repo}`;
  return {
    event: name as ActionsEvent,
    payload,
    eventPath,
    sha: env.GITHUB_SHA || undefined,
    publish,
    runUrl: env.GITHUB_RUN_ID ? `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` : null,
    outputFile: env.GITHUB_OUTPUT || null,
    summaryFile: env.GITHUB_STEP_SUMMARY || null,
    actions: env.GITHUB_ACTIONS === "true",
    workflow: workflowFileOf(env.GITHUB_WORKFLOW_REF),
  };
}

/**
 * The phase selector for this event: a workflow_dispatch's `inputs.phase` when given (a person chose it),
 * else --phase, else "all". Returns a problem for an input that is not a string.
 */
export function phaseSelector(event: ActionsEvent, payload: Record<string, unknown>, flag: string | undefined): string | ActionsProblem {
  if (event === "workflow_dispatch") {
    const inputs = payload.inputs;
    const phase = inputs && typeof inputs === "object" ? (inputs as Record<string, unknown>).phase : undefined;
    if (typeof phase === "string" && phase.trim()) return phase.trim();
    if (phase !== undefined && phase !== null && phase !== "") {
      return {
        code: "event_payload",
        message: `the workflow_dispatch input "phase" is ${JSON.stringify(phase)}; expected a phase name or "all"`,
      };
    }
  }
  return flag ?? "all";
}

function exitCodeOf(verdict: Verdict): number {
  return exitCodeFor(verdict);
}

const ICON: Record<Verdict, string> = Object.fromEntries(Object.entries(VERDICT_MEANING).map(([v, m]) => [v, m.icon])) as Record<
  Verdict,
  string
>;

/** The step summary: what the run decided, where its evidence is, and the verdict table. */
export function stepSummary(
  run: GateRun,
  o: { bundle: string; runUrl: string | null; published: PublishResult | null; publishProblem: string | null },
): string {
  const links = [
    o.published
      ? `Evidence PR: ${o.published.evidencePullRequest.url}`
      : `Evidence PR: not opened (${o.publishProblem ?? "not published"})`,
    o.runUrl ? `Workflow run: ${o.runUrl}` : "",
    `Run \`${run.id}\` on \`${run.commit}\`; evidence bundle \`${o.bundle}\` (also uploaded as this run's artifact)`,
  ].filter(Boolean);
  return [
    `## ${ICON[run.verdict]} ${run.gate.title}: ${run.verdict}`,
    links.map((l) => `- ${l}`).join("\n"),
    renderVerdictTable(run),
    "",
  ].join("\n\n");
}

// Workflow commands read "%", CR and LF (and in properties ":" and ",") as syntax; escape them as the toolkit does.
function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

async function appendIfSet(file: string | null, text: string, what: string): Promise<void> {
  if (!file) return;
  try {
    await appendFile(file, text);
  } catch (err) {
    console.error(`gate ci: warning: could not append to ${what} ${file} (${(err as Error).message})`);
  }
}

async function publish(gate: Gate, bundleDir: string, env: PublishEnv): Promise<PublishResult | string> {
  const mismatch = await manifestMismatch(bundleDir);
  if (mismatch) return `${mismatch}; nothing was published`;
  const github = createGitHubClient({ auth: env.token, baseUrl: env.apiUrl, userAgent: "release-gate ci" });
  try {
    return await publishBundle(github, env.repository, { gate, bundleDir });
  } catch (err) {
    const e = err as { status?: number; message?: string };
    const where = `${env.repository.owner}/${env.repository.repo}`;
    const hint =
      e.status === 403 || e.status === 404
        ? ` (GitHub answered ${e.status}: give the workflow contents, pull-requests and issues write on ${where}, and allow GitHub Actions to create pull requests in the repository's Actions settings)`
        : "";
    return `could not publish to ${env.apiUrl} (${e.message ?? String(err)})${hint}; the bundle is in ${bundleDir}: \`gate publish ${bundleDir}\` publishes it again`;
  }
}

/**
 * The gate file a run is judged by. A workflow_dispatch on a branch other than the default one reads it
 * from the default branch (contents API, the workflow's token): the branch could have lowered the bar.
 * On the default branch, and for a schedule (which always runs there), the checked-out file is that file.
 */
export async function gateForEvent(
  file: string,
  env: Pick<ActionsEnv, "event" | "payload" | "publish">,
): Promise<{ gate: Gate; note: string | null }> {
  const ref = typeof env.payload.ref === "string" ? env.payload.ref : null;
  const defaultBranch = (env.payload.repository as { default_branch?: unknown } | undefined)?.default_branch;
  if (env.event !== "workflow_dispatch" || !ref || typeof defaultBranch !== "string" || ref === `refs/heads/${defaultBranch}`) {
    return { gate: loadGate(file), note: null };
  }
  const path = relative(process.cwd(), resolve(file)).split(sep).join("/");
  const github = createGitHubClient({ auth: env.publish.token, baseUrl: env.publish.apiUrl, userAgent: "release-gate ci" });
  const pinned = await readGateFileAt(github, env.publish.repository, path, defaultBranch);
  if (!pinned) {
    throw new Error(
      `${path} is not on the default branch ${defaultBranch}: a dispatch on ${ref} is judged by the default branch's gate file; merge the gate file first, or dispatch on ${defaultBranch}`,
    );
  }
  const gate = gateOfFile(pinned);
  let local: string | null = null;
  try {
    local = await readFile(file, "utf8");
  } catch {
    /* a checkout without the file: the default branch's is the one that counts anyway */
  }
  const note =
    local !== pinned.text
      ? `${path} differs on ${ref.replace(/^refs\/heads\//, "")}: its changes apply after merge; this run is judged by the version on ${defaultBranch} (blob ${pinned.blobSha.slice(0, 7)})`
      : null;
  return { gate, note };
}

export async function actionsCommand(args: string[]): Promise<number> {
  const line = parseCommandLine(
    "gate ci",
    args,
    {
      out: { type: "string" },
      phase: { type: "string" },
    },
    ACTIONS_HELP,
    "one gate file, e.g. `gate ci gates/gate-a.yaml --out evidence/bundle`",
  );
  if (typeof line === "number") return line;
  const { values, positional: file } = line;
  const env = await readActionsEnv(process.env);
  if (Array.isArray(env)) {
    for (const p of env) console.error(`gate ci: ${p.message}`);
    return 2;
  }

  let gate: Gate;
  let phases: Phase[];
  try {
    const chosen = await gateForEvent(file, env);
    gate = chosen.gate;
    if (chosen.note) console.error(`gate ci: ${chosen.note}`);
  } catch (err) {
    console.error(err instanceof GateDefinitionError ? err.message : `gate ci: ${(err as Error).message}`);
    return 2;
  }
  const selector = phaseSelector(env.event, env.payload, values.phase);
  if (typeof selector !== "string") {
    console.error(`gate ci: ${selector.message} (from ${env.eventPath})`);
    return 2;
  }
  try {
    phases = phasesUpTo(gate, selector);
  } catch (err) {
    const why = err instanceof PhaseSelectionError ? err.message : (err as Error).message;
    const from =
      env.event === "workflow_dispatch" && selector !== values.phase
        ? `the workflow_dispatch input "phase" (in ${env.eventPath}): make the workflow's phase options match the gate's phases`
        : "--phase";
    console.error(`gate ci: ${why}; fix ${from}`);
    return 2;
  }
  if (env.event === "schedule" && typeof env.payload.schedule === "string" && gate.schedule && env.payload.schedule !== gate.schedule) {
    // The gate file is the source of truth for when it runs; a drifted cron in the workflow is worth a line.
    console.error(
      `gate ci: warning: the workflow fired on cron "${env.payload.schedule}" but ${file} says schedule: "${gate.schedule}"; make the workflow's on.schedule cron match the gate file`,
    );
  }
  if (gate.target.kind === "bundled") {
    const problem = await checkServices(gate.target.redisUrl, gate.target.databaseUrl);
    if (problem) {
      console.error(
        `gate ci: ${problem} (in a workflow, add Redis and PostgreSQL as service containers, as .github/workflows/gate-a.yml does)`,
      );
      return 2;
    }
  }

  const runId = newRunId(gate);
  const out = resolve(values.out ?? join("evidence", runId));
  console.log(
    `${gate.title}: ${env.event} run ${runId} of ${phases.map((p) => p.name).join(", ")} on ${env.sha ?? "the checked-out commit"}${env.runUrl ? ` (${env.runUrl})` : ""}`,
  );
  const run = await runInTerminal("gate ci", gate, {
    phases,
    commit: commitUnderTest(env.sha),
    runId,
    out,
    observer: observer(true),
    origin: { kind: "actions", workflow: env.workflow ?? `.github/workflows/${gate.name}.yml` },
  });
  console.log(`\n${renderPlainVerdictTable(run)}\n`);
  console.log(`Evidence bundle: ${out}`);

  const published = await publish(gate, out, env.publish);
  const ok = typeof published !== "string";
  if (ok) {
    for (const p of published.problems) console.error(`gate ci: warning: ${p}`);
    console.log(
      `${gate.title} ${run.verdict}: evidence PR ${published.evidencePullRequest.url} (branch ${published.evidencePullRequest.branch})`,
    );
    for (const c of published.warRoomComments) console.log(`war-room comment: ${c.url}`);
  } else {
    console.error(`gate ci: ${published}`);
  }

  const outputs = [
    `verdict=${run.verdict}`,
    `run_id=${run.id}`,
    `bundle=${out}`,
    ...(ok ? [`evidence_pr=${published.evidencePullRequest.url}`] : []),
  ];
  await appendIfSet(env.outputFile, `${outputs.join("\n")}\n`, "GITHUB_OUTPUT");
  await appendIfSet(
    env.summaryFile,
    stepSummary(run, { bundle: out, runUrl: env.runUrl, published: ok ? published : null, publishProblem: ok ? null : published }),
    "GITHUB_STEP_SUMMARY",
  );
  if (env.actions && run.verdict !== "PASS") {
    console.log(`::error title=${escapeProperty(`${gate.title} ${run.verdict}`)}::${escapeData(run.reason)}`);
  }
  if (!ok) return 2;
  return exitCodeOf(run.verdict);
}
