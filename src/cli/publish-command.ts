// `gate publish DIR`: what the bot does after a run, for a run that happened elsewhere (the scheduled or
// manually dispatched GitHub Actions workflow): the evidence PR in one commit, the war-room comment and a
// check run on the gated commit, through the bot's own publishing (src/bot/github/publish-run.ts) and the
// workflow's GITHUB_TOKEN.

import { parseCommandLine } from "./command-line.js";
import { createGitHubClient } from "../bot/github/github-client.js";
import type { Gate } from "../gates/model/index.js";
import { verifyBundle } from "../gates/evidence/index.js";
import { GateDefinitionError, loadGate } from "../gates/gate-file/index.js";
import { resolve } from "node:path";
import { GateCatalogError, loadGateCatalog } from "../bot/boot/gate-catalog.js";
import type { RepoRef } from "../bot/github/github.js";
import { readBundleFacts } from "../bot/github/evidence-pr.js";
import { publishBundle, type PublishResult } from "../bot/github/publish-run.js";

export const PUBLISH_HELP = `Usage: gate publish DIR [--gate FILE] [--pr NUMBER] [--json]

Publishes an evidence bundle written by \`gate run\`: commits it in one commit on a new branch
<gate>/evidence/<run-id>, opens the evidence PR (reviewers from the gate's sign-off policy), posts the
war-room comment (on --pr, else on the evidence PR), and, when the bundle names a commit, adds a check
run "<Gate> (gate publish)" on it. It never sets the promotion status (release-gate/<gate>): only the
App does, from its own record of a run. Publishing the same bundle again finds the branch,
PR and comment already there.

Options:
  --gate FILE    the gate file (default: the gate named in DIR/verdict.json, found in GATES_DIR or gates/)
  --pr NUMBER    also post the war-room comment on this pull request or issue
  --json         print what was published as JSON

Environment (set by GitHub Actions):
  GITHUB_TOKEN       a token with contents, pull-requests, issues, checks and statuses write
  GITHUB_REPOSITORY  owner/repo
  GITHUB_API_URL     default https://api.github.com

Exit codes: 0 published, 2 could not publish (bad bundle, missing setting, GitHub refused).`;

export interface PublishEnv {
  token: string;
  repository: RepoRef;
  apiUrl: string;
  gatesDir: string;
}

export function readPublishEnv(env: NodeJS.ProcessEnv): PublishEnv | string[] {
  const problems: string[] = [];
  if (!env.GITHUB_TOKEN)
    problems.push("GITHUB_TOKEN is not set: in a workflow, pass `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` to this step");
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(env.GITHUB_REPOSITORY ?? "");
  if (!m) problems.push(`GITHUB_REPOSITORY must be owner/repo (GitHub Actions sets it), got "${env.GITHUB_REPOSITORY ?? ""}"`);
  if (problems.length) return problems;
  return {
    token: env.GITHUB_TOKEN!,
    repository: { owner: m![1], repo: m![2] },
    apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, ""),
    gatesDir: resolve(env.GATES_DIR ?? "gates"),
  };
}

function gateFor(name: string, file: string | undefined, gatesDir: string): Gate {
  if (file) {
    const gate = loadGate(file);
    if (gate.name !== name)
      throw new Error(`${file} defines gate "${gate.name}", but the bundle is of gate "${name}"; pass the gate file it was run with`);
    return gate;
  }
  const gate = loadGateCatalog(gatesDir).byName(name);
  if (!gate) throw new Error(`no gate named "${name}" in ${gatesDir}; pass --gate FILE (the gate file the bundle was run with)`);
  return gate;
}

/** What is wrong with a bundle whose files do not match its manifest; null when they do. */
export async function manifestMismatch(bundleDir: string): Promise<string | null> {
  const check = await verifyBundle(bundleDir);
  if (check.ok) return null;
  const what = [
    ...check.problems,
    ...check.changed.map((f) => `changed ${f}`),
    ...check.missing.map((f) => `missing ${f}`),
    ...check.added.map((f) => `added ${f}`),
  ];
  return `${bundleDir} does not match its manifest (${what.slice(0, 5).join("; ")})`;
}

export async function publishCommand(args: string[]): Promise<number> {
  const line = parseCommandLine(
    "gate publish",
    args,
    {
      gate: { type: "string" },
      pr: { type: "string" },
      json: { type: "boolean", default: false },
    },
    PUBLISH_HELP,
    "one bundle folder, e.g. `gate publish evidence/gate-a-20251113-020000-abc123`",
  );
  if (typeof line === "number") return line;
  const { values, positional: bundleArg } = line;
  const pullRequest = values.pr === undefined ? undefined : Number(values.pr);
  if (pullRequest !== undefined && !(Number.isInteger(pullRequest) && pullRequest > 0)) {
    console.error(`gate publish: --pr must be a pull request or issue number, got "${values.pr}"`);
    return 2;
  }
  const env = readPublishEnv(process.env);
  if (Array.isArray(env)) {
    for (const p of env) console.error(`gate publish: ${p}`);
    return 2;
  }
  const bundleDir = resolve(bundleArg);
  const mismatch = await manifestMismatch(bundleDir);
  if (mismatch) {
    console.error(`gate publish: ${mismatch}; run \`gate verify ${bundleArg}\`. Nothing was published.`);
    return 2;
  }
  let gate: Gate;
  try {
    const { verdict } = await readBundleFacts(bundleDir);
    gate = gateFor(verdict.gate, values.gate, env.gatesDir);
  } catch (err) {
    const message = err instanceof GateDefinitionError || err instanceof GateCatalogError ? err.message : (err as Error).message;
    console.error(`gate publish: ${message}`);
    return 2;
  }
  const github = createGitHubClient({ auth: env.token, baseUrl: env.apiUrl, userAgent: "release-gate publish" });
  let result: PublishResult;
  try {
    result = await publishBundle(github, env.repository, { gate, bundleDir, pullRequest });
  } catch (err) {
    const e = err as { status?: number; message?: string };
    const hint =
      e.status === 403 || e.status === 404
        ? ` (GitHub answered ${e.status}: the token needs contents, pull-requests and issues write on ${env.repository.owner}/${env.repository.repo}, and Actions must be allowed to create pull requests)`
        : "";
    console.error(`gate publish: ${e.message ?? String(err)}${hint}`);
    return 2;
  }
  for (const p of result.problems) console.error(`gate publish: warning: ${p}`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    console.log(
      `${gate.title} ${result.verdict}: evidence PR ${result.evidencePullRequest.url} (branch ${result.evidencePullRequest.branch})`,
    );
    for (const c of result.warRoomComments) console.log(`war-room comment: ${c.url}`);
  }
  return 0;
}
