// Starting the bot: the GitHub App's webhook server (Probot) with the war-room web app, and the runners that take
// queued runs from Redis, each acting on GitHub as the App. `gate bot` and `gate runner` (bot-and-runner.ts) call these.

import { hostname } from "node:os";
import { Redis } from "ioredis";
import { pino, type Logger } from "pino";
import { createServer, type Server as HttpServer } from "node:http";
import { createNodeMiddleware, Probot } from "probot";
import { releaseGateApp } from "../events/app.js";
import type { BotOptions, GitHubAppOptions, OptionProblem, RunnerEnvOptions } from "./bot-options.js";
import { probotClientClass } from "../github/github-client.js";
import { GateCatalogError, loadGateCatalog, type GateCatalog } from "./gate-catalog.js";
import type { GitHub } from "../github/github.js";
import { RunQueue } from "../runs/run-queue.js";
import { ForkApprovals } from "../commands/fork-approval.js";
import { DeliveryLedger, RunLock } from "../events/delivery-ledger.js";
import { PromotionLedger } from "../signoff/promotion-stages.js";
import { Runner, type RunnerDeps } from "../runs/runner.js";
import type { RunOnGitHubDeps } from "../runs/run-on-github.js";
import { guardForGitHub } from "../github/redact-for-github.js";
import { registerOwnSecrets } from "../../gates/evidence/index.js";
import { createWebApp } from "../web/web-server.js";
import { DashboardSessions } from "../web/dashboard-sessions.js";
import { GitHubSignIn } from "../web/github-sign-in.js";
import { startQueueCadence } from "../runs/queue-cadence.js";

/** Installation clients from the App's credentials: the runner acts as the App on each repository. */
export function installationClients(app: GitHubAppOptions, log: Logger, throttle = true): (installationId: number) => Promise<GitHub> {
  const probot = new Probot({
    appId: app.appId,
    privateKey: app.privateKey,
    baseUrl: app.baseUrl,
    log: log.child({ name: "runner-auth" }),
    Octokit: probotClientClass(throttle),
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
  // Once, before anything is written: no evidence file or GitHub text may carry the bot's own secrets.
  registerOwnSecrets(options.ownSecrets);
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
    throw new BotStartError([
      { code: "redis_unreachable", message: `cannot reach Redis at REDIS_URL=${options.redisUrl} (${(err as Error).message})` },
    ]);
  }
  const trust = { seal: options.runStateSeal, approvalKey: options.signingKey, log };
  return { log, redis, catalog, queue: new RunQueue(redis, options.prefix, trust) };
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
  /** The gate engine the in-process runner calls (default runToBundle); tests give one that decides at once. */
  runGate?: RunOnGitHubDeps["runGate"];
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
    ...(start.runGate ? { runGate: start.runGate } : {}),
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
 * its runner as a child process instead: see superviseRunner in bot-and-runner.ts.)
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
    Octokit: probotClientClass(start.throttle ?? options.throttle),
  });
  const webhooks = await createNodeMiddleware(
    releaseGateApp({
      gates: catalog,
      queue,
      signingKey: options.signingKey,
      forkApprovals: new ForkApprovals(redis, options.prefix, options.runStateSeal),
      promotions: new PromotionLedger(redis, `${options.prefix}:bot`, { seal: options.runStateSeal, log }),
      deploymentRunTimeoutMs: start.deploymentRunTimeoutMs,
      deliveries: new DeliveryLedger(redis, options.prefix),
      runLock: new RunLock(redis, options.prefix),
    }),
    { probot, webhooksPath: options.webhookPath },
  );
  const app = createWebApp({
    queue,
    catalog,
    redis,
    webhooks,
    webhookPath: options.webhookPath,
    dashboardToken: options.dashboardToken,
    dashboardOpen: options.dashboardOpen,
    ...(options.dashboardSignIn
      ? {
          signIn: {
            github: new GitHubSignIn({ ...options.dashboardSignIn, apiBaseUrl: options.baseUrl }),
            sessions: new DashboardSessions(redis, options.prefix, options.dashboardSignIn.clientSecret),
            publicUrl: options.dashboardSignIn.publicUrl,
          },
        }
      : {}),
    log,
    livePollMs: start.livePollMs,
  });
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
    throw new BotStartError([
      {
        code: "listen_failed",
        message: `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}; set PORT to a free port`,
      },
    ]);
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
