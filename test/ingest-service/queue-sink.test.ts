// The accept path's Redis writes: the events of one event-loop turn go to Redis in one script call,
// each request is answered from its own entry of the reply, and a failed call answers 503 to its own
// requests and to no others. Real Redis, a namespace of its own; responses are recorded, not sent.

import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Redis } from "ioredis";
import pino from "pino";
import type { IncomingEvent } from "../../src/ingest-service/event-sink.js";
import { ServerMetrics } from "../../src/ingest-service/metrics.js";
import { QueueSink } from "../../src/ingest-service/queue-sink.js";
import { queueKeys } from "../../src/ingest-service/queue-keys.js";
import { WebhookAnswers } from "../../src/ingest-service/routes/webhook-answers.js";
import { newNamespace, REDIS_URL } from "./support/ingest-fixture.js";

type Call = (...args: unknown[]) => Promise<unknown>;

let redis: Redis;
let namespace: string;
let calls: unknown[][];
let failNext: boolean;

beforeEach(async () => {
  namespace = newNamespace();
  redis = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
  await redis.connect();
  // A sink built on this connection finds the command defined and uses it: record every call.
  new QueueSink(redis, namespace, 60, new WebhookAnswers(new ServerMetrics(), pino({ level: "silent" })));
  const commands = redis as unknown as { acceptBatch: Call };
  const real = commands.acceptBatch;
  calls = [];
  failNext = false;
  commands.acceptBatch = (...args: unknown[]) => {
    calls.push(args);
    if (failNext) {
      failNext = false;
      return Promise.reject(new Error("connection lost"));
    }
    return real.apply(redis, args);
  };
});

afterEach(async () => {
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function sink(): { sink: QueueSink; answers: Promise<{ status: number; body: string }>[]; put: (key: string) => void } {
  const s = new QueueSink(redis, namespace, 60, new WebhookAnswers(new ServerMetrics(), pino({ level: "silent" })));
  const answers: Promise<{ status: number; body: string }>[] = [];
  const put = (key: string) => {
    let status = 0;
    answers.push(
      new Promise((resolve) => {
        const res = {
          writeHead(code: number) {
            status = code;
            return res;
          },
          end(body: string) {
            resolve({ status, body });
          },
        } as unknown as ServerResponse;
        const e: IncomingEvent = {
          requestId: randomUUID(),
          idempotencyKey: key,
          orderingKey: "",
          seq: "",
          receivedAt: new Date().toISOString(),
          payload: Buffer.from(`{"key":"${key}"}`),
        };
        s.put(e, res, performance.now());
      }),
    );
  };
  return { sink: s, answers, put };
}

test("the events of one turn go to Redis in one call, each answered from its own reply, a repeat in the same turn as a duplicate", async () => {
  const { answers, put } = sink();
  put("a");
  put("b");
  put("a");
  const [a, b, again] = await Promise.all(answers);
  expect(calls).toHaveLength(1);
  expect([a.status, b.status, again.status]).toEqual([202, 202, 200]);
  expect(JSON.parse(again.body).request_id).toBe(JSON.parse(a.body).request_id);
  expect(await redis.xlen(queueKeys(namespace).events)).toBe(2);
});

test("a failed call answers 503 to the requests it carried and to no others", async () => {
  const { answers, put } = sink();
  failNext = true;
  put("lost-1");
  put("lost-2");
  await new Promise((r) => setImmediate(r));
  put("kept");
  const [l1, l2, kept] = await Promise.all(answers);
  expect(calls).toHaveLength(2);
  expect([l1.status, l2.status, kept.status]).toEqual([503, 503, 202]);
  expect(JSON.parse(l1.body).error.code).toBe("queue_unavailable");
  expect(await redis.xlen(queueKeys(namespace).events)).toBe(1);
});
