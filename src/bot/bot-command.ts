// `gate bot` (= `npm start`): the GitHub App's webhook server (Probot) together with one runner, so one
// command gives a working bot. `gate runner`: one more runner for the same queue, on any machine that
// reaches the same Redis.

import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { pino, type Logger } from "pino";
import { Probot, Server } from "probot";
import { releaseGateApp } from "./app.js";
import { readBotOptions, readRunnerOptions, type GitHubAppOptions, type OptionProblem, type RunnerEnvOptions } from "./bot-options.js";
import { GateCatalogError, loadGateCatalog, type GateCatalog } from "./gate-catalog.js";
import type { GitHub } from "./github.js";
import { RunQueue } from "./run-queue.js";
import { Runner, type RunnerDeps } from "./runner.js";

const ENV_HELP = `Environment (the standard Probot variables, read once at start):
  APP_ID               the GitHub App's id                        (required)
  PRIVATE_KEY          the App's private key (PEM), or
  PRIVATE_KEY_PATH     the path of its .pem file                  (one of them required)
  WEBHOOK_SECRET       the App's webhook secret                   (gate bot only, required)
  WEBHOOK_PATH         default /api/github/webhooks               (gate bot only)
  PORT, HOST           default 3000, 0.0.0.0                      (gate bot only)
  GHE_HOST             GitHub Enterprise Server host (API at \${GHE_PROTOCOL}://\${GHE_HOST}/api/v3)
  GHE_PROTOCOL         default https
  LOG_LEVEL            trace|debug|info|warn|error|fatal|silent, default info
  REDIS_URL            the run queue's Redis, default redis://127.0.0.1:6379
  RELEASE_GATE_PREFIX  prefix of the bot's Redis keys, default release-gate
  GATES_DIR            folder of gate files (*.yaml), default gates/`;

const BOT_HELP = `Usage: gate bot

Runs the release-gate GitHub App: answers /gate-a commands on pull requests, queues runs, and runs
them with one in-process runner (start more with \`gate runner\`). Same as \`npm start\`.

${ENV_HELP}`;

const RUNNER_HELP = `Usage: gate runner

Runs one more gate runner: takes queued runs (one at a time) from the bot's queue in Redis, runs the
gate, and reports on the pull request through the GitHub App.

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

/** Installation clients from the App's credentials: the runner acts as the App on each repository. */
export function installationClients(app: GitHubAppOptions, log: Logger): (installationId: number) => Promise<GitHub> {
  const probot = new Probot({ appId: app.appId, privateKey: app.privateKey, baseUrl: app.baseUrl, log: log.child({ name: "runner-auth" }) });
  return async (installationId) => (await probot.auth(installationId)) as unknown as GitHub;
}

interface Shared {
  log: Logger;
  redis: Redis;
  catalog: GateCatalog;
  queue: RunQueue;
}

async function connect(command: string, options: RunnerEnvOptions): Promise<Shared | number> {
  const log = pino({ name: "release-gate", level: options.logLevel });
  let catalog: GateCatalog;
  try {
    catalog = loadGateCatalog(options.gatesDir);
  } catch (err) {
    if (err instanceof GateCatalogError) return printProblems(command, [{ code: err.code, message: err.message }]);
    throw err;
  }
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    return printProblems(command, [{ code: "redis_unreachable", message: `cannot reach Redis at REDIS_URL=${options.redisUrl} (${(err as Error).message})` }]);
  }
  return { log, redis, catalog, queue: new RunQueue(redis, options.prefix) };
}

function runnerDeps(options: RunnerEnvOptions, shared: Shared): RunnerDeps {
  return {
    gates: shared.catalog,
    queue: shared.queue,
    github: installationClients(options, shared.log),
    log: shared.log,
    name: `${hostname()}:${process.pid}`,
  };
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => () => resolve(signal);
    process.once("SIGINT", on("SIGINT"));
    process.once("SIGTERM", on("SIGTERM"));
  });
}

export async function botCommand(args: string[]): Promise<number> {
  const asked = helpRequested("bot", args, BOT_HELP);
  if (asked !== null) return asked;
  const options = readBotOptions(process.env);
  if (Array.isArray(options)) return printProblems("bot", options);
  const shared = await connect("bot", options);
  if (typeof shared === "number") return shared;
  const { log, redis, catalog, queue } = shared;

  const server = new Server({
    host: options.host,
    port: options.port,
    webhookPath: options.webhookPath,
    log,
    Probot: Probot.defaults({ appId: options.appId, privateKey: options.privateKey, secret: options.webhookSecret, baseUrl: options.baseUrl, log }),
  });
  await server.load(releaseGateApp({ gates: catalog, queue }));
  const runner = new Runner(runnerDeps(options, shared), { connection: redis, prefix: options.prefix });
  try {
    await server.start();
  } catch (err) {
    await queue.close();
    redis.disconnect();
    return printProblems("bot", [{ code: "listen_failed", message: `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}; set PORT to a free port` }]);
  }
  runner.start();
  await runner.waitUntilReady();
  log.info(
    { gates: catalog.gates.map((g) => g.command.prefix), webhook: `http://${options.host}:${server.port}${options.webhookPath}`, api: options.baseUrl },
    "release-gate bot ready",
  );
  const signal = await untilSignal();
  log.info({ signal }, "stopping: the current run (if any) is stopped and torn down first");
  await runner.close();
  await server.stop();
  await queue.close();
  redis.disconnect();
  return 0;
}

export async function runnerCommand(args: string[]): Promise<number> {
  const asked = helpRequested("runner", args, RUNNER_HELP);
  if (asked !== null) return asked;
  const options = readRunnerOptions(process.env);
  if (Array.isArray(options)) return printProblems("runner", options);
  const shared = await connect("runner", options);
  if (typeof shared === "number") return shared;
  const runner = new Runner(runnerDeps(options, shared), { connection: shared.redis, prefix: options.prefix });
  runner.start();
  await runner.waitUntilReady();
  shared.log.info({ gates: shared.catalog.gates.map((g) => g.name) }, "release-gate runner ready");
  const signal = await untilSignal();
  shared.log.info({ signal }, "stopping: the current run (if any) is stopped and torn down first");
  await runner.close();
  await shared.queue.close();
  shared.redis.disconnect();
  return 0;
}

export { RUNNER_HELP, BOT_HELP };
