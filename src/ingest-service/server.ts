// The HTTP accept path, on bare node:http (frameworks measured 2-4x slower here): validate and
// authenticate a webhook over its raw bytes, then one Redis round trip (queue mode) or one INSERT and
// COMMIT on the single shared connection (sync mode, the seed's design), then answer.

import { randomUUID } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { Logger } from "pino";
import { EventAcceptor } from "./accept.js";
import { checkJsonObject } from "./json-check.js";
import { createAuthenticator, type Authenticator } from "./authenticate.js";
import type { ServerOptions } from "./config.js";
import { IngestStartError, openPostgres, openRedis, redactUrl } from "./connect.js";
import { SERVER_POSTGRES_POOL } from "./postgres-pools.js";
import { createServiceLog } from "./logger.js";
import { renderMetrics, ServerMetrics, type QueueState } from "./metrics.js";
import { migrate } from "./migrate.js";
import { queueKeys } from "./queue-keys.js";

export interface IngestServer {
  /** Base URL, e.g. http://127.0.0.1:8080 (webhooks go to `${url}/webhooks`). */
  url: string;
  port: number;
  metrics: ServerMetrics;
  /** Stops accepting, lets requests in flight finish, closes connections, flushes the log. */
  close(): Promise<void>;
}

/** Why a request is refused: the status and the JSON error it is answered with. */
interface Rejection {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

const JSON_TYPE = "application/json";

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
    pool = await openPostgres(options.databaseUrl, SERVER_POSTGRES_POOL, log);
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
  const authenticate: Authenticator = createAuthenticator(options.auth);
  const acceptor = redis ? new EventAcceptor(redis, options.namespace, options.idempotencyTtlS) : undefined;
  const keys = queueKeys(options.namespace);
  const schema = `"${options.namespace}"`;
  const ingestOne = `select ${schema}.ingest_one($1, $2, $3, $4, $5, $6, $7, $8) as request_id`;
  const maxBody = options.maxBodyBytes;
  const orderingHeader = options.orderingKeyHeader;
  const sequenceHeader = options.sequenceHeader;

  function send(res: ServerResponse, status: number, body: string, requestId: string, extra?: Record<string, string>): void {
    const headers: Record<string, string> = {
      "content-type": JSON_TYPE,
      "content-length": String(Buffer.byteLength(body)),
      "x-request-id": requestId,
    };
    if (extra) Object.assign(headers, extra);
    res.writeHead(status, headers);
    res.end(body);
  }

  function reject(res: ServerResponse, requestId: string, started: number, r: Rejection): void {
    metrics.reject(r.code);
    send(res, r.status, JSON.stringify({ error: { code: r.code, message: r.message } }), requestId, r.headers);
    metrics.latencyMs.observe(performance.now() - started);
    log.info({ hop: "rejected", request_id: requestId, status: r.status, code: r.code });
  }

  /** Everything that can be checked before touching Redis; the event's fields, or why not. */
  function validate(req: IncomingMessage, body: Buffer): Rejection | { idempotencyKey: string; orderingKey: string; seq: string } {
    const h = req.headers;
    const auth = authenticate(h, body, Date.now() / 1000);
    if (auth) return { status: 401, code: auth.code, message: auth.message };
    if (body.length === 0) return { status: 400, code: "empty_body", message: "the request body is empty; send a JSON object" };

    const idempotencyKey = h["webhook-id"] ?? h["x-github-delivery"] ?? h["idempotency-key"];
    if (typeof idempotencyKey !== "string" || idempotencyKey.length === 0) {
      return {
        status: 400,
        code: "missing_idempotency_key",
        message: "no idempotency key: send a webhook-id, X-GitHub-Delivery or Idempotency-Key header",
      };
    }
    if (idempotencyKey.length > 256) {
      return { status: 400, code: "invalid_idempotency_key", message: "the idempotency key is longer than 256 characters" };
    }
    const orderingKey = h[orderingHeader];
    const seq = h[sequenceHeader];
    if (seq !== undefined && (typeof seq !== "string" || !/^\d{1,15}$/.test(seq))) {
      return {
        status: 400,
        code: "invalid_sequence",
        message: `${sequenceHeader} must be a non-negative integer, got ${JSON.stringify(seq)}`,
      };
    }
    if (orderingKey !== undefined && (typeof orderingKey !== "string" || orderingKey.length === 0 || orderingKey.length > 256)) {
      return { status: 400, code: "invalid_ordering_key", message: `${orderingHeader} must be 1 to 256 characters` };
    }
    if (orderingKey !== undefined && seq === undefined) {
      return {
        status: 400,
        code: "missing_sequence",
        message: `${orderingHeader} is set but ${sequenceHeader} is missing: events of an ordering key need a sequence number`,
      };
    }

    if (!isUtf8(body)) return { status: 400, code: "malformed_json", message: "the body is not valid UTF-8 JSON" };
    const problem = checkJsonObject(body);
    if (problem) return { status: 400, code: problem.code, message: problem.message };
    return { idempotencyKey, orderingKey: (orderingKey as string | undefined) ?? "", seq: (seq as string | undefined) ?? "" };
  }

