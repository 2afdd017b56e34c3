// What a PR comment command is to the bot: its verb, who may run it, how its arguments are read and what
// a wrong one answers, its entry in the help reply, and what it does. One module per command in this
// folder, registered in index.ts.

import type { Gate } from "../../gates/model/index.js";
import type { BotLog } from "../boot/bot-log.js";
import type { ForkApprovals } from "./fork-approval.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { GitHub, RepoRef } from "../github/github.js";
import type { RepositoryGates } from "../events/repository-gates.js";
import type { RunQueue } from "../runs/run-queue.js";
import { neutraliseMentions } from "../github/redact-for-github.js";

/** A wrong argument: the help reply leads with `problem`. */
export class ArgumentProblem {
  constructor(readonly problem: string) {}
}

/** The arguments of a command that takes none. */
export type NoArguments = Record<never, never>;

export interface CommandDefinition<V extends string = string, A extends object = object> {
  /** The word after the gate's prefix: `/gate-a <verb>`. */
  verb: V;
  /** What follows the verb in the help reply: "<phase>". */
  usage?: string;
  /** What it does, after its usage in the help reply (further lines are indented by two spaces). */
  describe(gate: Gate): string;
  /**
   * False when anyone who can comment may run it. A command that changes what runs needs the gate's
   * `commands.permission`; then what a refusal says the person may not do: "start Gate A runs".
   */
  privileged: false | ((gate: Gate) => string);
  /** The words after the verb, lower-cased: the command's arguments, or what is wrong with them. */
  parse(args: readonly string[], gate: Gate): A | ArgumentProblem;
  /** The name of its run in check runs and replies (default: the verb). */
  label?(command: A): string;
  /** Answers a comment on a pull request (the permission, when privileged, already checked). */
  handle(command: A, request: CommandRequest): Promise<void>;
}

/** What a handler acts on: the comment it answers and the bot's state. */
export interface CommandRequest {
  github: GitHub;
  where: RepoRef;
  gate: Gate;
  /** The gates the command was read against: the default branch's files, or the bot's own. */
  catalog: GateCatalog;
  /** The default branch's gate files, when the repository has any. */
  repoGates: RepositoryGates | null;
  pullNumber: number;
  /** Who commented. */
  user: string;
  commentId: number;
  installationId: number;
  queue: RunQueue;
  /** Maintainers' approvals of fork PR runs, when the bot keeps them. */
  forkApprovals?: ForkApprovals;
  log: BotLog;
  /** Posts a reply on the pull request, quoting the command. */
  reply(body: string): Promise<unknown>;
  /** The help reply for this gate (it lists the catalogue, which a command module does not import). */
  help(problem?: string): string;
}

/** The parse of a command that takes no arguments. */
export function noArguments(verb: string): (args: readonly string[]) => NoArguments | ArgumentProblem {
  return (args) => (args.length > 0 ? new ArgumentProblem(`\`${verb}\` takes no arguments, got "${args.join(" ")}"`) : {});
}

/** A command echoed back in a reply: the user's text, so its @-mentions are neutralised. */
export function quote(line: string): string {
  return `> ${neutraliseMentions(line)}\n\n`;
}
