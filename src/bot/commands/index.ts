// The PR comment commands, in the order the help reply lists them. A new command is one module in this
// folder, one line here and its example in test/bot/support/command-examples.ts; a module missing a piece
// (its parse, help text, permission rule or handler) fails to compile.

import { abort } from "./abort.js";
import { approveRun } from "./approve-run.js";
import type { CommandDefinition } from "./pr-command.js";
import { help } from "./help.js";
import { replay } from "./replay.js";
import { status } from "./status.js";

const catalogue = { replay, status, abort, "approve-run": approveRun, help };

/** replay, status, abort, approve-run, help. */
export type CommandVerb = keyof typeof catalogue;

/** Each command filed under its own verb, so a misfiled entry fails to compile. */
export const COMMANDS = catalogue satisfies { [V in CommandVerb]: CommandDefinition<V> };

/** The parsed arguments of a command definition. */
type ArgumentsOf<D> = D extends CommandDefinition<string, infer A> ? A : never;

/** A parsed command: its verb as `kind`, and its arguments. */
export type GateCommand = { [V in CommandVerb]: { kind: V } & ArgumentsOf<(typeof COMMANDS)[V]> }[CommandVerb];
