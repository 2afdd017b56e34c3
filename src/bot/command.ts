// The PR comment commands (`/gate-a replay 5k`, `status`, `abort`, `help`): parsing the first line of a
// comment and the help reply. Pure: no GitHub, no Redis, so every wording is tested without servers.

import type { Gate, Phase } from "../gates/gate.js";
import { phasesUpTo } from "../gates/gate-definition.js";

export type GateCommand =
  /** Run every phase up to and including the selected one. */
  | { kind: "replay"; selector: string; phases: Phase[] }
  | { kind: "status" }
  | { kind: "abort" }
  /** A maintainer lets the gate build and run a fork PR's current head commit. */
  | { kind: "approve-run" }
  /** `problem` is set when the comment was not understood, and says why. */
  | { kind: "help"; problem?: string };

export interface ParsedCommand {
  gate: Gate;
  command: GateCommand;
  /** The first line as written, for replies. */
  line: string;
}

/** Commands that change what runs; the others (status, help) are open to anyone who can comment. */
export function isPrivileged(command: GateCommand): boolean {
  return command.kind === "replay" || command.kind === "abort" || command.kind === "approve-run";
}

/** The words that select a phase, in order: each phase's name and aliases, then "all". */
export function phaseSelectors(gate: Gate): string[] {
  return [...gate.phases.flatMap((p) => [...p.aliases, p.name]), "all"];
}

/**
 * Reads the first line of a comment. Returns null when the comment is not addressed to any gate
 * (its first word is not a gate's prefix): most comments on a PR are conversation, not commands.
 */
export function parseCommand(body: string, gates: readonly Gate[]): ParsedCommand | null {
  const line = (body.split(/\r?\n/, 1)[0] ?? "").trim();
  const [first, ...rest] = line.split(/\s+/);
  if (!first) return null;
  const gate = gates.find((g) => g.command.prefix.toLowerCase() === first.toLowerCase());
  if (!gate) return null;
  const [verb, ...args] = rest.map((w) => w.toLowerCase());
  const help = (problem: string): ParsedCommand => ({ gate, line, command: { kind: "help", problem } });
  if (!verb) return help(`\`${first}\` needs a command`);
  switch (verb) {
    case "replay": {
      if (args.length === 0) return help(`\`replay\` needs a phase: one of ${phaseSelectors(gate).join(", ")}`);
      if (args.length > 1) return help(`\`replay\` takes one phase, got "${args.join(" ")}"`);
      try {
        return { gate, line, command: { kind: "replay", selector: args[0], phases: phasesUpTo(gate, args[0]) } };
      } catch {
        return help(`unknown phase "${args[0]}"; expected one of ${phaseSelectors(gate).join(", ")}`);
      }
    }
    case "status":
    case "abort":
    case "approve-run":
    case "help":
      if (args.length > 0) return help(`\`${verb}\` takes no arguments, got "${args.join(" ")}"`);
      return { gate, line, command: { kind: verb } };
    default:
      return help(`unknown command "${verb}"`);
  }
}

/** The name of a run in check runs and replies: "replay 5k". */
export function commandLabel(command: GateCommand): string {
  return command.kind === "replay" ? `replay ${command.selector}` : command.kind;
}

const PERMISSION_WORDS = {
  admin: "admin permission on this repository",
  write: "write (or maintain, or admin) permission on this repository",
  read: "read permission on this repository",
} as const;

/** The help reply: every command, what it does and who may run it; leads with the problem, if any. */
export function renderHelp(gate: Gate, problem?: string): string {
  const p = gate.command.prefix;
  const phases = gate.phases
    .map((ph) => {
      const words = [ph.name, ...ph.aliases].map((w) => `\`${w}\``).join(" / ");
      return `  - ${words}: ${ph.requests.toLocaleString("en-US")} requests at ${ph.rate}/s, P95 ≤ ${ph.latencyP95Ms} ms`;
    })
    .join("\n");
  const who = PERMISSION_WORDS[gate.command.permission];
  const lines = [
    problem ? `⚠️ I did not understand that: ${problem}.\n` : "",
    `**${gate.title}** commands (first line of a pull request comment):`,
    "",
    `- \`${p} replay <phase>\`: run the gate on this PR's head commit, every phase up to and including \`<phase>\`, each earlier phase first. Phases:`,
    phases,
    `  - \`all\`: every phase.`,
    `- \`${p} status\`: the current or last run on this PR, and what is queued.`,
    `- \`${p} abort\`: stop the running replay (teardown still happens; the run ends as aborted), or drop the queued run when nothing is running.`,
    `- \`${p} approve-run\`: on a pull request from a fork, let the gate build and run its current head commit (a later push needs a new approval).`,
    `- \`${p} help\`: this list.`,
    "",
    `\`replay\`, \`abort\` and \`approve-run\` need ${who}; \`status\` and \`help\` are open to anyone. ` +
      `One run at a time per gate and repository: a command during a run waits (at most one waits; a newer one replaces it).`,
  ];
  return lines.filter((l, i) => l !== "" || i > 0).join("\n");
}
