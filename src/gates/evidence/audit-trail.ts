// The request_id audit trail: sample lineages followed from HTTP accept through enqueue and batch
// commit to the database row, drawn from the service's own structured logs and its table.

import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Lineage, RequestSample } from "../model/index.js";
import type { StoredEvent } from "../measure/index.js";

interface HopLog {
  accepted?: { at: string; line: string };
  enqueued?: { at: string; line: string };
  committed?: { at: string; batchId: string; line: string };
}

/** Picks `count` accepted events, pseudo-randomly but the same for the same seed and corpus. */
export function sampleEventIds(samples: RequestSample[], seed: string, count: number): string[] {
  const ids = [...new Set(samples.filter((s) => s.outcome === "accepted").map((s) => s.eventId))];
  const rank = (id: string) => createHash("sha256").update(`${seed}\n${id}`).digest("hex");
  return ids
    .map((id) => ({ id, r: rank(id) }))
    .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0))
    .slice(0, count)
    .map((x) => x.id);
}

const asIso = (v: unknown): string | undefined => {
  if (typeof v === "number") return new Date(v).toISOString();
  if (typeof v === "string" && v) return new Date(v).toISOString();
  return undefined;
};

/** Scans NDJSON log files for the hop lines of the wanted request ids. */
export async function readHops(logFiles: string[], requestIds: Set<string>): Promise<Map<string, HopLog>> {
  const hops = new Map<string, HopLog>();
  const entry = (id: string) => {
    let h = hops.get(id);
    if (!h) hops.set(id, (h = {}));
    return h;
  };
  for (const file of logFiles) {
    if (!existsSync(file)) continue;
    const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.startsWith("{") || !line.includes('"hop"')) continue;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      const where = `${file.split("/").pop()}:${n}`;
      if (typeof rec.request_id === "string" && requestIds.has(rec.request_id)) {
        const h = entry(rec.request_id);
        const received = asIso(rec.received_at);
        if (received) h.accepted = { at: received, line: where };
        const enqueued = asIso(rec.enqueued_at) ?? asIso(rec.time);
        if (rec.hop === "enqueued" && enqueued) h.enqueued = { at: enqueued, line: where };
      }
      if (rec.hop === "committed" && Array.isArray(rec.request_ids)) {
        const at = asIso(rec.committed_at) ?? asIso(rec.time) ?? "";
        for (const id of rec.request_ids) {
          if (typeof id === "string" && requestIds.has(id)) {
            entry(id).committed = { at, batchId: String(rec.batch_id ?? ""), line: where };
          }
        }
      }
    }
  }
  return hops;
}

/**
 * Builds lineages for the sampled events. A hop that cannot be found is reported as missing rather
 * than invented, so an incomplete trail shows in the evidence.
 */
export async function auditTrail(
  samples: RequestSample[],
  stored: StoredEvent[],
  logFiles: string[],
  seed: string,
  count = 10,
): Promise<Lineage[]> {
  const ids = sampleEventIds(samples, seed, count);
  const accepted = new Map<string, RequestSample>();
  for (const s of samples) if (s.outcome === "accepted" && !accepted.has(s.eventId)) accepted.set(s.eventId, s);
  const rows = new Map(stored.map((e) => [e.idempotencyKey, e]));
  const requestIds = new Set(ids.map((id) => accepted.get(id)!.requestId ?? "").filter(Boolean));
  const hops = await readHops(logFiles, requestIds);
  return ids.map((eventId) => {
    const requestId = accepted.get(eventId)!.requestId ?? "";
    const h = hops.get(requestId) ?? {};
    const row = rows.get(eventId);
    const missing = (hop: string) => ({ at: "", detail: `MISSING: no ${hop} log line names request_id ${requestId}` });
    const lineage: Lineage = {
      requestId,
      eventId,
      hops: [
        { hop: "accepted", ...(h.accepted ? { at: h.accepted.at, detail: `HTTP 202 (${h.accepted.line})` } : missing("accepted")) },
        { hop: "enqueued", ...(h.enqueued ? { at: h.enqueued.at, detail: `queued in Redis (${h.enqueued.line})` } : missing("enqueued")) },
        {
          hop: "stored",
          ...(row
            ? {
                at: row.persistedAt,
                detail: `webhook_events row written in its batch's transaction (persisted_at): request_id ${row.requestId}, batch ${row.batchId}, ordering ${row.orderingKey ?? "-"}#${row.seq ?? "-"}, apply_index ${row.applyIndex ?? "-"}`,
              }
            : { at: "", detail: `MISSING: no webhook_events row for ${eventId}` }),
        },
        {
          hop: "committed",
          ...(h.committed
            ? { at: h.committed.at, detail: `batch ${h.committed.batchId} committed (${h.committed.line})` }
            : missing("committed")),
        },
      ],
    };
    return lineage;
  });
}
