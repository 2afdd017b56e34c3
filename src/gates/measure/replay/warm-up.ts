// What the driver does before t0 so its own start-up does not land on the measured requests: one run
// of its own code against a throwaway sink (connections opened in advance: spare-sockets.ts).

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ReplayOptions } from "./replay-options.js";
import { run } from "./replay.js";
import { preconnect } from "./spare-sockets.js";

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
    await run(
      {
        ...o,
        url: url.href,
        rate: 10_000,
        events,
        connections: 64,
        onProgress: undefined,
        shouldStop: undefined,
        dueAt: undefined,
        startAt: undefined,
      },
      url,
      sockets,
    );
  } finally {
    sink.closeAllConnections();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}
