// Connections the driver opens before t0, handed to its pool as it needs them, while they are still
// fit to carry a request.

import { connect as netConnect } from "node:net";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";

/**
 * A connection opened in advance and still unused this long is not handed out: services cut a connection that
 * has sent nothing after a few seconds (the bundled one after its 5 s request timeout, as slowloris protection),
 * and a request written as that cut arrives, after a stall of the driver's, is reset. Well under 5 s, ms.
 */
export const SPARE_SOCKET_MAX_AGE_MS = 3_000;

const openedAt = new WeakMap<Socket, number>();

/** Whether a connection opened in advance can still carry a request: open, and young enough (SPARE_SOCKET_MAX_AGE_MS). */
export function spareUsable(socket: Socket, now = performance.now()): boolean {
  const at = openedAt.get(socket);
  return !socket.destroyed && socket.readyState === "open" && at !== undefined && now - at <= SPARE_SOCKET_MAX_AGE_MS;
}

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
        socket.once("connect", () => {
          openedAt.set(socket, performance.now());
          resolve(socket);
        });
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
