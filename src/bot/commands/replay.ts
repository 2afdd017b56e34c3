// `/gate-a replay <phase>`: run the gate on this PR's head commit, every phase up to and including the
// selected one. The head commit is pinned when the command arrives; a runner takes the run from the queue.

import type { Gate, Phase } from "../../gates/model/index.js";
import { newRunId } from "../../gates/run/index.js";
import { phasesUpTo } from "../../gates/gate-file/index.js";
import { gateFileChangeOnPull, pinnedFileOf } from "../events/repository-gates.js";
import type { RunRecord } from "../runs/run-state.js";
import { refreshWarRoom, renderWarRoomComment, warRoomViewOf } from "../github/war-room-comment.js";
import { forkOf } from "./approve-run.js";
import { attemptRefusalText } from "../runs/run-attempt.js";
import { ArgumentProblem, quote, type CommandDefinition } from "./pr-command.js";

export const replay: CommandDefinition<"replay", { selector: string; phases: Phase[] }> = {
  verb: "replay",
  usage: "<phase>",
  describe: (gate) =>
    [
      "run the gate on this PR's head commit, every phase up to and including `<phase>`, each earlier phase first. Phases:",
      ...gate.phases.map((ph) => {
        const words = [ph.name, ...ph.aliases].map((w) => `\`${w}\``).join(" / ");
        return `  - ${words}: ${ph.requests.toLocaleString("en-US")} requests at ${ph.rate}/s, P95 ≤ ${ph.latencyP95Ms} ms`;
      }),
      "  - `all`: every phase.",
    ].join("\n"),
  privileged: (gate) => `start ${gate.title} runs`,
  parse(args, gate) {
    if (args.length === 0) return new ArgumentProblem(`\`replay\` needs a phase: one of ${phaseSelectors(gate).join(", ")}`);
    if (args.length > 1) return new ArgumentProblem(`\`replay\` takes one phase, got "${args.join(" ")}"`);
    try {
      return { selector: args[0], phases: phasesUpTo(gate, args[0]) };
    } catch {
      return new ArgumentProblem(`unknown phase "${args[0]}"; expected one of ${phaseSelectors(gate).join(", ")}`);
    }
  },
  label: ({ selector }) => labelOf(selector),
  async handle({ selector, phases }, request) {
    const { github, where, gate, catalog, repoGates, pullNumber, user, queue, log, reply } = request;
    const label = labelOf(selector);
    const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: pullNumber });
    if (pr.state !== "open") {
      await reply(`This pull request is ${pr.state}: ${gate.title} runs only on open pull requests.`);
      return;
    }
    const fork = forkOf(pr, where);
    if (fork && !gate.command.allowForks) {
      const approvedBy = await request.forkApprovals?.approvedBy(where.owner, where.repo, pullNumber, pr.head.sha);
      if (!approvedBy) {
        await reply(forkRefusal(gate, fork, pr.head.sha, catalog.fileOf(gate)));
        return;
      }
    }
    // The retry rule declared in advance: past `max` attempts on this commit, no further run.
    const noAttempt = await attemptRefusalText(gate, queue.state, queue.attempts, {
      owner: where.owner,
      repo: where.repo,
      gate: gate.name,
      headSha: pr.head.sha,
    });
    if (noAttempt) {
      await reply(`⛔ ${noAttempt}`);
      return;
    }
    const gateFile = repoGates ? pinnedFileOf(repoGates, gate) : undefined;
    const gateFileNote = gateFile ? await gateFileChangeOnPull(github, where, gateFile, pr.head.sha) : null;
    const record: RunRecord = {
      id: newRunId(gate),
      gate: gate.name,
      owner: where.owner,
      repo: where.repo,
      installationId: request.installationId,
      pullNumber,
      headSha: pr.head.sha,
      selector,
      scope: phases.map((p) => p.name).join("+"),
      full: gate.phases.every((p) => phases.includes(p)),
      label,
      requestedBy: user,
      requestedAt: new Date().toISOString(),
      phase: "queued",
      commandCommentId: request.commentId,
      ...(gateFile ? { gateFile } : {}),
      ...(gateFileNote ? { gateFileNote } : {}),
      ...(fork ? { headRepo: fork } : {}),
    };
    // The war-room comment exists before a runner can see the run, so the runner edits it instead of adding another.
    const { data: warRoom } = await github.rest.issues.createComment({
      ...where,
      issue_number: pullNumber,
      body: renderWarRoomComment(warRoomViewOf(gate, record)),
    });
    record.warRoomCommentId = warRoom.id;
    record.warRoomUrl = warRoom.html_url;
    const outcome = await queue.request(record);
    if (outcome.outcome === "start") return;
    if (outcome.outcome === "refused") {
      await github.rest.issues.updateComment({
        ...where,
        comment_id: warRoom.id,
        body:
          quote(`${gate.command.prefix} ${label}`) +
          `Refused: ${outcome.reason}. @${outcome.holder.requestedBy}'s run \`${outcome.holder.id}\` (\`${outcome.holder.label}\`, PR #${outcome.holder.pullNumber}) holds ${gate.title} on this repository. ` +
          `\`${gate.command.prefix} status\` shows where it is; \`${gate.command.prefix} abort\` stops it.`,
      });
      return;
    }
    const h = outcome.holder;
    const queued = await queue.state.update(record.id, () => ({
      waitingBehind: { id: h.id, requestedBy: h.requestedBy, label: h.label, pullNumber: h.pullNumber },
    }));
    if (queued) await refreshWarRoom(github, gate, queued, log);
    if (outcome.replaced) {
      const replaced = outcome.replaced;
      await refreshWarRoom(github, gate, { ...replaced, phase: "cancelled", cancelledBecause: `replaced by @${user}'s \`${label}\`` }, log);
      await reply(
        `Queued behind @${h.requestedBy}'s \`${h.label}\` (run \`${h.id}\`), replacing @${replaced.requestedBy}'s waiting \`${replaced.label}\` (run \`${replaced.id}\`): at most one run waits.`,
      );
    }
  },
};

/** The run's name: "replay 5k". */
function labelOf(selector: string): string {
  return `replay ${selector}`;
}

/** The words that select a phase, in order: each phase's name and aliases, then "all". */
export function phaseSelectors(gate: Gate): string[] {
  return [...gate.phases.flatMap((p) => [...p.aliases, p.name]), "all"];
}

export function forkRefusal(gate: Gate, fork: string, sha: string, gateFile: string): string {
  return (
    `This pull request comes from a fork (\`${fork}\`): ${gate.title} builds and runs the PR's own code, so it does not run code from a fork until a maintainer has looked at it. ` +
    `A maintainer can comment \`${gate.command.prefix} approve-run\` to allow runs of the current head (${sha.slice(0, 7)}; a later push needs a new approval), ` +
    `or the gate file \`${gateFile}\` on the default branch can set \`commands.allow_forks: true\` to allow every fork PR.`
  );
}
