// Who may read the war-room pages, over real sockets: without DASHBOARD_TOKEN only requests made on
// 127.0.0.1 itself (a request from 127.0.0.2, a foreign Host, or one relayed by a proxy is refused);
// with it, only a browser that logged in with the token. Health, readiness and metrics stay open; no
// secret from a run reaches a page.

import { request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { Redis } from "ioredis";
import { pino } from "pino";
import { RunStateSeal } from "../../../src/bot/runs/run-state-seal.js";
import { RunQueue } from "../../../src/bot/runs/run-queue.js";
import { loadGateCatalog } from "../../../src/bot/boot/gate-catalog.js";
import { createWebApp } from "../../../src/bot/web/web-server.js";
import { SESSION_COOKIE } from "../../../src/bot/web/access.js";
import { deleteKeys, FIXTURE_GATES, newPrefix, REDIS_URL } from "../support/bot-world.js";
import { queuedRun } from "../support/queued-run.js";

const TOKEN = "war-room-token-0123456789abcdef";

let redis: Redis;
let queue: RunQueue;
let prefix: string;
const servers: Server[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = newPrefix("web");
  queue = new RunQueue(redis, prefix, { seal: RunStateSeal.random() });
  await queue.state.claim(queuedRun("gate-a-run-1"));
  await queue.state.update("gate-a-run-1", () => ({
    phase: "finished",
    reportedAt: new Date().toISOString(),
    verdict: "FAIL",
    // A reason that quotes credentials, as an error message from a driver might.
    reason:
      "could not run: connect to postgres://gate:hunter2-secret@db.internal:5432/x failed; Authorization: Bearer rg_0123456789abcdef0123456789abcdef",
  }));
  await queue.state.claim({ ...queuedRun("gate-s-run-2"), gate: "gate-s", owner: "other", repo: "thing", requestedBy: "mallory" });
});

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  await queue.close();
  await deleteKeys(prefix);
  redis.disconnect();
});

