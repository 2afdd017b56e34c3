import { connect, type Socket } from "node:net";
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
