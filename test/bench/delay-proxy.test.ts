import { createServer, connect } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { startDelayProxy } from "../../bench/delay-proxy.js";

/** A TCP echo server: what goes in comes back. */
async function startEcho(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, noDelay: true }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Send `data` and resolve with the time until `expectBytes` bytes came back. */
function roundTrip(socket: Socket, data: Buffer, expectBytes = data.length): Promise<{ ms: number; echoed: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const started = performance.now();
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= expectBytes) {
        socket.off("data", onData);
        resolve({ ms: performance.now() - started, echoed: Buffer.concat(chunks) });
      }
    };
    socket.on("data", onData);
    socket.write(data);
  });
}

test("a round trip through the proxy gains the configured 10 ms, no more than a few ms beyond", async () => {
  const echo = await startEcho();
  const proxy = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: echo.port, rttMs: 10 });
  const socket = await open(proxy.port);
  try {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) times.push((await roundTrip(socket, Buffer.from(`ping ${i}`))).ms);
    times.sort((a, b) => a - b);
    expect(times[0]).toBeGreaterThanOrEqual(10);
    // Timers fire late on a busy machine; the median must still be near 10 ms, not a multiple.
    expect(times[5]).toBeLessThan(40);
    expect(proxy.connections()).toBe(1);
  } finally {
    socket.destroy();
    await proxy.close();
    echo.server.close();
  }
});

test("bytes arrive intact and in order, however they are chunked", async () => {
  const echo = await startEcho();
  const proxy = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: echo.port, rttMs: 4 });
  const socket = await open(proxy.port);
  try {
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
    const { echoed } = await roundTrip(socket, data);
    expect(echoed.equals(data)).toBe(true);
  } finally {
    socket.destroy();
    await proxy.close();
    echo.server.close();
  }
});

test("PostgreSQL through the proxy answers each query about 10 ms later than directly", async () => {
  const proxy = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: 5432, rttMs: 10 });
  const direct = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  const farClient = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres` });
  await direct.connect();
  await farClient.connect();
  try {
    const query = async (c: pg.Client) => {
      const t = performance.now();
      const r = await c.query("SELECT 1 AS one");
      expect(r.rows[0].one).toBe(1);
      return performance.now() - t;
    };
    // Interleaved, so both connections see the same machine: a busy CI box slows both alike.
    const near: number[] = [];
    const far: number[] = [];
    for (let i = 0; i < 15; i++) {
      near.push(await query(direct));
      far.push(await query(farClient));
    }
    near.sort((x, y) => x - y);
    far.sort((x, y) => x - y);
    // Each query is one round trip through the proxy: every one takes at least 10 ms, whatever the
    // machine's load (a lower bound no stall can break). The direct connection's fastest query is
    // faster than the proxied one's: the 10 ms is the proxy's, not PostgreSQL's.
    expect(far[0]).toBeGreaterThanOrEqual(10);
    expect(near[0]).toBeLessThan(far[0]);
    expect(far[0]).toBeLessThan(near[0] + 40);
  } finally {
    await direct.end();
    await farClient.end();
    await proxy.close();
  }
});