  function onWebhook(req: IncomingMessage, res: ServerResponse, started: number, receivedMs: number): void {
    const requestId = randomUUID();
    const type = req.headers["content-type"];
    if (type !== JSON_TYPE && !isJsonType(type)) {
      req.resume();
      return reject(res, requestId, started, {
        status: 415,
        code: "unsupported_media_type",
        message: `Content-Type must be application/json, got ${JSON.stringify(type ?? "")}`,
      });
    }
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > maxBody) return tooLarge(req, res, requestId, started);

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBody) {
        refused = true;
        chunks.length = 0;
        tooLarge(req, res, requestId, started);
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", () => {
      refused = true; // The client went away; nothing to answer.
    });
    req.on("end", () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      let checked: ReturnType<typeof validate>;
      try {
        checked = validate(req, body);
      } catch (err) {
        // A bug in a check must cost one request a 500, never the process and everything in flight.
        log.error({ request_id: requestId, err: (err as Error).message }, "validation failed unexpectedly");
        return reject(res, requestId, started, { status: 500, code: "internal", message: "the request could not be checked; it was not stored" });
      }
      if ("status" in checked) return reject(res, requestId, started, checked);
      const receivedAt = new Date(receivedMs).toISOString();
      if (acceptor) enqueue(res, started, requestId, checked, receivedAt, body);
      else store(res, started, requestId, checked, receivedAt, body);
    });
  }

  function tooLarge(req: IncomingMessage, res: ServerResponse, requestId: string, started: number): void {
    // Answer now and close: reading the rest of an oversized body would only waste the server's time.
    reject(res, requestId, started, {
      status: 413,
      code: "payload_too_large",
      message: `the body is larger than ${maxBody} bytes (--max-body-bytes)`,
      headers: { connection: "close" },
    });
    req.resume();
  }

  function enqueue(
    res: ServerResponse,
    started: number,
    requestId: string,
    e: { idempotencyKey: string; orderingKey: string; seq: string },
    receivedAt: string,
    payload: Buffer,
  ): void {
    acceptor!
      .accept({ requestId, idempotencyKey: e.idempotencyKey, orderingKey: e.orderingKey, seq: e.seq, receivedAt, payload })
      .then(
        (r) => {
          if (r.status === "accepted") {
            metrics.accepted++;
            send(res, 202, `{"request_id":"${requestId}","status":"accepted"}`, requestId);
            log.info({
              hop: "enqueued",
              request_id: requestId,
              idempotency_key: e.idempotencyKey,
              received_at: receivedAt,
              enqueued_at: new Date().toISOString(),
            });
          } else {
            metrics.duplicates++;
            send(res, 200, JSON.stringify({ request_id: r.requestId, status: "duplicate" }), r.requestId);
            log.info({ hop: "duplicate", request_id: r.requestId, idempotency_key: e.idempotencyKey, received_at: receivedAt });
          }
          metrics.latencyMs.observe(performance.now() - started);
        },
        (err: Error) => {
          reject(res, requestId, started, {
            status: 503,
            code: "queue_unavailable",
            message: `the queue (Redis) is not answering (${err.message}); retry later`,
            headers: { "retry-after": "1" },
          });
        },
      );
  }

  function store(
    res: ServerResponse,
    started: number,
    requestId: string,
    e: { idempotencyKey: string; orderingKey: string; seq: string },
    receivedAt: string,
    payload: Buffer,
  ): void {
    const batchId = `sync-${requestId}`;
    pool
      .query(ingestOne, [
        e.idempotencyKey,
        requestId,
        e.orderingKey || null,
        e.seq === "" ? null : e.seq,
        payload.toString("utf8"),
        receivedAt,
        batchId,
        options.firstSeq,
      ])
      .then(
        ({ rows }) => {
          const stored = rows[0].request_id as string;
          if (stored === requestId) {
            metrics.accepted++;
            send(res, 202, `{"request_id":"${requestId}","status":"accepted"}`, requestId);
            log.info({
              hop: "committed",
              batch_id: batchId,
              request_ids: [requestId],
              idempotency_key: e.idempotencyKey,
              received_at: receivedAt,
              committed_at: new Date().toISOString(),
            });
          } else {
            metrics.duplicates++;
            send(res, 200, JSON.stringify({ request_id: stored, status: "duplicate" }), stored);
            log.info({ hop: "duplicate", request_id: stored, idempotency_key: e.idempotencyKey, received_at: receivedAt });
          }
          metrics.latencyMs.observe(performance.now() - started);
        },
        (err: { code?: string; message: string }) => {
          // Data PostgreSQL refuses (class 22, 54) is the sender's to fix; anything else is an outage.
          if (err.code && (err.code.startsWith("22") || err.code.startsWith("54"))) {
            return reject(res, requestId, started, {
              status: 400,
              code: "unsupported_json",
              message: `PostgreSQL refused the body: ${err.message}`,
            });
          }
          reject(res, requestId, started, {
            status: 503,
            code: "store_unavailable",
            message: `the database is not answering (${err.message}); retry later`,
            headers: { "retry-after": "1" },
          });
        },
      );
  }

  async function readiness(res: ServerResponse): Promise<void> {
    const check = async (name: string, probe: () => Promise<unknown>): Promise<[string, string]> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe(),
          new Promise((_, fail) => (timer = setTimeout(() => fail(new Error("no answer within 1000 ms")), 1000))),
        ]);
        return [name, "ok"];
      } catch (err) {
        return [name, (err as Error).message];
      } finally {
        clearTimeout(timer);
      }
    };
    const checks = await Promise.all([
      ...(redis ? [check("redis", () => redis.ping())] : []),
      check("postgres", () => pool.query("select 1")),
    ]);
    const ok = checks.every(([, v]) => v === "ok");
    send(res, ok ? 200 : 503, JSON.stringify({ status: ok ? "ready" : "not_ready", mode: options.mode, checks: Object.fromEntries(checks) }), randomUUID());
  }

  async function scrape(res: ServerResponse): Promise<void> {
    let queue: QueueState | null = null;
    let workers: Record<string, string> | null = null;
    if (redis) {
      const [depth, pending, hash] = await Promise.all([
        redis.xlen(keys.events).catch(() => -1),
        (redis.xpending(keys.events, keys.group) as Promise<[number, ...unknown[]]>).then((r) => Number(r[0])).catch(() => 0),
        redis.hgetall(keys.metrics).catch(() => ({}) as Record<string, string>),
      ]);
      queue = { depth, pending };
      workers = hash;
    }
    const body = renderMetrics(metrics, queue, workers);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4", "content-length": String(Buffer.byteLength(body)) });
    res.end(body);
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
    (req, res) => {
    const started = performance.now();
    const receivedMs = Date.now();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path === "/webhooks") {
      if (req.method === "POST") return onWebhook(req, res, started, receivedMs);
      return wrongMethod(req, res, "POST");
    }
    if (path === "/healthz" || path === "/readyz" || path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") return wrongMethod(req, res, "GET, HEAD");
      req.resume();
      if (path === "/healthz") return send(res, 200, `{"status":"alive","mode":"${options.mode}"}`, randomUUID());
      const done = path === "/readyz" ? readiness(res) : scrape(res);
      done.catch((err: Error) => send(res, 500, JSON.stringify({ error: { code: "internal", message: err.message } }), randomUUID()));
      return;
    }
    req.resume();
    const requestId = randomUUID();
    metrics.reject("not_found");
    send(res, 404, JSON.stringify({ error: { code: "not_found", message: `no route ${path}; webhooks go to POST /webhooks` } }), requestId);
    },
  );
  // A connection that never sends a byte has no request for the checks above to time out.
  server.on("connection", (socket) => {
    const silent = setTimeout(() => socket.bytesRead === 0 && socket.destroy(), slowMs);
    socket.once("close", () => clearTimeout(silent));
  });

  function wrongMethod(req: IncomingMessage, res: ServerResponse, allow: string): void {
    req.resume();
    metrics.reject("method_not_allowed");
    const body = JSON.stringify({ error: { code: "method_not_allowed", message: `${req.method} is not allowed here; use ${allow}` } });
    send(res, 405, body, randomUUID(), { allow });
  }

  // Sync mode has no workers, so it sweeps for sequence gaps itself.
  let sweep: NodeJS.Timeout | undefined;
  if (!redis) {
    const sweepSql = `select ${schema}.apply_gaps($1)`;
    let sweeping = false;
    sweep = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      pool
        .query(sweepSql, [options.gapTimeoutMs])
        .then(({ rows }) => {
          const gaps = rows[0].apply_gaps as number;
          if (gaps > 0) log.info({ hop: "gap_skipped", gaps }, "skipped sequence gaps after the gap timeout");
        })
        .catch((err: Error) => log.warn({ error: err.message }, "gap sweep failed"))
        .finally(() => (sweeping = false));
    }, Math.min(1000, Math.max(50, Math.floor(options.gapTimeoutMs / 2))));
  }

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
    server.listen(options.port, options.host, () => resolve());
  }).catch(async (err) => {
    clearInterval(sweep);
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  log.info({ url, mode: options.mode, auth: Object.keys(options.auth).filter((k) => options.auth[k as keyof typeof options.auth]) }, "ingest server listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(sweep);
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
      await pool.end().catch(() => {});
      log.info("ingest server stopped");
      await flush();
    })());
  return { url, port, metrics, close };
}

function isJsonType(type: string | undefined): boolean {
  if (!type) return false;
  const t = type.toLowerCase();
  if (!t.startsWith(JSON_TYPE)) return false;
  const next = t.charCodeAt(JSON_TYPE.length);
  return Number.isNaN(next) || next === 59 /* ; */ || next === 32 /* space */;
}
