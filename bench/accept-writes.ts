// The accept path's Redis writes, two ways, on the same Redis: (a) QueueSink as shipped, every event
// of one event-loop turn in ONE accept-batch.lua call on a plain connection, and (b) one script call
// per event on a connection with ioredis `enableAutoPipelining` (which also sends a turn's commands
// in one socket write). Events arrive k per turn (k = 1 is 1,000/s here: one request per wake-up);
// answers go to stub responses. Prints CPU per event of this process and of redis-server
// (/proc/<pid>/stat), and the events per second each manages flat out (no pacing: put as fast as the
// loop turns). Alternating rounds (a b b a), means of two each.
//
//   node dist/bench/accept-writes.js [--events 20000] [--per-turn 1,4,16]

import { randomBytes, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Redis } from "ioredis";
import pino from "pino";
import { generateCorpus } from "../src/gates/measure/corpus/replay-corpus.js";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";
import type { EventSink, IncomingEvent } from "../src/ingest-service/event-sink.js";
import { ServerMetrics } from "../src/ingest-service/metrics.js";
import { QueueSink } from "../src/ingest-service/queue-sink.js";
import { queueKeys } from "../src/ingest-service/queue-keys.js";
import { eventHead } from "../src/ingest-service/queued-event.js";
import { WebhookAnswers } from "../src/ingest-service/routes/webhook-answers.js";
import { redisServerPid } from "./store-cpu.js";
import { readFileSync } from "node:fs";
import { assetFile } from "../src/ingest-service/asset-file.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

type Script = (...args: (string | number | Buffer)[]) => Promise<(number | string)[]>;

/** (b): the accept path before the per-turn batch, one script call per event, auto-pipelined. */
class AutoPipelinedSink implements EventSink {
  private readonly call: Script;
  private readonly keys: ReturnType<typeof queueKeys>;
  constructor(
    redis: Redis,
    namespace: string,
    private readonly answers: WebhookAnswers,
  ) {
    redis.defineCommand("acceptBatch", { lua: readFileSync(assetFile("commands/accept-batch.lua"), "utf8") });
    this.call = (redis as unknown as { acceptBatch: Script }).acceptBatch.bind(redis);
    this.keys = queueKeys(namespace);
  }
  put(e: IncomingEvent, res: ServerResponse, started: number): void {
    this.call(
      2,
      this.keys.events,
      this.keys.idem + e.idempotencyKey,
      86400,
      e.requestId,
      eventHead(e.requestId, e.idempotencyKey, e.orderingKey, e.seq, e.receivedAt),
      e.payload,
    ).then(
      (r) =>
        r[0] === 0
          ? this.answers.enqueued(res, started, e, new Date().toISOString())
          : this.answers.duplicate(res, started, String(r[0]), e),
      () => this.answers.refused(res, e.requestId, started, { status: 503, code: "queue_unavailable", message: "down" }),
    );
  }
}

async function round(variant: "per-turn" | "autopipeline", perTurn: number, events: IncomingEvent[], redisPid: number | null) {
  const namespace = `aw_${randomBytes(3).toString("hex")}`;
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: variant === "autopipeline", enableOfflineQueue: true });
  const metrics = new ServerMetrics();
  const answers = new WebhookAnswers(metrics, pino({ level: "silent" }));
  const sink = variant === "per-turn" ? new QueueSink(redis, namespace, 86400, answers) : new AutoPipelinedSink(redis, namespace, answers);
  await redis.ping();
  let answered = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const res = {
    writeHead() {},
    end() {
      if (++answered === events.length) done();
    },
  } as unknown as ServerResponse;
  const r0 = redisPid === null ? null : processCpuUs(redisPid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  const turn = () => {
    for (let k = 0; k < perTurn && i < events.length; k++) sink.put(events[i++], res, performance.now());
    if (i < events.length) setImmediate(turn);
  };
  turn();
  await finished;
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const r1 = redisPid === null ? null : processCpuUs(redisPid);
  const n = events.length;
  const out = {
    node: (c.user + c.system) / n,
    redis: r0 === null || r1 === null ? NaN : (r1 - r0) / n,
    meanLatencyMs: metrics.latencyMs.sum / metrics.latencyMs.count,
    perS: (n / wall) * 1000,
  };
  const keys = await redis.keys(`${namespace}:*`);
  for (let k = 0; k < keys.length; k += 1000) await redis.del(...keys.slice(k, k + 1000));
  redis.disconnect();
  return out;
}

async function main(argv: string[]): Promise<void> {
  const at = (flag: string, fallback: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const n = Number(at("--events", "20000"));
  const perTurns = at("--per-turn", "1,4,16").split(",").map(Number);
  const corpus = generateCorpus({ seed: "accept-writes", requests: n, orderingKeys: 500, redeliveryShare: 0.02 });
  const redisPid = await redisServerPid(REDIS_URL);
  for (const perTurn of perTurns) {
    const sums = { "per-turn": { node: 0, redis: 0, lat: 0, rate: 0 }, autopipeline: { node: 0, redis: 0, lat: 0, rate: 0 } };
    for (const variant of ["per-turn", "autopipeline", "autopipeline", "per-turn"] as const) {
      const events: IncomingEvent[] = corpus.map((c) => ({
        requestId: randomUUID(),
        idempotencyKey: c.id,
        orderingKey: c.orderingKey,
        seq: String(c.seq),
        receivedAt: new Date().toISOString(),
        payload: Buffer.from(c.body),
      }));
      const r = await round(variant, perTurn, events, redisPid);
      const s = sums[variant];
      s.node += r.node / 2;
      s.redis += r.redis / 2;
      s.lat += r.meanLatencyMs / 2;
      s.rate += r.perS / 2;
    }
    for (const [variant, s] of Object.entries(sums)) {
      console.log(
        `${String(perTurn).padStart(2)} per turn, ${variant.padEnd(12)}: node ${s.node.toFixed(1)} µs/event, redis ${s.redis.toFixed(1)} µs/event, sum ${(s.node + s.redis).toFixed(1)} µs/event; ${Math.round(s.rate)} events/s flat out`,
      );
    }
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`accept-writes: ${(err as Error).message}`);
  process.exitCode = 1;
});
