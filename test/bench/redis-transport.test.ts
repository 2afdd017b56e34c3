import { connect, createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { rawClient } from "../../bench/redis-transport.js";

const stream = `test:redis-transport:${process.pid}`;
const redis = new Redis("redis://127.0.0.1:6379");
let socket: Socket;

beforeAll(async () => {
  socket = connect({ host: "127.0.0.1", port: 6379, noDelay: true });
  await new Promise((resolve) => socket.once("connect", resolve));
});
afterAll(async () => {
  socket.destroy();
  await redis.del(stream, `${stream}:string`);
  redis.disconnect();
});

test("the hand-written XADD puts each body into the stream byte for byte, one reply per call, in order", async () => {
  const xadd = rawClient(socket, stream);
  const bodies = [Buffer.from("{}"), Buffer.from(JSON.stringify({ padding: "é".repeat(40_000) })), Buffer.from("a\r\nb")];
  for (const body of bodies) await xadd(body);
  const entries = await redis.xrangeBuffer(stream, "-", "+");
  expect(entries.map(([, fields]) => fields[1].toString())).toEqual(bodies.map(String));
});

test("an error reply rejects the call with Redis's message, and the next call still gets its own reply", async () => {
  await redis.set(`${stream}:string`, "x");
  await expect(rawClient(socket, `${stream}:string`)(Buffer.from("{}"))).rejects.toThrow(/WRONGTYPE/);
  await rawClient(socket, stream)(Buffer.from("after"));
  const last = await redis.xrevrangeBuffer(stream, "+", "-", "COUNT", 1);
  expect(last[0][1][1].toString()).toBe("after");
});

test("a reply that arrives in pieces is read whole: the call waits for the rest of the bulk string", async () => {
  // A proxy to the real Redis that hands the first reply on without its last 3 bytes, and the rest when
  // told; after that it passes everything straight through.
  let holding = true;
  let held: Buffer[] = [];
  let client: Socket | undefined;
  let firstPiece!: () => void;
  const firstPieceSent = new Promise<void>((resolve) => (firstPiece = resolve));
  const proxy: Server = createServer((c) => {
    client = c;
    const up = connect({ host: "127.0.0.1", port: 6379 });
    c.pipe(up);
    up.on("data", (d: Buffer) => {
      if (!holding) return void c.write(d);
      c.write(d.subarray(0, d.length - 3), () => firstPiece());
      held.push(d.subarray(d.length - 3));
    });
    c.on("close", () => up.destroy());
  });
  const release = () => {
    holding = false;
    for (const piece of held) client!.write(piece);
    held = [];
  };
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const through = connect({ host: "127.0.0.1", port: (proxy.address() as { port: number }).port, noDelay: true });
  await new Promise((resolve) => through.once("connect", resolve));
  try {
    const xadd = rawClient(through, stream);
    let settled = false;
    const first = xadd(Buffer.from("split-1")).then(() => (settled = true));
    await firstPieceSent;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    release();
    await first;
    await xadd(Buffer.from("split-2"));
    const last = await redis.xrevrangeBuffer(stream, "+", "-", "COUNT", 2);
    expect(last.map(([, fields]) => fields[1].toString())).toEqual(["split-2", "split-1"]);
  } finally {
    through.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  }
});
