// What node:http itself costs the accept path, against the same HTTP parser (Node's own llhttp, through
// the internal `http_parser` binding) on a bare socket. Each server reads a ~6 KB POST body to its end
// and answers a constant 202: no checks, no Redis. `node` is node:http; `llhttp` feeds the parser from
// the socket's 'data' events; `consume` lets the parser read the socket's handle itself, as node:http
// does. Keep-alive connections, open loop at --rate, CPU of the server process from /proc; rounds in
// turn (node, llhttp, consume, then again), so a drifting machine hits every variant alike.
//
//   node dist/bench/http-transport.js [--rate 1000] [--requests 8000] [--rounds 3]
//
// Not a design: the binding is deprecated (DEP0111), and a server on it must redo node:http's
// timeouts, pipelined answers in order, 100-continue and error answers. It measures what such a
// server could save per request (README, "Why the server target (≤ 0.5×) is missed").

import { spawn } from "node:child_process";
import { createServer, request, Agent } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";
import { roundsInTurn } from "./rounds-in-turn.js";

const KINDS = ["node", "llhttp", "consume"] as const;
type Kind = (typeof KINDS)[number];
const ANSWER = '{"status":"accepted"}';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number, connections: object): void;
  execute(data: Buffer): number | Error;
  consume(handle: unknown): void;
  [callback: number]: (...args: never[]) => unknown;
}
interface ParserBinding {
  HTTPParser: {
    new (): Parser;
    REQUEST: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
  };
  ConnectionsList: new () => object;
}

// Listens on a port the kernel picks and prints it, so no run can collide with a port in use.
function serve(kind: Kind): void {
  const ready = function (this: { address(): unknown }) {
    console.log(`listening ${(this.address() as { port: number }).port}`);
  };
  if (kind === "node") {
    const head = { "content-type": "application/json", "content-length": String(ANSWER.length) };
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => res.writeHead(req.headers["webhook-id"] ? 202 : 400, head).end(ANSWER));
    }).listen(0, "127.0.0.1", ready);
    return;
  }
  const { HTTPParser, ConnectionsList } = (process as unknown as { binding(name: string): ParserBinding }).binding("http_parser");
  const connections = new ConnectionsList();
  const answer = Buffer.from(
    `HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: ${ANSWER.length}\r\n\r\n${ANSWER}`,
  );
  createNetServer({ noDelay: true }, (socket: Socket) => {
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, 16_384, 0, connections);
    let headers: string[] = [];
    let chunks: Buffer[] = [];
    parser[HTTPParser.kOnHeaders] = () => {};
    parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, raw: string[]) => {
      headers = raw;
      chunks = [];
      return 0;
    };
    parser[HTTPParser.kOnBody] = (b: Buffer) => chunks.push(Buffer.from(b));
    parser[HTTPParser.kOnMessageComplete] = () => {
      Buffer.concat(chunks);
      headers.some((name, i) => i % 2 === 0 && name.toLowerCase() === "webhook-id");
      socket.write(answer);
    };
    socket.on("error", () => {});
    if (kind === "consume") {
      parser[HTTPParser.kOnExecute] = (ret: unknown) => void (ret instanceof Error && socket.destroy());
      parser.consume((socket as unknown as { _handle: unknown })._handle);
    } else socket.on("data", (d: Buffer) => void (parser.execute(d) instanceof Error && socket.destroy()));
  }).listen(0, "127.0.0.1", ready);
}

async function measure(kind: Kind, rate: number, requests: number): Promise<{ us: number; p95: number }> {
  const child = spawn(process.execPath, ["--no-deprecation", fileURLToPath(import.meta.url), "--serve", kind], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout.once("data", (d: Buffer) => resolve(Number(/listening (\d+)/.exec(String(d))?.[1]))),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const body = Buffer.from(JSON.stringify({ padding: "a".repeat(6000) }));
  const send = (i: number) =>
    new Promise<void>((resolve) => {
      const headers = {
        "content-type": "application/json",
        "webhook-id": `msg_${i}`,
        "webhook-timestamp": "1",
        "webhook-signature": "v1,x",
      };
      const r = request({ host: "127.0.0.1", port, method: "POST", path: "/webhooks", agent, headers }, (res) =>
        res.resume().on("end", resolve),
      );
      r.on("error", () => resolve());
      r.end(body);
    });
  for (let i = 0; i < 500; i++) await send(i);
  const before = processCpuUs(child.pid!)!;
  const t0 = performance.now();
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < requests; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    inFlight.push(send(i).then(() => void latencies.push(performance.now() - sent)));
  }
  await Promise.all(inFlight);
  const us = (processCpuUs(child.pid!)! - before) / requests;
  child.kill();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { us, p95: latencies[Math.floor(latencies.length * 0.95)] };
}

async function main(argv: string[]): Promise<void> {
  const at = (flag: string, fallback: number) => (argv.includes(flag) ? Number(argv[argv.indexOf(flag) + 1]) : fallback);
  const [rate, requests, rounds] = [at("--rate", 1000), at("--requests", 8000), at("--rounds", 3)];
  console.log(`# ${requests} POSTs of ~6 KB at ${rate}/s per run, 8 keep-alive connections, ${rounds} rounds; server CPU per request`);
  const mean = await roundsInTurn(
    KINDS,
    rounds,
    (kind) => measure(kind, rate, requests),
    (r) => `${r.us.toFixed(1)} µs/request, P95 ${r.p95.toFixed(2)} ms`,
  );
  const node = mean.get("node")!;
  for (const kind of KINDS.slice(1))
    console.log(
      `${kind}: ${mean.get(kind)!.toFixed(1)} µs against node:http's ${node.toFixed(1)}: ${(mean.get(kind)! / node).toFixed(2)}x`,
    );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--serve") serve(process.argv[3] as Kind);
  else await main(process.argv.slice(2));
}
