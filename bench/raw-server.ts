// The benchmark's limit case: a bare node:http server that reads the body and answers 202.
// Run as its own process: `node dist/bench/raw-server.js [--port P] [--redis URL]`; prints `listening PORT`.
//
// With --redis (the bench's "floor" system) it first puts each body into a Redis stream with one XADD
// and answers once Redis has replied: nothing else (no checks, no log, no idempotency), so it is the
// least a server can spend on a request it answers only once the event is durable. At 1,000/s the
// requests come one per turn of the event loop, so that is one Redis round trip each.

import { createServer } from "node:http";
import type { Server } from "node:http";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";

const ACCEPTED = Buffer.from('{"status":"accepted"}');

/** Start the raw server on 127.0.0.1 (port 0: any free port). */
export function startRawServer(port = 0, redis?: Redis): Promise<{ server: Server; port: number }> {
  let counter = 0;
  const stream = `bench:floor:${process.pid}`;
  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(req.url === "/readyz" ? 200 : 405).end();
      return;
    }
    // Read the body to its end, as any receiver must before answering.
    const accept = () => {
      res.writeHead(202, { "content-type": "application/json", "content-length": ACCEPTED.length, "x-request-id": `raw-${++counter}` });
      res.end(ACCEPTED);
    };
    if (!redis) {
      req.on("data", () => {});
      req.on("end", accept);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      redis.xadd(stream, "MAXLEN", "~", "10000", "*", "event", chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).then(accept, () => {
        res.writeHead(503).end();
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : port });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--port");
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  const r = process.argv.indexOf("--redis");
  const redis = r >= 0 ? new Redis(process.argv[r + 1]) : undefined;
  startRawServer(port, redis).then(({ server, port: bound }) => {
    console.log(`listening ${bound}`);
    const stop = () =>
      server.close(async () => {
        await redis?.del(`bench:floor:${process.pid}`).catch(() => {});
        redis?.disconnect();
        process.exit(0);
      });
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