async function serve(host: string, token?: string, open = false): Promise<{ host: string; port: number }> {
  const app = createWebApp({
    queue,
    catalog: loadGateCatalog(FIXTURE_GATES),
    redis,
    // This suite is about the pages; the webhook side is the app tests' (it would answer POST /hooks only).
    webhooks: (_req, _res, next) => next?.(),
    webhookPath: "/hooks",
    dashboardToken: token,
    dashboardOpen: open,
    log: pino({ level: "silent" }),
  });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { host, port: (server.address() as AddressInfo).port };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET from a chosen local address, with chosen headers (node:http, so the source address is ours to pick). */
function get(
  to: { host: string; port: number },
  path: string,
  o: { from?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: to.host, port: to.port, path, localAddress: o.from, headers: o.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("without DASHBOARD_TOKEN", () => {
  test("the dashboard is closed: no page, stream or API answers, whatever a proxy or a forged header says", async () => {
    const at = await serve("127.0.0.1");
    // Direct, from 127.0.0.1 naming localhost: still no implicit trust.
    const direct = await get(at, "/", { from: "127.0.0.1", headers: { host: "localhost" } });
    expect(direct.status).toBe(403);
    expect(direct.body).toContain("The dashboard is closed");
    expect(direct.body).not.toContain("gate-a-run-1");
    // A default reverse proxy: Host rewritten to the upstream, no X-Forwarded-For.
    for (const path of ["/", "/runs/gate-a-run-1", "/runs/gate-a-run-1/events"])
      expect((await get(at, path, { from: "127.0.0.1", headers: { host: `127.0.0.1:${at.port}` } })).status).toBe(403);
    // An empty or a forged forwarding header.
    expect((await get(at, "/", { from: "127.0.0.1", headers: { "x-forwarded-for": "" } })).status).toBe(403);
    expect((await get(at, "/", { from: "127.0.0.1", headers: { "x-forwarded-for": "127.0.0.1" } })).status).toBe(403);
  });

  test("opened with --dashboard open, an empty forwarding header still counts as relayed", async () => {
    const at = await serve("127.0.0.1", undefined, true);
    expect((await get(at, "/", { from: "127.0.0.1" })).status).toBe(200);
    expect((await get(at, "/", { from: "127.0.0.1", headers: { "x-forwarded-for": "" } })).status).toBe(403);
    expect((await get(at, "/", { from: "127.0.0.1", headers: { via: "1.1 proxy" } })).status).toBe(403);
  });

  test("opened, pages answer a request made on 127.0.0.1 and list the runs", async () => {
    const at = await serve("127.0.0.1", undefined, true);
    const list = await get(at, "/", { from: "127.0.0.1" });
    expect(list.status).toBe(200);
    expect(list.body).toContain('data-run="gate-a-run-1"');
    expect(list.body).toContain('data-run="gate-s-run-2"');
    expect(list.headers["content-security-policy"]).toContain("script-src 'self'");
    // Filters: by gate, by verdict, by who asked.
    expect((await get(at, "/?gate=gate-s", { from: "127.0.0.1" })).body).not.toContain('data-run="gate-a-run-1"');
    expect((await get(at, "/?verdict=FAIL", { from: "127.0.0.1" })).body).not.toContain('data-run="gate-s-run-2"');
    const byWho = await get(at, "/?who=%40mallory", { from: "127.0.0.1" });
    expect(byWho.body).toContain('data-run="gate-s-run-2"');
    expect(byWho.body).not.toContain('data-run="gate-a-run-1"');
  });

  test("opened, a request from 127.0.0.2 is refused, as is one naming another host or relayed by a proxy", async () => {
    const other = await serve("127.0.0.2", undefined, true);
    const refused = await get(other, "/", { from: "127.0.0.2" });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("answers only to requests made on 127.0.0.1 itself");
    expect(refused.body).not.toContain("gate-a-run-1");
    expect((await get(other, "/runs/gate-a-run-1", { from: "127.0.0.2" })).status).toBe(403);
    expect((await get(other, "/runs/gate-a-run-1/events", { from: "127.0.0.2" })).status).toBe(403);

    const local = await serve("127.0.0.1", undefined, true);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
    expect((await get(local, "/", { from: "127.0.0.1", headers: { host: "evil.example" } })).status).toBe(403);
    // A reverse proxy on this machine makes every visitor local: a forwarded request is refused.
    expect((await get(local, "/", { from: "127.0.0.1", headers: { "x-forwarded-for": "203.0.113.9" } })).status).toBe(403);
    expect((await get(local, "/", { from: "127.0.0.1", headers: { forwarded: "for=203.0.113.9" } })).status).toBe(403);
  });

  test("health, readiness and metrics answer anywhere; metrics cover the queue and the runs", async () => {
    const other = await serve("127.0.0.2");
    const health = await get(other, "/healthz", { from: "127.0.0.2" });
    expect(health).toMatchObject({ status: 200, body: "ok\n" });
    expect((await get(other, "/readyz", { from: "127.0.0.2" })).status).toBe(200);
    const metrics = await get(other, "/metrics", { from: "127.0.0.2" });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^release_gate_run_queue_jobs\{state="waiting"\} \d+$/m);
    expect(metrics.body).toMatch(/^release_gate_runs\{state="finished"\} 1$/m);
    expect(metrics.body).toMatch(/^release_gate_runs\{state="queued"\} 1$/m);
    expect(metrics.body).toMatch(/^release_gate_runs_by_verdict\{verdict="FAIL"\} 1$/m);
    expect(metrics.body).toContain("# TYPE release_gate_bot_webhooks_total counter");
  });
});

describe("with DASHBOARD_TOKEN", () => {
  test("pages need the login cookie; a wrong token is refused; the cookie is not the token", async () => {
    const at = await serve("127.0.0.2", TOKEN);
    // Even from the machine itself: the token decides once it is set.
    expect((await get(at, "/", { from: "127.0.0.2" })).status).toBe(401);
    const local = await serve("127.0.0.1", TOKEN);
    expect((await get(local, "/", { from: "127.0.0.1" })).status).toBe(401);

    expect((await get(at, `/login?token=${TOKEN.slice(0, -1)}x`, { from: "127.0.0.2" })).status).toBe(401);
    expect((await get(at, "/login", { from: "127.0.0.2" })).status).toBe(401);
    const login = await get(at, `/login?token=${TOKEN}`, { from: "127.0.0.2" });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe("/");
    const setCookie = String(login.headers["set-cookie"]);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/`));
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(";")[0]!;

    const list = await get(at, "/", { from: "127.0.0.2", headers: { cookie } });
    expect(list.status).toBe(200);
    expect(list.body).toContain('data-run="gate-a-run-1"');
    expect((await get(at, "/", { from: "127.0.0.2", headers: { cookie: `${SESSION_COOKIE}=${TOKEN}` } })).status).toBe(401);
    expect((await get(at, "/", { from: "127.0.0.2", headers: { cookie: `${cookie}x` } })).status).toBe(401);
  });

  test("a run's page shows its reason with the credentials in it redacted", async () => {
    const at = await serve("127.0.0.2", TOKEN);
    const cookie = String((await get(at, `/login?token=${TOKEN}`, { from: "127.0.0.2" })).headers["set-cookie"]).split(";")[0]!;
    const page = await get(at, "/runs/gate-a-run-1", { from: "127.0.0.2", headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain("postgres://gate:[REDACTED]@db.internal:5432/x");
    expect(page.body).not.toContain("hunter2");
    expect(page.body).not.toContain("rg_0123456789abcdef0123456789abcdef");
    // A finished run's page does not listen for updates; an unknown run is a 404.
    expect(page.body).not.toContain("data-events=");
    expect((await get(at, "/runs/nope", { from: "127.0.0.2", headers: { cookie } })).status).toBe(404);
  });
});
