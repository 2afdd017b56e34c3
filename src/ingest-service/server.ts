// The ingest service's HTTP server, on bare node:http (frameworks measured 2-4x slower here): it
// routes POST /webhooks to the accept path (routes/webhooks.ts) and the probes (routes/probes.ts). A
// checked webhook goes to the mode's EventSink: one Redis round trip (queue mode) or one INSERT and
// COMMIT on the single shared connection (sync mode, the seed's design), which answers it.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { Logger } from "pino";
import type { ServerOptions } from "./config.js";
import { IngestStartError, openPostgres, openRedis, redactUrl } from "./connect.js";
import type { EventSink } from "./event-sink.js";
import { startGapSweeper } from "./gap-sweeper.js";
import { postgresApplicationName, SERVER_POSTGRES_POOL } from "./postgres-pools.js";
import { createServiceLog } from "./logger.js";
import { ServerMetrics } from "./metrics.js";
import { migrate } from "./migrate.js";
import { QueueSink } from "./queue-sink.js";
import { probeRoutes } from "./routes/probes.js";
import { sendRefusal, type Refusal, type Route } from "./routes/route.js";
import { WebhookAnswers } from "./routes/webhook-answers.js";
import { DelayedAnswers } from "./routes/delayed-answers.js";
import { webhookRoute } from "./routes/webhooks.js";
import { SyncSink } from "./sync-sink.js";

export interface IngestServer {
  /** Base URL, e.g. http://127.0.0.1:8080 (webhooks go to `${url}/webhooks`). */
  url: string;
  port: number;
  metrics: ServerMetrics;
  /** Stops accepting, lets requests in flight finish, closes connections, flushes the log. */
  close(): Promise<void>;
}

export async function startIngestServer(options: ServerOptions): Promise<IngestServer> {
  const configured = Boolean(options.auth.bearerKey || options.auth.signingSecret || options.auth.githubSecret);
  if (!configured && !options.insecure) {
    throw new IngestStartError(
      "config_invalid",
      "no webhook authentication is configured: set WEBHOOK_BEARER_KEY, WEBHOOK_SIGNING_SECRET or GITHUB_WEBHOOK_SECRET, or pass --insecure",
    );
  }
  const { log, flush } = createServiceLog(options, "serve");
  let redis: Redis | undefined;
  let pool: pg.Pool | undefined;
  try {
    if (options.mode === "queue") redis = await openRedis(options.redisUrl, { kind: "accept" }, log);
    // Sync mode: ONE connection for every request, so commits are serialised as the seed had them.
    pool = await openPostgres(options.databaseUrl, SERVER_POSTGRES_POOL, log, postgresApplicationName("serve", options.namespace));
    try {
      const applied = await migrate(pool, options.namespace);
      if (applied.length) log.info({ applied }, "schema migrated");
    } catch (err) {
      throw new IngestStartError("migration_failed", `${(err as Error).message} (database ${redactUrl(options.databaseUrl)})`);
    }
    return await listen(options, log, flush, redis, pool);
  } catch (err) {
    redis?.disconnect();
    await pool?.end().catch(() => {});
    await flush();
    throw err;
  }
}

async function listen(
  options: ServerOptions,
  log: Logger,
  flush: () => Promise<void>,
  redis: Redis | undefined,
  pool: pg.Pool,
): Promise<IngestServer> {
  const metrics = new ServerMetrics();
  // --added-latency: only a service slowed on purpose has a timer on its accept path.
  const answers = options.addedLatencyMs > 0 ? new DelayedAnswers(metrics, log, options.addedLatencyMs) : new WebhookAnswers(metrics, log);
  const sink: EventSink = redis
    ? new QueueSink(redis, options.namespace, options.idempotencyTtlS, answers)
    : new SyncSink(pool, options.namespace, options.firstSeq, answers);
  const routes = new Map<string, Route>([
    ["/webhooks", webhookRoute(options, sink, answers, log)],
    ...probeRoutes({ mode: options.mode, namespace: options.namespace, redis, pool, metrics }),
  ]);

  function refuse(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
    req.resume();
    metrics.reject(r.code);
    sendRefusal(res, randomUUID(), r);
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const receivedMs = Date.now();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const found = routes.get(path);
    if (found === undefined) {
      return refuse(req, res, { status: 404, code: "not_found", message: `no route ${path}; webhooks go to POST /webhooks` });
    }
    if (!found.methods.includes(req.method as string)) {
      const allow = found.methods.join(", ");
      return refuse(req, res, {
        status: 405,
        code: "method_not_allowed",
        message: `${req.method} is not allowed here; use ${allow}`,
        headers: { allow },
      });
    }
    found.handle(req, res, started, receivedMs);
  }

  // Slow senders (slowloris, trickled bodies, silent connections) are cut after requestTimeoutMs: a
  // webhook that takes longer to arrive is not a webhook. Checked every second, not Node's every 30.
  const slowMs = options.requestTimeoutMs;
  const server = createServer(
    {
      keepAliveTimeout: 10_000,
      headersTimeout: slowMs,
      requestTimeout: slowMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(slowMs / 4)),
      noDelay: true,
    },
    route,
  );
  // A connection that never sends a byte has no request for the checks above to time out.
  server.on("connection", (socket) => {
    const silent = setTimeout(() => socket.bytesRead === 0 && socket.destroy(), slowMs);
    socket.once("close", () => clearTimeout(silent));
  });

  // Sync mode has no workers, so it sweeps for sequence gaps itself.
  const sweeper = redis ? undefined : startGapSweeper(pool, options.namespace, options.gapTimeoutMs, log);

  await new Promise<void>((resolve, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(
        new IngestStartError(
          "listen_failed",
          err.code === "EADDRINUSE"
            ? `port ${options.port} on ${options.host} is in use: choose another with --port or PORT`
            : `cannot listen on ${options.host}:${options.port} (${err.message}): check --host/HOST and --port/PORT`,
        ),
      ),
    );
    if (options.listenFd !== undefined) server.listen({ fd: options.listenFd }, () => resolve());
    else server.listen(options.port, options.host, () => resolve());
  }).catch(async (err) => {
    await sweeper?.stop();
    throw err;
  });
  const address = server.address() as AddressInfo;
  const port = address.port;
  const listening = options.listenFd === undefined ? options.host : address.address;
  const host = listening.includes(":") ? `[${listening}]` : listening;
  const url = `http://${host}:${port}`;
  log.info(
    { url, mode: options.mode, auth: Object.keys(options.auth).filter((k) => options.auth[k as keyof typeof options.auth]) },
    "ingest server listening",
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const swept = sweeper?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections go as soon as they are idle; whatever still hangs after 3 s is cut.
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), 3000);
        server.once("close", () => {
          clearInterval(idle);
          clearTimeout(cut);
        });
        server.closeIdleConnections();
      });
      if (redis) await redis.quit().catch(() => redis.disconnect());
      await swept;
      await pool.end().catch(() => {});
      log.info("ingest server stopped");
      await flush();
    })());
  return { url, port, metrics, close };
}
