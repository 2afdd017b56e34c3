// The bot's /metrics text (prom-client): the metric names dashboards scrape, webhooks counted by status class,
// and labelled gauges that show only the latest snapshot.

import { expect, test } from "@jest/globals";
import { BotMetrics, type BotMetricsSnapshot } from "../../../src/bot/web/metrics.js";

const snapshot = (over: Partial<BotMetricsSnapshot> = {}): BotMetricsSnapshot => ({
  uptimeSeconds: 12.6,
  residentBytes: 1000,
  heapUsedBytes: 500,
  redisUp: true,
  queue: { waiting: 2, active: 1 },
  runsByState: { queued: 1, finished: 3 },
  runsByVerdict: { PASS: 2, FAIL: 1 },
  liveStreams: 4,
  ...over,
});

test("a scrape names every metric the hand-written renderer did, with the snapshot's values", async () => {
  const metrics = new BotMetrics();
  metrics.refresh(snapshot());
  const { contentType, text } = await metrics.render();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(text).toMatch(/^release_gate_bot_uptime_seconds 13$/m);
  expect(text).toMatch(/^release_gate_bot_resident_memory_bytes 1000$/m);
  expect(text).toMatch(/^release_gate_bot_heap_used_bytes 500$/m);
  expect(text).toMatch(/^release_gate_bot_redis_up 1$/m);
  expect(text).toMatch(/^release_gate_run_queue_jobs\{state="waiting"\} 2$/m);
  expect(text).toMatch(/^release_gate_runs\{state="finished"\} 3$/m);
  expect(text).toMatch(/^release_gate_runs_by_verdict\{verdict="FAIL"\} 1$/m);
  expect(text).toMatch(/^release_gate_war_room_streams 4$/m);
  expect(text).toContain("# TYPE release_gate_bot_webhooks_total counter");
});

test("webhook deliveries are counted by status class", async () => {
  const metrics = new BotMetrics();
  for (const status of [200, 202, 400, 500]) metrics.webhookAnswered(status);
  const { text } = await metrics.render();
  expect(text).toMatch(/^release_gate_bot_webhooks_total\{status="2xx"\} 2$/m);
  expect(text).toMatch(/^release_gate_bot_webhooks_total\{status="4xx"\} 1$/m);
  expect(text).toMatch(/^release_gate_bot_webhooks_total\{status="5xx"\} 1$/m);
});

test("a state that emptied since the last scrape is no longer shown, and Redis down reads 0", async () => {
  const metrics = new BotMetrics();
  metrics.refresh(snapshot());
  metrics.refresh(snapshot({ redisUp: false, queue: {}, runsByState: { finished: 4 } }));
  const { text } = await metrics.render();
  expect(text).toMatch(/^release_gate_bot_redis_up 0$/m);
  expect(text).not.toMatch(/^release_gate_run_queue_jobs\{/m);
  expect(text).not.toMatch(/^release_gate_runs\{state="queued"\}/m);
  expect(text).toMatch(/^release_gate_runs\{state="finished"\} 4$/m);
});

test("two web apps in one process keep their own counts", async () => {
  const a = new BotMetrics();
  const b = new BotMetrics();
  a.webhookAnswered(200);
  expect((await b.render()).text).not.toMatch(/^release_gate_bot_webhooks_total\{/m);
});
