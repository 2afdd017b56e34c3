// Every command in the catalogue is handled: commented on a pull request by a maintainer, each gets its
// answer (no runner takes the replay, so nothing is built or run).

import { jest } from "@jest/globals";
import { COMMANDS, type CommandVerb } from "../../../src/bot/commands/index.js";
import { COMMAND_EXAMPLES } from "../support/command-examples.js";
import { startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";

jest.setTimeout(30_000);

let world: BotWorld;

beforeEach(async () => {
  world = await startBotWorld("catalogue", { start: { runner: false } });
});

afterEach(async () => {
  await world.close();
});

test("every command in the catalogue is answered on a pull request", async () => {
  const pr = world.fake.createPullRequest({ head: "feature", files: { "src/ingest.ts": "export {};\n" } }).number;
  const botComments = () => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);
  const answers: Partial<Record<CommandVerb, string>> = {};
  for (const verb of Object.keys(COMMANDS) as CommandVerb[]) {
    const before = botComments().length;
    await world.comment(pr, "octocat", `/gate-a ${COMMAND_EXAMPLES[verb]}`);
    answers[verb] = (await waitFor(`the answer to ${verb}`, () => botComments()[before])).body;
  }
  for (const body of Object.values(answers)) {
    expect(body).not.toContain("Something went wrong");
    expect(body).not.toContain("I did not understand");
  }
  // The replay is queued with its war-room comment; the abort cancels it before a runner takes it.
  expect(await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr)).toHaveLength(1);
  expect(answers.replay).toContain("Gate A war room: `replay 5k`");
  expect(answers.status).toContain("**Gate A status**");
  expect(answers.abort).toContain("had not started yet");
  expect(answers["approve-run"]).toContain("not a fork: its runs need no approval");
  expect(answers.help).toContain("`/gate-a approve-run`");
});
