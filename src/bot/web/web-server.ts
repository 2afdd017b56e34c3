// The bot's one web server (express): GitHub's webhooks through Probot's node middleware, the war-room
// pages (list and live run page, updated by server-sent events), /healthz, /readyz and Prometheus
// /metrics. One port, one process; runners elsewhere report through Redis, which the pages read.

import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Redis } from "ioredis";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { RunQueue } from "../runs/run-queue.js";
import type { BotLog } from "../boot/bot-log.js";
import { canRead, pageAccess, READS_ALL, sameSecret, SESSION_COOKIE, sessionValue, type Reader } from "./access.js";
import { SCRIPT, STYLESHEET } from "./assets.js";
import { BotMetrics } from "./metrics.js";
import { sessionReader, signInPage, signInRoutes, type SignInDeps } from "./sign-in-routes.js";
import { errorPage, filterRuns, isLive, pageTitle, readFilters, renderLive, renderRunList, renderRunPage, type RunView } from "./pages.js";

export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: Error) => void) => unknown;

export interface WebDeps {
  queue: RunQueue;
  catalog: GateCatalog;
  redis: Redis;
  /** Probot's createNodeMiddleware: answers POST <webhookPath>, passes everything else on. */
  webhooks: NodeMiddleware;
  webhookPath: string;
  /** DASHBOARD_TOKEN; without it the pages are closed, unless `dashboardOpen`. */
  dashboardToken?: string;
  /** `gate bot --dashboard open`: without a token, requests made on 127.0.0.1 itself are let in. */
  dashboardOpen?: boolean;
  /** Sign-in with GitHub (GITHUB_CLIENT_ID/SECRET): people see the runs of repositories they can read. */
  signIn?: Omit<SignInDeps, "log">;
  log: BotLog;
  /** How often an open war-room page's stream looks for changes, ms (default 1000). */
  livePollMs?: number;
  /** Open streams at most (each polls Redis). */
  maxStreams?: number;
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

/** The express app; the caller listens (so tests can bind it wherever they need). */
export function createWebApp(deps: WebDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const started = Date.now();
  const metrics = new BotMetrics();
  let streams = 0;
  const maxStreams = deps.maxStreams ?? 100;

  // Webhooks first, untouched: Probot verifies the signature over the raw body, so nothing may parse it before.
  app.use((req, res, next) => {
    if (req.path === deps.webhookPath) {
      res.once("finish", () => metrics.webhookAnswered(res.statusCode));
    }
    void Promise.resolve(deps.webhooks(req, res, next)).catch(next);
  });

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });

  app.get("/readyz", async (_req, res) => {
    try {
      await deps.redis.ping();
      res.type("text/plain").send("ready\n");
    } catch (err) {
      res
        .status(503)
        .type("text/plain")
        .send(`not ready: Redis does not answer (${(err as Error).message})\n`);
    }
  });

  app.get("/metrics", async (_req, res) => {
    let redisUp = true;
    let queue: Record<string, number> = {};
    let runs: Awaited<ReturnType<RunQueue["state"]["recentRuns"]>> = [];
    try {
      await deps.redis.ping();
      [queue, runs] = await Promise.all([deps.queue.jobCounts(), deps.queue.state.recentRuns(1000)]);
    } catch {
      redisUp = false;
    }
    const count = (keys: string[]) => keys.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});
    const mem = process.memoryUsage();
    metrics.refresh({
      uptimeSeconds: (Date.now() - started) / 1000,
      residentBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      redisUp,
      queue,
      runsByState: count(runs.map((r) => r.phase)),
      runsByVerdict: count(runs.flatMap((r) => (r.verdict ? [r.verdict] : []))),
      liveStreams: streams,
    });
    const { contentType, text } = await metrics.render();
    res.type(contentType).send(text);
  });

  // Everything below is a page: security headers, and only for who may read them.
  app.use((req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });

  app.get("/static/war-room.css", (_req, res) => {
    res.type("text/css").send(STYLESHEET);
  });
  app.get("/static/war-room.js", (_req, res) => {
    res.type("text/javascript").send(SCRIPT);
  });
  // Browsers ask for it on every page; there is none.
  app.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });

  if (deps.signIn) app.use(signInRoutes({ ...deps.signIn, log: deps.log }));

  app.get("/login", (req, res) => {
    const token = deps.dashboardToken;
    const given = typeof req.query.token === "string" ? req.query.token : "";
    if (deps.signIn && req.query.token === undefined) {
      res.type("html").send(signInPage(!!token));
      return;
    }
    if (!token) {
      res
        .status(404)
        .type("html")
        .send(
          errorPage(
            404,
            "No DASHBOARD_TOKEN is set on this bot, so there is no login: set DASHBOARD_TOKEN, or start it with `gate bot --dashboard open` on a laptop.",
          ),
        );
      return;
    }
    if (!given || !sameSecret(given, token)) {
      res.status(401).type("html").send(errorPage(401, "That is not the dashboard token. Ask whoever runs the bot for DASHBOARD_TOKEN."));
      return;
    }
    const secure = req.secure ? "; Secure" : "";
    res.set(
      "set-cookie",
      `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${30 * 24 * 3600}${secure}`,
    );
    res.redirect(303, "/");
  });

  // Lets a request in with its reader in res.locals.reader: the token or an open dashboard read every run,
  // a person signed in with GitHub the runs of their repositories.
  const guard = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const access = pageAccess(req, { token: deps.dashboardToken, signIn: !!deps.signIn, open: deps.dashboardOpen });
      const reader = access.ok ? READS_ALL : deps.signIn ? await sessionReader(deps.signIn.sessions, req) : null;
      if (reader) {
        res.locals.reader = reader;
        return next();
      }
      if (!access.ok) res.status(access.status).type("html").send(errorPage(access.status, access.message));
    } catch (err) {
      next(err);
    }
  };
  const readerOf = (res: Response): Reader => res.locals.reader as Reader;

  app.get("/", guard, async (req, res, next) => {
    try {
      const reader = readerOf(res);
      const all = (await deps.queue.state.recentRuns(500)).filter((r) => canRead(reader, r));
      const filters = readFilters(req.query as Record<string, unknown>);
      res.type("html").send(renderRunList(filterRuns(all, filters), all, filters));
    } catch (err) {
      next(err);
    }
  });

  /** The run as the reader may see it: null when there is none or it is of a repository they cannot read. */
  const viewOf = async (id: string, reader: Reader): Promise<RunView | null> => {
    const record = await deps.queue.state.get(id);
    if (!record || !canRead(reader, record)) return null;
    const progress = await deps.queue.progress.get(id);
    const approvalKey = deps.queue.state.approvalKey;
    return { record, gate: deps.catalog.byName(record.gate) ?? null, progress, now: new Date(), approvalKey };
  };

  app.get("/runs/:id", guard, async (req, res, next) => {
    try {
      const view = await viewOf(String(req.params.id), readerOf(res));
      if (!view) {
        res
          .status(404)
          .type("html")
          .send(errorPage(404, `No run "${String(req.params.id)}": runs are kept 90 days; the list at / has the ones there are.`));
        return;
      }
      res.type("html").send(renderRunPage(view));
    } catch (err) {
      next(err);
    }
  });

  app.get("/runs/:id/events", guard, async (req, res) => {
    const id = String(req.params.id);
    const reader = readerOf(res);
    // Like the page: a run the reader may not see is not there (404, never 403).
    if (!(await viewOf(id, reader).catch(() => null))) {
      res.status(404).type("text/plain").send(`No run "${id}".\n`);
      return;
    }
    if (streams >= maxStreams) {
      res.status(503).set("retry-after", "10").type("text/plain").send("too many live pages open; try again shortly\n");
      return;
    }
    streams++;
    res.status(200).set({ "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" });
    res.flushHeaders();
    let last = "";
    let closed = false;
    let beat = Date.now();
    req.on("close", () => {
      closed = true;
    });
    try {
      res.write("retry: 2000\n\n");
      while (!closed) {
        const view = await viewOf(id, reader).catch(() => null);
        if (!view) {
          res.write(`event: end\ndata: {}\n\n`);
          break;
        }
        const html = renderLive(view);
        if (html !== last) {
          last = html;
          res.write(
            `event: run\ndata: ${JSON.stringify({ html, title: pageTitle(view.record, view.gate), state: view.record.phase, verdict: view.record.verdict ?? null })}\n\n`,
          );
          beat = Date.now();
        } else if (Date.now() - beat > 15_000) {
          res.write(": keep-alive\n\n");
          beat = Date.now();
        }
        if (!isLive(view.record)) {
          res.write(`event: end\ndata: {}\n\n`);
          break;
        }
        await new Promise((r) => setTimeout(r, deps.livePollMs ?? 1000));
      }
    } finally {
      streams--;
      res.end();
    }
  });

  app.use((_req, res) => {
    res.status(404).type("html").send(errorPage(404, "Nothing here. The runs are listed at /."));
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    deps.log.error({ err }, "a war-room page failed");
    if (!res.headersSent)
      res.status(500).type("html").send(errorPage(500, "The page could not be rendered; the bot's log has the details."));
  });
  return app;
}
