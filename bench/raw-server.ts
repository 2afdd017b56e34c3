// The benchmark's limit case: a bare node:http server that reads the body and answers 202.
// Run as its own process: `node dist/bench/raw-server.js [--port P]`; prints `listening PORT`.

import { createServer } from "node:http";
import type { Server } from "node:http";
import { pathToFileURL } from "node:url";

const ACCEPTED = Buffer.from('{"status":"accepted"}');

/** Start the raw server on 127.0.0.1 (port 0: any free port). */
export function startRawServer(port = 0): Promise<{ server: Server; port: number }> {
  let counter = 0;
  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(req.url === "/readyz" ? 200 : 405).end();
      return;
    }
    // Read the body to its end, as any receiver must before answering.
    req.on("data", () => {});
    req.on("end", () => {
      res.writeHead(202, { "content-type": "application/json", "content-length": ACCEPTED.length, "x-request-id": `raw-${++counter}` });
      res.end(ACCEPTED);
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
  startRawServer(port).then(({ server, port: bound }) => {
    console.log(`listening ${bound}`);
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
