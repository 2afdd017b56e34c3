// `gate bot` (= `npm start`): the GitHub App's webhook server (Probot) together with one runner, so one
// command gives a working bot. `gate runner`: one more runner for the same queue, on any machine that
// reaches the same Redis.

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readBotOptions, readRunnerOptions, type OptionProblem } from "./bot-options.js";
import { BotStartError, startBot, startRunner, type RunnerHandle } from "./start-bot.js";

// What starts the bot and its runners, for a caller that embeds them (the tests do).
export { startBot, startRunner, type BotHandle, type RunnerHandle, type StartOptions } from "./start-bot.js";

const ENV_HELP = `Environment (the standard Probot variables, read once at start):
  APP_ID               the GitHub App's id                        (required)
  PRIVATE_KEY          the App's private key (PEM), or
  PRIVATE_KEY_PATH     the path of its .pem file                  (one of them required)
  WEBHOOK_SECRET       the App's webhook secret                   (gate bot only, required)
  WEBHOOK_PATH         default /api/github/webhooks               (gate bot only)
  PORT, HOST           default 3000, localhost (HOST=0.0.0.0 in a container)  (gate bot only)
  DASHBOARD_TOKEN      read-only token for the war-room pages (/login?token=...); without it the
                       pages are closed, unless \`gate bot --dashboard open\` (a laptop: binds
                       127.0.0.1 and answers requests made there without a token)  (gate bot only)
  GITHUB_CLIENT_ID     the App's Client ID and a client secret (App settings > General): people
  GITHUB_CLIENT_SECRET sign in with GitHub at /login and see the runs of repositories they can read
                       through the App (sessions of 8 hours, in Redis); both or neither  (gate bot only)
  DASHBOARD_URL        the bot's public origin, e.g. https://gate.example.com; the App's callback URL
                       is <DASHBOARD_URL>/auth/callback (default: the address the browser used)
  GHE_HOST             GitHub Enterprise Server host (API at \${GHE_PROTOCOL}://\${GHE_HOST}/api/v3)
  GHE_PROTOCOL         default https
  LOG_LEVEL            trace|debug|info|warn|error|fatal|silent, default info
  REDIS_URL            the run queue's Redis, default redis://127.0.0.1:6379
  RELEASE_GATE_PREFIX  prefix of the bot's Redis keys, default release-gate
  GATES_DIR            folder of gate files (*.yaml), default gates/
  EVIDENCE_SIGNING_KEY the Ed25519 private key (PEM, from \`gate keygen\`) that signs the attestation
                       and every sign-off entry, or
  EVIDENCE_SIGNING_KEY_PATH  its file; without either, evidence is unsigned (gate verify --key fails)
  GATES_DIR            folder of gate files (*.yaml), default gates/; used for repositories whose
                       default branch has no .github/gates/*.yaml or gates/*.yaml
  BUILD_CACHE_DIR      where builds of commits under test are kept, by tree SHA + lockfile digest
                       + build command; default release-gate-builds in the temp folder
  GITHUB_THROTTLE      on (default): space writes apart as GitHub advises; off for a GHES without
                       secondary rate limits or a local fake`;

const BOT_HELP = `Usage: gate bot

Runs the release-gate GitHub App: answers /gate-a commands on pull requests (and the Re-run button
of the gate's check runs, and merge queues' merge groups), approves or rejects deployments to the
environments a gate file guards (a custom deployment protection rule), queues runs, and runs
them with one runner (a \`gate runner\` child process, restarted if it dies; start more anywhere with
\`gate runner\`). Same as \`npm start\`.

One web server (express) on PORT serves the webhooks at WEBHOOK_PATH, the live war room of every run
(/ lists the runs, /runs/<id> updates live), /healthz, /readyz and Prometheus /metrics.

${ENV_HELP}`;

const RUNNER_HELP = `Usage: gate runner

Runs one more gate runner: takes queued runs (one at a time) from the bot's queue in Redis, runs the
gate, and reports on the pull request through the GitHub App.

       gate runner --replay [--redis URL] [--prefix P] [--concurrency N] [--name NAME]
Runs a replay runner instead: drives shards of phases for \`gate run --runners N\` (see
\`gate runner --replay --help\` and docs/distributed-runners.md).

${ENV_HELP}`;

function printProblems(command: string, problems: OptionProblem[]): number {
  for (const p of problems) console.error(`gate ${command}: ${p.message} [${p.code}]`);
  console.error(`Run "gate ${command} --help" for the environment it reads.`);
  return 2;
}

