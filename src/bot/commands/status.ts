// `/gate-a status`: the current or last run on this PR, and what is queued. Open to anyone.

import { renderStatus } from "./run-status.js";
import { noArguments, type CommandDefinition, type NoArguments } from "./pr-command.js";

export const status: CommandDefinition<"status", NoArguments> = {
  verb: "status",
  describe: () => "the current or last run on this PR, and what is queued.",
  privileged: false,
  parse: noArguments("status"),
  async handle(_, { queue, where, gate, pullNumber, reply }) {
    const slot = await queue.state.slot(where.owner, where.repo, gate.name);
    const runs = await queue.state.runsForPull(where.owner, where.repo, pullNumber);
    await reply(renderStatus(gate, `${where.owner}/${where.repo}`, slot, pullNumber, runs));
  },
};
