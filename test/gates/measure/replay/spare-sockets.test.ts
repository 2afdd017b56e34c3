// Connections opened before t0 are handed out only while a service would still take a request on them: the
// bundled service cuts a connection silent for 5 s, and three runners that connected a second before t0 had seven
// requests reset at t0 + 4.1 s (runners A/A, 2026-12-06) when a stall sent a burst onto such connections.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { connect, type Socket } from "node:net";
import { preconnect, spareUsable, SPARE_SOCKET_MAX_AGE_MS } from "../../../../src/gates/measure/replay/spare-sockets.js";

let server: Server;
let url: URL;
/** The server's ends of the connections, to cut as a service cuts a silent one. */
const accepted: Socket[] = [];

beforeAll(async () => {
  server = createServer((req, res) => res.end());
  server.on("connection", (s: Socket) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test("a spare connection is usable while open and younger than the age limit, which stays under a 5 s silent-connection cut", async () => {
  expect(SPARE_SOCKET_MAX_AGE_MS).toBeLessThanOrEqual(4_000);
  const sockets = await preconnect(url, 3);
  expect(sockets).toHaveLength(3);
  const now = performance.now();
  expect(sockets.every((s) => spareUsable(s, now))).toBe(true);
  expect(spareUsable(sockets[0], now + SPARE_SOCKET_MAX_AGE_MS + 1)).toBe(false);
  sockets[1].destroy();
  expect(spareUsable(sockets[1])).toBe(false);
  // A spare reads nothing, so the server's cut goes unseen until a request is written on it: only its age keeps it
  // from being handed out.
  for (const s of accepted) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  expect(spareUsable(sockets[2])).toBe(true);
  expect(spareUsable(sockets[2], performance.now() + SPARE_SOCKET_MAX_AGE_MS + 1)).toBe(false);
  sockets[2].destroy();
  sockets[0].destroy();
});

test("a connection not opened in advance is never taken for a spare", async () => {
  const s = connect({ host: url.hostname, port: Number(url.port) });
  await new Promise((r) => s.once("connect", r));
  expect(spareUsable(s)).toBe(false);
  s.destroy();
});

test("over https nothing is opened in advance", async () => {
  expect(await preconnect(new URL("https://127.0.0.1:1/"), 4)).toEqual([]);
});
