// A runner's half of a sharded phase, without the flow: its shard of the schedule against a real HTTP sink, and the
// error limit its plan carries: past it the shard stops sending, since the whole phase could no longer pass.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { driveShard, DEFAULT_RAW_SAMPLE_CAP, type ShardPlan } from "../../../../src/gates/measure/shards/index.js";
import type { CoordinationClock } from "../../../../src/gates/measure/shards/redis-clock.js";

let sink: Server;
let url: string;
/** The share of requests the sink answers 503. */
let failing = 0;

beforeAll(async () => {
  sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (Math.random() < failing) res.writeHead(503).end('{"error":"unavailable"}');
      else res.writeHead(202, { "x-request-id": `req-${Math.random()}` }).end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/webhooks`;
});

afterAll(() => {
  sink.close();
});

/** This process's own clock as the coordination clock: no offset, no uncertainty. */
const clock: CoordinationClock = {
  offsetMs: 0,
  uncertaintyMs: 0,
  rttMs: 0,
  samples: 1,
  toLocal: (ms) => ms - (Date.now() - performance.now()),
  toCoordination: (ms) => ms + (Date.now() - performance.now()),
};
const runner = { id: "test-runner", host: "localhost", pid: process.pid, version: "0.0.0", clock };

function plan(o: Partial<ShardPlan> = {}): ShardPlan {
  return {
    runId: "drive-shard-test",
    phase: { name: "load", requests: 600, rate: 1000 },
    corpus: { seed: "drive-shard", orderingKeys: 40, redeliveryShare: 0.02 },
    gateFile: "/nonexistent/gate.yaml",
    url,
    credentials: {},
    shard: 0,
    shards: 2,
    t0Ms: Date.now() + 3000,
    leadMs: 3000,
    timeoutMs: 5_000,
    clockBoundMs: 1,
    rawSampleCap: DEFAULT_RAW_SAMPLE_CAP,
    ...o,
  };
}

test("a shard whose own errors pass the phase's limit stops sending and says why, naming its runner", async () => {
  failing = 1;
  const { summary } = await driveShard(plan({ errorLimit: 5 }), clock, runner);
  const answered = Object.values(summary.counts).reduce((a, b) => a + b, 0);
  expect(summary.counts.error).toBeGreaterThan(5);
  expect(answered).toBeLessThan(summary.requests / 2);
  expect(summary.aborted).toMatch(
    /^error budget spent on runner test-runner \(shard 1\/2\) alone: \d+ errors after \d+ of its \d+ requests; the phase allows at most 5$/,
  );
});

test("within the limit, or with none, every request of the shard is sent", async () => {
  failing = 0.01;
  // What is sent, not when: each shard starts once it is ready, so a busy machine cannot make it late.
  const limited = await driveShard(plan({ errorLimit: 100, startWhenReady: true }), clock, runner);
  expect(limited.summary.aborted).toBeUndefined();
  expect(Object.values(limited.summary.counts).reduce((a, b) => a + b, 0)).toBe(limited.summary.requests);
  failing = 1;
  const unlimited = await driveShard(plan({ shard: 1, startWhenReady: true }), clock, runner);
  expect(unlimited.summary.aborted).toBeUndefined();
  expect(unlimited.summary.counts.error).toBe(unlimited.summary.requests);
});
