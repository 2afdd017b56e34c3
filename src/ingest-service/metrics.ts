// Prometheus text for GET /metrics. The serve process counts its own requests in memory; workers
// add their batch counters to one Redis hash per namespace (in the same round trip as their ack),
// so a single scrape of the server shows the whole pipeline, however many workers run where.

/** Fixed-bucket histogram; observe() is a short loop and no allocation, fit for the request path. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  /** `bounds`: ascending upper bounds, in the unit observed. */
  constructor(readonly bounds: number[]) {
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** Request latency buckets, milliseconds (rendered in seconds). */
export const LATENCY_BOUNDS_MS = [0.5, 1, 2, 3, 5, 10, 15, 20, 50, 100, 250, 500, 1000, 2500];
export const BATCH_SIZE_BOUNDS = [1, 5, 10, 20, 50, 100, 200, 500, 1000];
/** Commit latency buckets, milliseconds. */
export const COMMIT_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

export class ServerMetrics {
  accepted = 0;
  duplicates = 0;
  readonly rejections = new Map<string, number>();
  readonly latencyMs = new Histogram(LATENCY_BOUNDS_MS);

  reject(code: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
  }
}

export interface QueueState {
  /** Events accepted and not yet committed (stream length: committed entries are deleted). */
  depth: number;
  /** Of those, read by a worker and not yet acknowledged. */
  pending: number;
}

export function renderMetrics(m: ServerMetrics, queue: QueueState | null, workers: Record<string, string> | null): string {
  const out: string[] = [];
  const counter = (name: string, help: string, value: number) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
  counter("ingest_requests_accepted_total", "Webhooks answered 202 accepted.", m.accepted);
  counter("ingest_requests_duplicate_total", "Webhooks answered 200 duplicate.", m.duplicates);
  out.push("# HELP ingest_requests_rejected_total Requests refused, by error code.", "# TYPE ingest_requests_rejected_total counter");
  for (const [code, n] of [...m.rejections].sort()) out.push(`ingest_requests_rejected_total{reason="${code}"} ${n}`);
  histogram(
    out,
    "ingest_request_duration_seconds",
    "POST /webhooks latency.",
    m.latencyMs.bounds,
    m.latencyMs.counts,
    m.latencyMs.sum,
    1000,
  );
  if (queue) {
    out.push(
      "# HELP ingest_queue_depth Events accepted and not yet committed.",
      "# TYPE ingest_queue_depth gauge",
      `ingest_queue_depth ${queue.depth}`,
    );
    out.push(
      "# HELP ingest_queue_pending Events read by a worker, not yet acknowledged.",
      "# TYPE ingest_queue_pending gauge",
      `ingest_queue_pending ${queue.pending}`,
    );
  }
  if (workers) {
    const n = (f: string) => Number(workers[f] ?? 0);
    counter("ingest_batches_committed_total", "Batches committed by the workers.", n("batches"));
    counter("ingest_events_committed_total", "Events committed by the workers (rows new to the table).", n("events_new"));
    counter("ingest_events_processed_total", "Events in committed batches, redeliveries included.", n("events"));
    counter("ingest_batch_retries_total", "Batch attempts that failed and were retried.", n("retries"));
    counter("ingest_dead_letters_total", "Events PostgreSQL refused as data, kept in dead_letters.", n("dead_letters"));
    const buckets = (prefix: string, len: number) => Array.from({ length: len + 1 }, (_, i) => n(`${prefix}:${i}`));
    histogram(
      out,
      "ingest_batch_size",
      "Events per committed batch.",
      BATCH_SIZE_BOUNDS,
      buckets("batch_size", BATCH_SIZE_BOUNDS.length),
      n("batch_size_sum"),
      1,
    );
    histogram(
      out,
      "ingest_commit_duration_seconds",
      "Batch transaction latency.",
      COMMIT_BOUNDS_MS,
      buckets("commit", COMMIT_BOUNDS_MS.length),
      n("commit_sum_us") / 1000,
      1000,
    );
  }
  return out.join("\n") + "\n";
}

/** Fields a worker adds to the namespace's metrics hash for one committed batch. */
export function batchMetricFields(events: number, newRows: number, commitMs: number, retries: number): [string, number][] {
  return [
    ["batches", 1],
    ["events", events],
    ["events_new", newRows],
    ["retries", retries],
    ["batch_size_sum", events],
    [`batch_size:${bucketIndex(BATCH_SIZE_BOUNDS, events)}`, 1],
    [`commit:${bucketIndex(COMMIT_BOUNDS_MS, commitMs)}`, 1],
    ["commit_sum_us", Math.round(commitMs * 1000)],
  ];
}

function bucketIndex(bounds: number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]) i++;
  return i;
}

/** `counts` are per bucket (the last one +Inf); Prometheus wants them cumulative. `scale` turns the unit into the metric's. */
function histogram(out: string[], name: string, help: string, bounds: number[], counts: number[], sum: number, scale: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  let cumulative = 0;
  bounds.forEach((b, i) => {
    cumulative += counts[i];
    out.push(`${name}_bucket{le="${b / scale}"} ${cumulative}`);
  });
  cumulative += counts[bounds.length];
  out.push(`${name}_bucket{le="+Inf"} ${cumulative}`, `${name}_sum ${sum / scale}`, `${name}_count ${cumulative}`);
}
