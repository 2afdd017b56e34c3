// The bot's Prometheus metrics (prom-client, a registry of its own per web app): its process, the webhooks it
// answered, its run queue (BullMQ's job counts) and its runs by state and verdict. The server counts webhooks
// as they are answered and hands a fresh snapshot of the rest to `refresh` before each scrape.

import { Counter, Gauge, Registry } from "prom-client";

/** What the server gathers for a scrape; the webhook counts are kept by `webhookAnswered` instead. */
export interface BotMetricsSnapshot {
  uptimeSeconds: number;
  residentBytes: number;
  heapUsedBytes: number;
  redisUp: boolean;
  queue: Record<string, number>;
  runsByState: Record<string, number>;
  runsByVerdict: Record<string, number>;
  liveStreams: number;
}

/** A labelled gauge that shows exactly the labels of the latest snapshot (a state that emptied disappears). */
function setAll<L extends string>(gauge: Gauge<L>, label: L, values: Record<string, number>): void {
  gauge.reset();
  for (const [k, v] of Object.entries(values)) gauge.set({ [label]: k } as Record<L, string>, Number.isFinite(v) ? v : 0);
}

export class BotMetrics {
  readonly registry = new Registry();
  readonly #webhooks: Counter<"status">;
  readonly #uptime: Gauge;
  readonly #resident: Gauge;
  readonly #heap: Gauge;
  readonly #redisUp: Gauge;
  readonly #queue: Gauge<"state">;
  readonly #runs: Gauge<"state">;
  readonly #verdicts: Gauge<"verdict">;
  readonly #streams: Gauge;

  constructor() {
    const registers = [this.registry];
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    this.#uptime = gauge("release_gate_bot_uptime_seconds", "Seconds since the bot started.");
    this.#resident = gauge("release_gate_bot_resident_memory_bytes", "Resident set size of the bot process.");
    this.#heap = gauge("release_gate_bot_heap_used_bytes", "V8 heap in use.");
    this.#redisUp = gauge("release_gate_bot_redis_up", "1 when the bot's Redis answered the last PING.");
    this.#webhooks = new Counter({
      name: "release_gate_bot_webhooks_total",
      help: "Webhook deliveries answered, by HTTP status class.",
      labelNames: ["status"],
      registers,
    });
    this.#queue = new Gauge({
      name: "release_gate_run_queue_jobs",
      help: "Jobs in the run queue (BullMQ), by state.",
      labelNames: ["state"],
      registers,
    });
    this.#runs = new Gauge({ name: "release_gate_runs", help: "Recorded runs, by state.", labelNames: ["state"], registers });
    this.#verdicts = new Gauge({
      name: "release_gate_runs_by_verdict",
      help: "Recorded runs with a verdict, by verdict.",
      labelNames: ["verdict"],
      registers,
    });
    this.#streams = gauge("release_gate_war_room_streams", "War-room pages listening for live updates.");
  }

  /** One webhook delivery answered with this HTTP status. */
  webhookAnswered(statusCode: number): void {
    this.#webhooks.inc({ status: `${Math.floor(statusCode / 100)}xx` });
  }

  refresh(m: BotMetricsSnapshot): void {
    this.#uptime.set(Math.round(m.uptimeSeconds));
    this.#resident.set(m.residentBytes);
    this.#heap.set(m.heapUsedBytes);
    this.#redisUp.set(m.redisUp ? 1 : 0);
    setAll(this.#queue, "state", m.queue);
    setAll(this.#runs, "state", m.runsByState);
    setAll(this.#verdicts, "verdict", m.runsByVerdict);
    this.#streams.set(m.liveStreams);
  }

  /** The Prometheus text exposition and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
