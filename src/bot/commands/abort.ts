// `/gate-a abort`: stop the running replay, or drop the waiting run when nothing is running.

import { refreshWarRoom } from "../github/war-room-comment.js";
import { noArguments, type CommandDefinition, type NoArguments } from "./pr-command.js";

export const abort: CommandDefinition<"abort", NoArguments> = {
  verb: "abort",
  describe: () =>
    "stop the running replay (teardown still happens; the run ends as aborted), or drop the queued run when nothing is running.",
  privileged: (gate) => `abort ${gate.title} runs`,
  parse: noArguments("abort"),
  async handle(_, { github, where, gate, user, queue, log, reply }) {
    const outcome = await queue.abort(where.owner, where.repo, gate.name, user);
    if (outcome.kind === "idle") {
      await reply(`Nothing to abort: no ${gate.title} run is running or waiting on ${where.owner}/${where.repo}.`);
      return;
    }
    const r = outcome.run;
    if (outcome.kind === "dropped") {
      await refreshWarRoom(github, gate, r, log);
      await reply(`Dropped the waiting run \`${r.id}\` (@${r.requestedBy}'s \`${r.label}\`, PR #${r.pullNumber}); nothing was running.`);
      return;
    }
    await refreshWarRoom(github, gate, r, log);
    if (r.phase === "queued") {
      await reply(
        `Run \`${r.id}\` (@${r.requestedBy}'s \`${r.label}\`, PR #${r.pullNumber}) had not started yet: it is cancelled when a runner picks it up.`,
      );
      return;
    }
    const next = outcome.next
      ? ` @${outcome.next.requestedBy}'s waiting \`${outcome.next.label}\` (run \`${outcome.next.id}\`) starts after it; \`${gate.command.prefix} abort\` again drops it.`
      : "";
    await reply(
      `🛑 Aborting run \`${r.id}\` (@${r.requestedBy}'s \`${r.label}\`, PR #${r.pullNumber}): the replay stops, the target is torn down, and the run ends as aborted with its evidence.${next}`,
    );
  },
};
