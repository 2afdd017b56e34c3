// Side by side, once: the ingest service's hand-written metrics (src/ingest-service/metrics.ts) against
// prom-client doing the same, on what the accept path does per request (a counter and a latency
// histogram) and on one /metrics scrape. Run: npm run build && node dist/bench/metrics-render.js
// (it decides whether the ingest service's renderer stays; see src/ingest-service/README.md).

import { Counter, Histogram as PromHistogram, Registry } from "prom-client";
import { LATENCY_BOUNDS_MS, renderMetrics, ServerMetrics } from "../src/ingest-service/metrics.js";

const REQUESTS = 2_000_000;
const SCRAPES = 20_000;
const latency = (i: number) => ((i * 7919) % 5000) / 1000; // 0..5 ms, spread over the buckets

function nsPer(n: number, body: () => void): number {
  const t0 = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - t0) / n;
}

function handWritten(): { perRequest: number; perScrape: number } {
  const m = new ServerMetrics();
  const perRequest = nsPer(REQUESTS, () => {
    for (let i = 0; i < REQUESTS; i++) {
      m.accepted++;
      m.latencyMs.observe(latency(i));
    }
  });
  const perScrape = nsPer(SCRAPES, () => {
    for (let i = 0; i < SCRAPES; i++) renderMetrics(m, { depth: 10, pending: 2 }, null);
  });
  return { perRequest, perScrape };
}

async function promClient(): Promise<{ perRequest: number; perScrape: number }> {
  const registers = [new Registry()];
  const accepted = new Counter({ name: "ingest_requests_accepted_total", help: "Webhooks answered 202 accepted.", registers });
  const duration = new PromHistogram({
    name: "ingest_request_duration_seconds",
    help: "POST /webhooks latency.",
    buckets: LATENCY_BOUNDS_MS.map((b) => b / 1000),
    registers,
  });
  const perRequest = nsPer(REQUESTS, () => {
    for (let i = 0; i < REQUESTS; i++) {
      accepted.inc();
      duration.observe(latency(i) / 1000);
    }
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SCRAPES; i++) await registers[0].metrics();
  const perScrape = Number(process.hrtime.bigint() - t0) / SCRAPES;
  return { perRequest, perScrape };
}

// Warm both up, then measure in the order A B B A so drift on a shared machine falls on both.
handWritten();
await promClient();
const a1 = handWritten();
const b1 = await promClient();
const b2 = await promClient();
const a2 = handWritten();
const mean = (x: number, y: number) => ((x + y) / 2).toFixed(0);
console.log(
  `per request (counter + histogram): hand-written ${mean(a1.perRequest, a2.perRequest)} ns, prom-client ${mean(b1.perRequest, b2.perRequest)} ns`,
);
console.log(
  `per scrape: hand-written ${mean(a1.perScrape / 1000, a2.perScrape / 1000)} µs, prom-client ${mean(b1.perScrape / 1000, b2.perScrape / 1000)} µs`,
);
