// What the driver does before t0 so its own start-up does not land on the measured requests:
// connections opened in advance, and one run of its own code against a throwaway sink.

import { createServer } from "node:http";
import { connect as netConnect } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import type { ReplayOptions } from "./replay-options.js";
import { run } from "./replay.js";

/**
 * Open TCP connections before t0. Connecting costs both sides a few hundred microseconds; without
 * this, the first burst after any hiccup opens dozens at once and the driver falls behind its own
 * schedule. The service sees connections, no requests. Plain http only (https connects as usual).
 */
export async function preconnect(url: URL, count: number): Promise<Socket[]> {
  if (url.protocol !== "http:") return [];
  const port = Number(url.port || 80);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const attempts = Array.from(
    { length: count },
    () =>
      new Promise<Socket | null>((resolve) => {
        const socket = netConnect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
        socket.once("connect", () => resolve(socket));
        socket.once("error", () => resolve(null));
      }),
  );
  const sockets: Socket[] = [];
  for (const s of await Promise.all(attempts)) {
    if (!s) continue;
    s.removeAllListeners("error");
    s.on("error", () => s.destroy());
    sockets.push(s);
  }
  return sockets;
}

/**
 * Run the driver's own code once, against a throwaway sink on 127.0.0.1, before t0. A cold
 * driver compiles undici's HTTP parser (WebAssembly) and JIT-compiles its send path during its
 * first requests, stalling its event loop for 100-200 ms: that lag belongs to the driver, and
 * would otherwise land on the first measured requests. The service under test sees nothing.
 */
export async function warmUp(o: ReplayOptions): Promise<void> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(202, { "x-request-id": "warm-up" }).end('{"status":"accepted"}'));
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = sink.address() as AddressInfo;
    const events = o.events.slice(0, 1000);
    const url = new URL(`http://127.0.0.1:${port}/warm-up`);
    // The same paths as the real run, handing over connections opened in advance included.
    const sockets = await preconnect(url, 32);
    await run({ ...o, url: url.href, rate: 10_000, events, connections: 64, onProgress: undefined, shouldStop: undefined }, url, sockets);
  } finally {
    sink.closeAllConnections();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}
