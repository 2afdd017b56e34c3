// The `gate` command: parses the subcommand and hands the rest of argv to the module that owns it.
// Each command is a module of src/cli/ that calls the domain (src/gates), the bot or the ingest service.

const HELP = `gate: release gates that prove, with evidence, that a service is ready for production

Usage:
  gate run FILE [--phase smoke|load|final|all] [--out DIR] [--json] [--baseline DIR] [--runners N]
                                  deploy the target, replay in phases, decide PASS/FAIL, write evidence
  gate validate FILE              check a gate file against the schema without running anything
  gate verify DIR [--key PUB.pem] check an evidence bundle against its SHA256SUMS manifest (and its signatures)
  gate keygen [--out PREFIX]      generate the Ed25519 key pair the bot signs evidence with
  gate ingest serve [options]     run the bundled webhook ingest service (HTTP accept path)
  gate ingest worker [options]    run an ingest worker (queue -> PostgreSQL in batches)
  gate bot                        run the GitHub App with one runner (same as npm start)
  gate runner                     run one more gate runner for the bot's run queue
  gate runner --replay [--redis URL] [--concurrency N]
                                  run a replay runner: drives shards of phases for \`gate run --runners N\`
  gate publish DIR                open the evidence PR for a bundle (GitHub Actions)
  gate ci FILE [--out DIR]        run a gate in a GitHub Actions workflow, publish its evidence

Run "gate COMMAND --help" for the options of one command.
Exit codes: 0 PASS / success, 1 FAIL, 2 could not run (bad input, unreachable service).`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run-command.js")).runCommand,
  validate: async () => (await import("./validate-command.js")).validateCommand,
  verify: async () => (await import("./verify-command.js")).verifyCommand,
  keygen: async () => (await import("./keygen-command.js")).keygenCommand,
  ingest: async () => (await import("../ingest-service/ingest-command.js")).ingestCommand,
  bot: async () => (await import("../bot/boot/bot-and-runner.js")).botCommand,
  // `gate runner --replay` drives shards of phases; plain `gate runner` takes the bot's runs.
  runner: async () => async (args) =>
    args.includes("--replay")
      ? (await import("./replay-runner-command.js")).replayRunnerCommand(args)
      : (await import("../bot/boot/bot-and-runner.js")).runnerCommand(args),
  publish: async () => (await import("./publish-command.js")).publishCommand,
  ci: async () => (await import("./actions-command.js")).actionsCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`gate: unknown command "${name}". Run "gate --help" for the list of commands.`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    console.error(`gate: ${e?.message ?? String(err)}`);
    process.exitCode = 2;
  },
);