function helpRequested(command: string, args: string[], help: string): number | null {
  try {
    const { values } = parseArgs({ args, options: { help: { type: "boolean", short: "h" } }, allowPositionals: false });
    if (values.help) {
      console.log(help);
      return 0;
    }
    return null;
  } catch (err) {
    console.error(`gate ${command}: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => () => resolve(signal);
    process.once("SIGINT", on("SIGINT"));
    process.once("SIGTERM", on("SIGTERM"));
  });
}

async function serve(
  command: "bot" | "runner",
  started: () => Promise<RunnerHandle & { webhookUrl?: string }>,
  companion?: (stopping: () => boolean) => RunnerProcess,
): Promise<number> {
  let handle: RunnerHandle & { webhookUrl?: string };
  try {
    handle = await started();
  } catch (err) {
    if (err instanceof BotStartError) return printProblems(command, err.problems);
    throw err;
  }
  let stopping = false;
  const runner = companion?.(() => stopping);
  const gates = handle.catalog.gates.map((g) => `${g.command.prefix} (${g.source.file})`).join(", ");
  console.error(
    `gate ${command}: ready; gates ${gates}${handle.webhookUrl ? `; webhooks at ${handle.webhookUrl}` : ""}${"webUrl" in handle ? `; war room at ${String(handle.webUrl)}/` : ""}`,
  );
  const ended = await Promise.race([untilSignal().then((signal) => ({ signal, code: 0 })), runner?.failed ?? new Promise<never>(() => {})]);
  stopping = true;
  console.error(
    `gate ${command}: ${"signal" in ended ? ended.signal : "the runner cannot run"}: stopping (a running replay is stopped and torn down first)`,
  );
  await runner?.stop();
  await handle.close();
  return ended.code;
}

interface RunnerProcess {
  /** Settles when the runner cannot run at all (a configuration problem): the bot stops with it. */
  failed: Promise<{ code: number }>;
  /** SIGTERM, then waits for the runner's teardown. */
  stop(): Promise<void>;
}

/**
 * The bot's one runner as a child process (`gate runner` with the same environment), restarted if it
 * dies: the replay gets an event loop and a heap of its own, so the webhook server's work never shows up
 * as the replay driver's send lag. A run the child was running when it died is closed by the stalled
 * check of the next child.
 */
function superviseRunner(stopping: () => boolean): RunnerProcess {
  const cli = fileURLToPath(new URL("../../cli.js", import.meta.url));
  let child: ChildProcess | null = null;
  let fail: (r: { code: number }) => void = () => {};
  const failed = new Promise<{ code: number }>((resolve) => (fail = resolve));
  const start = () => {
    child = spawn(process.execPath, [cli, "runner"], { env: process.env, stdio: ["ignore", "inherit", "inherit"] });
    child.once("exit", (code, signal) => {
      child = null;
      if (stopping()) return;
      if (code === 2) {
        fail({ code: 2 });
        return;
      }
      console.error(`gate bot: the runner exited (${signal ?? `code ${code}`}); starting another in 2 s`);
      setTimeout(() => {
        if (!stopping()) start();
      }, 2000).unref();
    });
  };
  start();
  return {
    failed,
    async stop() {
      const c = child as ChildProcess | null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
      c.kill("SIGTERM");
      await exited;
    },
  };
}

export async function botCommand(args: string[]): Promise<number> {
  const dashboard = args.indexOf("--dashboard");
  const open = dashboard >= 0 ? args[dashboard + 1] : undefined;
  if (dashboard >= 0 && open !== "open") {
    console.error(
      `gate bot: --dashboard takes one word, open (got ${JSON.stringify(open ?? "")}); without it the pages need DASHBOARD_TOKEN`,
    );
    return 2;
  }
  const rest = dashboard >= 0 ? [...args.slice(0, dashboard), ...args.slice(dashboard + 2)] : args;
  const asked = helpRequested("bot", rest, BOT_HELP);
  if (asked !== null) return asked;
  const read = readBotOptions(process.env);
  if (Array.isArray(read)) return printProblems("bot", read);
  // An open dashboard trusts local requests: it listens on 127.0.0.1 only, whatever HOST says, and says so.
  const options = open ? { ...read, dashboardOpen: true, host: "127.0.0.1" } : read;
  if (open && !options.dashboardToken)
    console.error(
      "gate bot: --dashboard open: the war-room pages answer requests made on 127.0.0.1 without a token; listening on 127.0.0.1 only",
    );
  return serve("bot", () => startBot(options, { runner: false }), superviseRunner);
}

export async function runnerCommand(args: string[]): Promise<number> {
  const asked = helpRequested("runner", args, RUNNER_HELP);
  if (asked !== null) return asked;
  const options = readRunnerOptions(process.env);
  if (Array.isArray(options)) return printProblems("runner", options);
  return serve("runner", () => startRunner(options));
}

export { RUNNER_HELP, BOT_HELP };
