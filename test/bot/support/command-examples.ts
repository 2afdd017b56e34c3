// A well-formed use of every PR command (against the fixture gate-a): a new verb fails to compile here
// until it has one, so the catalogue tests cover it.

import type { CommandVerb } from "../../../src/bot/commands/index.js";

export const COMMAND_EXAMPLES: Record<CommandVerb, string> = {
  replay: "replay 5k",
  status: "status",
  abort: "abort",
  "approve-run": "approve-run",
  help: "help",
};
