// What ioredis itself costs the accept path's one Redis round trip, against the same XADD written by hand
// on a bare socket. Each variant runs in its own process, woken by a timer --rate times a second (as the
// server is woken by a request), and puts a ~6 KB body into a stream with one XADD, waiting for the reply
// before the next: `idle` only wakes (what the wake-up itself costs), `ioredis` calls `xadd`, `raw` writes
// the command's RESP and reads the reply's one bulk string. CPU of the process itself
// (process.cpuUsage, user and system), rounds in turn, so a drifting machine hits every variant alike.
//
//   node dist/bench/redis-transport.js [--redis redis://127.0.0.1:6379] [--rate 1000] [--calls 8000] [--rounds 3]
//
// Not a design: a client on a bare socket must redo reconnects, timeouts, NOSCRIPT, error replies and
// the rest of what ioredis does. It measures what such a client could save per request (README, "Why
// the server target (≤ 0.5×) is missed").

import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { roundsInTurn } from "./rounds-in-turn.js";

const KINDS = ["idle", "ioredis", "raw"] as const;
type Kind = (typeof KINDS)[number];

interface Result {
  us: number;
  userUs: number;
  systemUs: number;
}

/** One XADD <stream> * d <body> in RESP, and a reader of its reply (one bulk string, or an error). */
export function rawClient(socket: Socket, stream: string): (body: Buffer) => Promise<void> {
  let pending: { resolve: () => void; fail: (e: Error) => void } | null = null;
  let buffered: Buffer = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, d]) : d;
    const end = buffered.indexOf("\r\n");
    if (end === -1) return;
    const kind = buffered[0];
    if (kind === 0x24 /* $ */) {
      const length = Number(buffered.toString("latin1", 1, end));
      if (buffered.length < end + 2 + length + 2) return;
      buffered = buffered.subarray(end + 2 + length + 2);
      pending?.resolve();
    } else {
      const line = buffered.toString("latin1", 1, end);
      buffered = buffered.subarray(end + 2);
      pending?.fail(new Error(line));
    }
    pending = null;
  });
  const head = (n: number) =>
    Buffer.from(`*5\r\n$4\r\nXADD\r\n$${Buffer.byteLength(stream)}\r\n${stream}\r\n$1\r\n*\r\n$1\r\nd\r\n$${n}\r\n`);
  const crlf = Buffer.from("\r\n");
  return (body) =>
    new Promise<void>((resolve, fail) => {
      pending = { resolve, fail };
      socket.cork();
      socket.write(head(body.length));
      socket.write(body);
      socket.write(crlf);
      socket.uncork();
    });
}

async function run(kind: Kind, redisUrl: string, rate: number, calls: number): Promise<Result> {
  const stream = `bench:redis-transport:${process.pid}`;
  const body = Buffer.from(JSON.stringify({ padding: "a".repeat(6000) }));
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  let call: (b: Buffer) => Promise<unknown> = async () => {};
  let socket: Socket | undefined;
  if (kind === "ioredis") call = (b) => redis.xadd(stream, "*", "d", b);
  if (kind === "raw") {
    const url = new URL(redisUrl);
    socket = connect({ host: url.hostname, port: Number(url.port || 6379), noDelay: true });
    await new Promise((resolve) => socket!.once("connect", resolve));
    if (url.password) {
      const password = decodeURIComponent(url.password);
      socket.write(`*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n`);
      await new Promise((resolve) => socket!.once("data", resolve));
    }
    call = rawClient(socket, stream);
  }
  const paced = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await call(body);
    }
  };
  await paced(500);
  const before = process.cpuUsage();
  await paced(calls);
  const spent = process.cpuUsage(before);
  socket?.destroy();
  await redis.del(stream);
  redis.disconnect();
  return { us: (spent.user + spent.system) / calls, userUs: spent.user / calls, systemUs: spent.system / calls };
}

async function measure(kind: Kind, redisUrl: string, rate: number, calls: number): Promise<Result> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--run", kind, redisUrl, String(rate), String(calls)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += String(d)));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the ${kind} run exited with ${code}`);
  return JSON.parse(out) as Result;
}

async function main(argv: string[]): Promise<void> {
  const at = (flag: string, fallback: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const redisUrl = at("--redis", "redis://127.0.0.1:6379");
  const [rate, calls, rounds] = [Number(at("--rate", "1000")), Number(at("--calls", "8000")), Number(at("--rounds", "3"))];
  console.log(`# ${calls} XADDs of ~6 KB at ${rate}/s per run, one at a time, ${rounds} rounds; CPU of the calling process per call`);
  const mean = await roundsInTurn(
    KINDS,
    rounds,
    (kind) => measure(kind, redisUrl, rate, calls),
    (r) => `${r.us.toFixed(1)} µs/call (${r.userUs.toFixed(1)} user + ${r.systemUs.toFixed(1)} system)`,
  );
  for (const kind of KINDS.slice(1))
    console.log(
      `${kind}: ${mean.get(kind)!.toFixed(1)} µs per call, ${(mean.get(kind)! - mean.get("idle")!).toFixed(1)} above the wake-up alone`,
    );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--run") {
    const [kind, url, rate, calls] = process.argv.slice(3);
    console.log(JSON.stringify(await run(kind as Kind, url, Number(rate), Number(calls))));
  } else await main(process.argv.slice(2));
}
