// The capacity probe: after the last phase, autocannon drives the target closed loop (each connection
// sends its next request when the previous one is answered) to see how much throughput is left above
// the gated rate: "headroom". Closed loop hides queueing (coordinated omission), so its latencies are
// never gated and the probe never touches the verdict; it is labelled as such wherever it is shown.

import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { generateCorpus } from "./corpus/replay-corpus.js";
import { standardWebhookSignature } from "../../webhook-signatures.js";
import { formatDuration, type CapacitySpec, type CapacityResult } from "../model/index.js";
export type { CapacityResult, CapacitySpec } from "../model/index.js";

/** Where a bundle keeps the probe's result. */
export const CAPACITY_FILE = "capacity-probe.json";

export const CAPACITY_LABEL = "closed loop (autocannon): headroom only, never used in the verdict";

export interface CapacityTarget {
  webhookUrl: string;
  credentials: { bearerKey?: string; signingSecret?: string };
  /** Seed for the bodies sent (GitHub's webhook examples, as in the phases). */
  seed: string;
  signal?: AbortSignal;
}

/** Runs the probe. Never throws: a probe that could not run says so in `problem`. */
export async function probeCapacity(spec: CapacitySpec, target: CapacityTarget): Promise<CapacityResult> {
  const empty: CapacityResult = {
    method: "closed-loop",
    label: CAPACITY_LABEL,
    tool: "autocannon",
    durationMs: spec.durationMs,
    connections: spec.connections,
    ok: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    meanRps: 0,
    maxRps: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
  };
  if (target.signal?.aborted) return { ...empty, problem: "not run: the run was aborted" };
  const bodies = generateCorpus({ seed: `${target.seed}/capacity`, requests: 100, orderingKeys: 100, redeliveryShare: 0 }).map((e) => ({
    body: e.body,
    type: e.eventType,
  }));
  const run = randomBytes(4).toString("hex");
  let n = 0;
  try {
    const instance = autocannon({
      url: target.webhookUrl,
      method: "POST",
      connections: spec.connections,
      duration: spec.durationMs / 1000,
      timeout: 10,
      // Every request is a new event (id, key) signed at send time, so the service does real work.
      requests: [
        {
          setupRequest: (request) => {
            const i = n++;
            const { body, type } = bodies[i % bodies.length]!;
            const id = `msg_capacity_${run}_${i}`;
            const ts = Math.floor(Date.now() / 1000);
            const headers: Record<string, string> = {
              "content-type": "application/json",
              "webhook-id": id,
              "webhook-timestamp": String(ts),
              "x-ordering-key": `capacity/${run}/${i}`,
              "x-sequence": "1",
              "x-github-event": type,
            };
            if (target.credentials.signingSecret)
              headers["webhook-signature"] = standardWebhookSignature(target.credentials.signingSecret, id, ts, body);
            if (target.credentials.bearerKey) headers.authorization = `Bearer ${target.credentials.bearerKey}`;
            return { ...request, method: "POST", body, headers };
          },
        },
      ],
    });
    const stop = () => (instance as unknown as { stop(): void }).stop();
    target.signal?.addEventListener("abort", stop, { once: true });
    const result = await instance;
    target.signal?.removeEventListener("abort", stop);
    return {
      ...empty,
      durationMs: Math.round(result.duration * 1000),
      ok: result["2xx"],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      meanRps: Math.round(result.requests.mean),
      maxRps: result.requests.max,
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    };
  } catch (err) {
    return { ...empty, problem: `the probe could not run: ${(err as Error).message}` };
  }
}

/** One line for the summary, the war room and the page. */
export function capacityLine(c: CapacityResult): string {
  if (c.problem) return `Headroom (${CAPACITY_LABEL}): ${c.problem}`;
  return (
    `Headroom (${CAPACITY_LABEL}): ${c.meanRps.toLocaleString("en-US")} req/s mean, ${c.maxRps.toLocaleString("en-US")} req/s best second, ` +
    `${c.connections} connections for ${formatDuration(c.durationMs)}; latency at that load P50 ${c.latencyMs.p50} ms, P90 ${c.latencyMs.p90} ms, P99 ${c.latencyMs.p99} ms (from send); ` +
    `${c.ok.toLocaleString("en-US")} answered 2xx, ${c.non2xx} non-2xx, ${c.errors} errors`
  );
}

/** The summary.md section. */
export function capacityMarkdown(c: CapacityResult): string {
  return [
    "## Headroom (capacity probe)",
    "",
    `**Closed loop, not a gate measurement.** ${c.connections} connections each send the next request when the previous one is answered, for ${formatDuration(c.durationMs)}, after the last phase. Closed-loop latency hides queueing, so these numbers never enter the verdict.`,
    "",
    c.problem
      ? c.problem
      : [
          "| Mean throughput | Best second | P50 | P90 | P99 | Max | 2xx | non-2xx | errors |",
          "|---|---|---|---|---|---|---|---|---|",
          `| ${c.meanRps.toLocaleString("en-US")} req/s | ${c.maxRps.toLocaleString("en-US")} req/s | ${c.latencyMs.p50} ms | ${c.latencyMs.p90} ms | ${c.latencyMs.p99} ms | ${c.latencyMs.max} ms | ${c.ok} | ${c.non2xx} | ${c.errors} |`,
        ].join("\n"),
    "",
  ].join("\n");
}
