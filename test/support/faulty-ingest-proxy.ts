// An HTTP proxy in front of a real ingest service that breaks it on purpose, so tests can prove a
// gate FAILs with the right SLO named: answer 500 to one request in N, or answer duplicates as new.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FaultyProxyOptions {
  upstream: string; // base URL of the real service
  /** Answer 500 (without forwarding) to every Nth POST. */
  failOneIn?: number;
  /** Turn the service's "200 duplicate" answers into "202 accepted", as a broken dedupe would. */
  duplicatesAsNew?: boolean;
}

export async function startFaultyProxy(o: FaultyProxyOptions): Promise<{ url: string; close(): Promise<void> }> {
  let posts = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === "POST" && o.failOneIn && ++posts % o.failOneIn === 0) {
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"code":"injected","message":"injected fault"}}');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
    try {
      const up = await fetch(`${o.upstream}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
      });
      let status = up.status;
      let body = Buffer.from(await up.arrayBuffer());
      if (o.duplicatesAsNew && status === 200 && body.includes('"duplicate"')) {
        status = 202;
        body = Buffer.from(body.toString().replace('"duplicate"', '"accepted"'));
      }
      const out: Record<string, string> = { "content-type": up.headers.get("content-type") ?? "application/json" };
      const rid = up.headers.get("x-request-id");
      if (rid) out["x-request-id"] = rid;
      res.writeHead(status, out).end(body);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
