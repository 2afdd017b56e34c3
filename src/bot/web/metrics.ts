// Prometheus text exposition for the bot: its process, the webhooks it answered, its run queue
// (BullMQ's job counts) and its runs by state and verdict. Rendering is pure; the server gathers.

export interface BotMetrics {
  uptimeSeconds: number;
  residentBytes: number;
  heapUsedBytes: number;
  redisUp: boolean;
  webhooks: Record<string, number>;
  queue: Record<string, number>;
  runsByState: Record<string, number>;
  runsByVerdict: Record<string, number>;
  liveStreams: number;
}

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function family(name: string, type: "gauge" | "counter", help: string, samples: [Record<string, string>, number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${label(v)}"`)
      .join(",");
    lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
  }
  return lines.join("\n");
}

export function renderBotMetrics(m: BotMetrics): string {
  return (
    [
      family("release_gate_bot_uptime_seconds", "gauge", "Seconds since the bot started.", [[{}, Math.round(m.uptimeSeconds)]]),
      family("release_gate_bot_resident_memory_bytes", "gauge", "Resident set size of the bot process.", [[{}, m.residentBytes]]),
      family("release_gate_bot_heap_used_bytes", "gauge", "V8 heap in use.", [[{}, m.heapUsedBytes]]),
      family("release_gate_bot_redis_up", "gauge", "1 when the bot's Redis answered the last PING.", [[{}, m.redisUp ? 1 : 0]]),
      family(
        "release_gate_bot_webhooks_total",
        "counter",
        "Webhook deliveries answered, by HTTP status class.",
        Object.entries(m.webhooks).map(([k, v]) => [{ status: k }, v]),
      ),
      family(
        "release_gate_run_queue_jobs",
        "gauge",
        "Jobs in the run queue (BullMQ), by state.",
        Object.entries(m.queue).map(([k, v]) => [{ state: k }, v]),
      ),
      family(
        "release_gate_runs",
        "gauge",
        "Recorded runs, by state.",
        Object.entries(m.runsByState).map(([k, v]) => [{ state: k }, v]),
      ),
      family(
        "release_gate_runs_by_verdict",
        "gauge",
        "Recorded runs with a verdict, by verdict.",
        Object.entries(m.runsByVerdict).map(([k, v]) => [{ verdict: k }, v]),
      ),
      family("release_gate_war_room_streams", "gauge", "War-room pages listening for live updates.", [[{}, m.liveStreams]]),
    ].join("\n") + "\n"
  );
}
