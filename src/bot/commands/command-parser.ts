// The PR comment commands (`/gate-a replay 5k`, `status`, `abort`, `help`): parsing the first line of a
// comment and the help reply, both from the catalogue in commands/. Pure: no GitHub, no Redis, so every
// wording is tested without servers.

import type { Gate } from "../../gates/model/index.js";
import { ArgumentProblem, type CommandDefinition } from "./pr-command.js";
import { COMMANDS, type CommandVerb, type GateCommand } from "./index.js";

export type { GateCommand };

export interface ParsedCommand {
  gate: Gate;
  command: GateCommand;
  /** The first line as written, for replies. */
  line: string;
}

const DEFINITIONS: readonly CommandDefinition[] = Object.values(COMMANDS);

/** A parsed command's definition, typed to take that command. */
export function commandDefinition(command: GateCommand): CommandDefinition<CommandVerb, GateCommand> {
  return COMMANDS[command.kind] as CommandDefinition<CommandVerb, GateCommand>;
}

/** Commands that change what runs; the others (status, help) are open to anyone who can comment. */
export function isPrivileged(command: GateCommand): boolean {
  return commandDefinition(command).privileged !== false;
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
  const definition = DEFINITIONS.find((c) => c.verb === verb);
  if (!definition) return help(`unknown command "${verb}"`);
  const parsed = definition.parse(args, gate);
  if (parsed instanceof ArgumentProblem) return help(parsed.problem);
  return { gate, line, command: { kind: verb, ...parsed } as GateCommand };
}

/** The name of a run in check runs and replies: "replay 5k". */
export function commandLabel(command: GateCommand): string {
  return commandDefinition(command).label?.(command) ?? command.kind;
}

const PERMISSION_WORDS = {
  admin: "admin permission on this repository",
  write: "write (or maintain, or admin) permission on this repository",
  read: "read permission on this repository",
} as const;

/** The help reply: every command, what it does and who may run it; leads with the problem, if any. */
export function renderHelp(gate: Gate, problem?: string): string {
  const p = gate.command.prefix;
  const verbs = (privileged: boolean) =>
    inWords(DEFINITIONS.filter((c) => (c.privileged !== false) === privileged).map((c) => `\`${c.verb}\``));
  return [
    ...(problem ? [`⚠️ I did not understand that: ${problem}.\n`] : []),
    `**${gate.title}** commands (first line of a pull request comment):`,
    "",
    ...DEFINITIONS.map((c) => `- \`${p} ${c.verb}${c.usage ? ` ${c.usage}` : ""}\`: ${c.describe(gate)}`),
    "",
    `${verbs(true)} need ${PERMISSION_WORDS[gate.command.permission]}; ${verbs(false)} are open to anyone. ` +
      `One run at a time per gate and repository: a command during a run waits (at most one waits; a newer one replaces it).`,
  ].join("\n");
}

/** "`a`, `b` and `c`". */
function inWords(words: string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}` : (words[0] ?? "");
}
