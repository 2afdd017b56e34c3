// `/gate-a help`: every command, what it does and who may run it. Also the answer to a comment that was
// not understood, led by what was wrong.

import { neutraliseMentions } from "../github/redact-for-github.js";
import { noArguments, type CommandDefinition } from "./pr-command.js";

export const help: CommandDefinition<"help", { problem?: string }> = {
  verb: "help",
  describe: () => "this list.",
  privileged: false,
  parse: noArguments("help"),
  async handle({ problem }, { reply, help }) {
    // The problem quotes the comment, so its @-mentions are neutralised.
    await reply(help(problem === undefined ? undefined : neutraliseMentions(problem)));
  },
};
