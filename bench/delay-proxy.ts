// A TCP proxy that puts a service "far away": every chunk waits half the added round trip in each
// direction, so a request-response exchange gains `rttMs`. The bench puts PostgreSQL 10 ms away.
// Run as its own process: `node dist/bench/delay-proxy.js --target 127.0.0.1:5432 --rtt-ms 10 [--port P]`
// prints `listening PORT`.

import { createServer, connect } from "node:net";
import type { Server, Socket } from "node:net";
import { pathToFileURL } from "node:url";

export interface DelayProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Added round trip, ms: each direction delays every chunk by rttMs / 2. */
  rttMs: number;
  /** Port to listen on, on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}

export interface DelayProxy {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Start the proxy; resolves once it listens. */
export function startDelayProxy(o: DelayProxyOptions): Promise<DelayProxy> {
  if (!(o.rttMs >= 0)) throw new RangeError(`rttMs must be >= 0, got ${o.rttMs}`);
  const oneWayMs = o.rttMs / 2;
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect({ host: o.targetHost, port: o.targetPort, noDelay: true });
    client.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    pipeDelayed(client, upstream, oneWayMs);
    pipeDelayed(upstream, client, oneWayMs);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", closeBoth);
    upstream.on("error", closeBoth);
    client.on("close", closeBoth);
    upstream.on("close", closeBoth);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({
        port,
        connections: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * Forward from -> to, each chunk `delayMs` after it arrived. One timer per direction over a FIFO
 * keeps chunks in order (a timer per chunk would too, but costs more at thousands of chunks/s).
 */
function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  const queue: { at: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now) {
      if (!to.destroyed) to.write(queue.shift()!.chunk);
      else queue.shift();
    }
    if (queue.length > 0) schedule();
    else if (ended && !to.destroyed) to.end();
  };
  const schedule = () => {
    if (timer) return;
    const wait = queue[0].at - performance.now();
    // setTimeout rounds down to whole ms and may fire early by a fraction: never forward early.
    timer = setTimeout(flush, Math.max(0, Math.ceil(wait)));
  };
  from.on("data", (chunk: Buffer) => {
    if (delayMs === 0) {
      to.write(chunk);
      return;
    }
    queue.push({ at: performance.now() + delayMs, chunk });
    schedule();
  });
  from.on("end", () => {
    ended = true;
    if (queue.length === 0 && !to.destroyed) to.end();
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const target = arg("--target") ?? "";
  const [host, port] = target.split(":");
  const rttMs = Number(arg("--rtt-ms") ?? "10");
  if (!host || !Number.isInteger(Number(port)) || !(rttMs >= 0)) {
    console.error("usage: delay-proxy --target HOST:PORT [--rtt-ms 10] [--port 0]");
    process.exit(2);
  }
  startDelayProxy({ targetHost: host, targetPort: Number(port), rttMs, port: Number(arg("--port") ?? "0") }).then((proxy) => {
    console.log(`listening ${proxy.port}`);
    const stop = () => proxy.close().then(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
