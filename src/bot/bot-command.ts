// `gate bot` (= `npm start`): the GitHub App's webhook server (Probot) together with one runner, so one
// command gives a working bot. `gate runner`: one more runner for the same queue, on any machine that
// reaches the same Redis.

import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { pino, type Logger } from "pino";
import { createServer, type Server as HttpServer } from "node:http";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { releaseGateApp } from "./app.js";
import { readBotOptions, readRunnerOptions, type BotOptions, type GitHubAppOptions, type OptionProblem, type RunnerEnvOptions } from "./bot-options.js";
import { GateCatalogError, loadGateCatalog, type GateCatalog } from "./gate-catalog.js";
import type { GitHub } from "./github.js";
import { RunQueue } from "./run-queue.js";
import { ForkApprovals } from "./fork-approval.js";
import { PromotionLedger } from "./promotion-stages.js";
import { Runner, type RunnerDeps } from "./runner.js";
import { guardForGitHub } from "./redact-for-github.js";
import { createWebApp } from "./web/web-server.js";
import { startQueueCadence } from "./queue-cadence.js";

const ENV_HELP = `Environment (the standard Probot variables, read once at start):
  APP_ID               the GitHub App's id                        (required)
  PRIVATE_KEY          the App's private key (PEM), or
  PRIVATE_KEY_PATH     the path of its .pem file                  (one of them required)
  WEBHOOK_SECRET       the App's webhook secret                   (gate bot only, required)
  WEBHOOK_PATH         default /api/github/webhooks               (gate bot only)
  PORT, HOST           default 3000, localhost (HOST=0.0.0.0 in a container)  (gate bot only)
  DASHBOARD_TOKEN      read-only token for the war-room pages (/login?token=...); without it the
                       pages answer only to requests made on 127.0.0.1 itself  (gate bot only)
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

/**
 * Probot's client spaces writes a second apart per installation (GitHub's advice against secondary rate
 * limits); a test against a local fake turns that off.
 */
function octokitClass(throttle: boolean): typeof ProbotOctokit {
  // Off only stops the spacing: a 403 with x-ratelimit-remaining 0 or a 429 with Retry-After is still
  // waited out and retried (GHES has primary rate limits too), instead of losing the write.
  // A function, not an object: Probot passes its own throttle options down, which would replace ours.
  return throttle
    ? ProbotOctokit
    : ProbotOctokit.defaults((options: { throttle?: object }) => ({ ...options, throttle: { ...options.throttle, write: unspaced, notifications: unspaced } }));
}

/** A stand-in for the throttling plugin's per-installation write limiter that lets every write go at once. */
const unspaced = { key: () => ({ schedule: <T>(_options: unknown, job: () => T) => Promise.resolve(job()) }) };

/** Installation clients from the App's credentials: the runner acts as the App on each repository. */
export function installationClients(app: GitHubAppOptions, log: Logger, throttle = true): (installationId: number) => Promise<GitHub> {
  const probot = new Probot({
    appId: app.appId,
    privateKey: app.privateKey,
    baseUrl: app.baseUrl,
    log: log.child({ name: "runner-auth" }),
    Octokit: octokitClass(throttle),
  });
  // Every text a runner posts is redacted on its way out (guardForGitHub).
  return async (installationId) => guardForGitHub(await probot.auth(installationId)) as unknown as GitHub;
}

interface Shared {
  log: Logger;
  redis: Redis;
  catalog: GateCatalog;
  queue: RunQueue;
}

export class BotStartError extends Error {
  constructor(readonly problems: OptionProblem[]) {
    super(problems.map((p) => p.message).join("; "));
  }
}

async function connect(options: RunnerEnvOptions, log: Logger): Promise<Shared> {
  let catalog: GateCatalog;
  try {
    catalog = loadGateCatalog(options.gatesDir);
  } catch (err) {
    if (err instanceof GateCatalogError) throw new BotStartError([{ code: err.code, message: err.message }]);
    throw err;
  }
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new BotStartError([{ code: "redis_unreachable", message: `cannot reach Redis at REDIS_URL=${options.redisUrl} (${(err as Error).message})` }]);
  }
  return { log, redis, catalog, queue: new RunQueue(redis, options.prefix) };
}

/** Knobs a caller (tests, an operator embedding the bot) may set beyond the environment. */
export interface StartOptions {
  log?: Logger;
  /** Runner lock and stalled-check periods, ms (default 30 s each). */
  lockDuration?: number;
  stalledInterval?: number;
  /** Extra environment for the gates' bundled service. */
  serviceEnv?: Record<string, string>;
  /** Space GitHub writes a second apart (default: GITHUB_THROTTLE, on). */
  throttle?: boolean;
  /** Start the in-process runner with the webhook server (default true). */
  runner?: boolean;
  /** Longest a deployment protection rule's `requires: run` may take, ms (default 30 min). */
  deploymentRunTimeoutMs?: number;
  /** How often an open war-room page looks for changes, ms (default 1000). */
  livePollMs?: number;
  /** How often queued runs are checked for a status update at their gate's cadence, ms (default 30 s). */
  cadenceTickMs?: number;
}

export interface RunnerHandle {
  runner: Runner;
  queue: RunQueue;
  catalog: GateCatalog;
  /** Stops the runner (the current run is stopped and torn down first) and disconnects. */
  close(): Promise<void>;
}

export interface BotHandle extends RunnerHandle {
  /** The webhook URL, e.g. http://127.0.0.1:3000/api/github/webhooks */
  webhookUrl: string;
  /** The web server's base URL (war-room pages, /healthz, /readyz, /metrics), e.g. http://127.0.0.1:3000 */
  webUrl: string;
  port: number;
}

function runnerDeps(options: RunnerEnvOptions, shared: Shared, start: StartOptions): RunnerDeps {
  return {
    gates: shared.catalog,
    queue: shared.queue,
    github: installationClients(options, shared.log, start.throttle ?? options.throttle),
    log: shared.log,
    name: `${hostname()}:${process.pid}`,
    serviceEnv: start.serviceEnv,
    signingKey: options.signingKey,
    buildCacheDir: options.buildCacheDir,
  };
}

function newRunner(options: RunnerEnvOptions, shared: Shared, start: StartOptions): Runner {
  return new Runner(runnerDeps(options, shared, start), {
    connection: shared.redis,
    prefix: options.prefix,
    lockDuration: start.lockDuration,
    stalledInterval: start.stalledInterval,
  });
}

/** One runner on the queue in Redis (what `gate runner` starts). */
export async function startRunner(options: RunnerEnvOptions, start: StartOptions = {}): Promise<RunnerHandle> {
  const shared = await connect(options, start.log ?? pino({ name: "release-gate", level: options.logLevel }));
  const runner = newRunner(options, shared, start);
  runner.start();
  await runner.waitUntilReady();
  return {
    runner,
    queue: shared.queue,
    catalog: shared.catalog,
    async close() {
      await runner.close();
      await shared.queue.close();
      shared.redis.disconnect();
    },
  };
}

/**
 * The webhook server (Probot) and, unless `runner: false`, one runner in this process. (`gate bot` runs
 * its runner as a child process instead: see superviseRunner.)
 */
export async function startBot(options: BotOptions, start: StartOptions = {}): Promise<BotHandle> {
  const log = start.log ?? pino({ name: "release-gate", level: options.logLevel });
  const shared = await connect(options, log);
  const { redis, catalog, queue } = shared;
  const probot = new Probot({
    appId: options.appId,
    privateKey: options.privateKey,
    secret: options.webhookSecret,
    baseUrl: options.baseUrl,
    log,
    Octokit: octokitClass(start.throttle ?? options.throttle),
  });
  const webhooks = await createNodeMiddleware(
    releaseGateApp({
      gates: catalog,
      queue,
      signingKey: options.signingKey,
      forkApprovals: new ForkApprovals(redis, options.prefix),
      promotions: new PromotionLedger(redis, `${options.prefix}:bot`),
      deploymentRunTimeoutMs: start.deploymentRunTimeoutMs,
    }),
    { probot, webhooksPath: options.webhookPath },
  );
  const app = createWebApp({ queue, catalog, redis, webhooks, webhookPath: options.webhookPath, dashboardToken: options.dashboardToken, log, livePollMs: start.livePollMs });
  const server: HttpServer = createServer(app);
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => resolve((server.address() as { port: number }).port));
    });
  } catch (err) {
    await queue.close();
    redis.disconnect();
    throw new BotStartError([{ code: "listen_failed", message: `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}; set PORT to a free port` }]);
  }
  const stopCadence = startQueueCadence(
    { state: queue.state, gates: catalog, github: async (id) => (await probot.auth(id)) as unknown as GitHub, log },
    start.cadenceTickMs,
  );
  const runner = newRunner(options, shared, start);
  if (start.runner !== false) {
    runner.start();
    await runner.waitUntilReady();
  }
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    runner,
    queue,
    catalog,
    port,
    webhookUrl: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}${options.webhookPath}`,
    webUrl: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    async close() {
      // Live pages hold their connections open: end them, or close() would wait for every reader.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await stopCadence();
      await runner.close();
      await queue.close();
      redis.disconnect();
    },
  };
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
  console.error(`gate ${command}: ready; gates ${gates}${handle.webhookUrl ? `; webhooks at ${handle.webhookUrl}` : ""}${"webUrl" in handle ? `; war room at ${String(handle.webUrl)}/` : ""}`);
  const ended = await Promise.race([untilSignal().then((signal) => ({ signal, code: 0 })), runner?.failed ?? new Promise<never>(() => {})]);
  stopping = true;
  console.error(`gate ${command}: ${"signal" in ended ? ended.signal : "the runner cannot run"}: stopping (a running replay is stopped and torn down first)`);
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
  const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
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
  const asked = helpRequested("bot", args, BOT_HELP);
  if (asked !== null) return asked;
  const options = readBotOptions(process.env);
  if (Array.isArray(options)) return printProblems("bot", options);
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
