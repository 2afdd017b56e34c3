// The bench's framework comparison: express 5 with express.json() (parse the body, as a webhook
// receiver built on it would) answering 202. Beside raw-server.ts, it gives the README's
// "node:http, not express" figures a source. Run as its own process:
// `node dist/bench/express-server.js [--port P]`; prints `listening PORT`.

import express from "express";
import type { Server } from "node:http";
import { pathToFileURL } from "node:url";

export function startExpressServer(port = 0): Promise<{ server: Server; port: number }> {
  let counter = 0;
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.get("/readyz", (_req, res) => {
    res.status(200).end();
  });
  app.post("/webhooks", express.json({ limit: "1mb" }), (_req, res) => {
    res.status(202).set("x-request-id", `express-${++counter}`).json({ status: "accepted" });
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(port, "127.0.0.1", (err?: Error) => {
      if (err) return reject(err);
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : port });
    });
    server.keepAliveTimeout = 65_000;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--port");
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  startExpressServer(port).then(({ server, port: bound }) => {
    console.log(`listening ${bound}`);
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
