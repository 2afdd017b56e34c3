// A shard's raw samples on their way back: columns, gzipped, base64, about 10 bytes a request. The
// coordinator joins them with the corpus (which it builds too) into the union of the shards' records,
// the stored-data checks' input, and checks them against the digest the shard computed.

import { gunzipSync, gzipSync } from "node:zlib";
import type { CorpusEvent } from "../corpus/replay-corpus.js";
import type { RequestOutcome, RequestSample } from "../../model/index.js";
import { requestSample } from "../replay/index.js";

interface Columns {
  /** Global positions. */
  index: number[];
  sentAt: number[];
  doneAt: number[];
  ownLag: number[];
  status: number[];
  outcome: RequestOutcome[];
  requestId: (string | null)[];
  /** Error texts by global position. */
  error: Record<string, string>;
}

export function encodeRawSamples(samples: readonly RequestSample[], indices: Int32Array): string {
  const c: Columns = { index: [], sentAt: [], doneAt: [], ownLag: [], status: [], outcome: [], requestId: [], error: {} };
  for (const s of samples) {
    const g = indices[s.index];
    c.index.push(g);
    c.sentAt.push(s.sentAt);
    c.doneAt.push(s.doneAt);
    c.ownLag.push(s.ownLagMs ?? s.sendLagMs);
    c.status.push(s.status);
    c.outcome.push(s.outcome);
    c.requestId.push(s.requestId);
    if (s.error !== undefined) c.error[g] = s.error;
  }
  return gzipSync(JSON.stringify(c)).toString("base64");
}

/** The samples of one shard as RequestSamples of the whole phase (index: global position). */
export function decodeRawSamples(encoded: string, events: readonly CorpusEvent[], rate: number): RequestSample[] {
  const c = JSON.parse(gunzipSync(Buffer.from(encoded, "base64")).toString("utf8")) as Columns;
  const intervalMs = 1000 / rate;
  return c.index.map((g, k) =>
    requestSample(g, events[g], g * intervalMs, {
      sentAt: c.sentAt[k],
      doneAt: c.doneAt[k],
      ownLagMs: c.ownLag[k],
      status: c.status[k],
      outcome: c.outcome[k],
      requestId: c.requestId[k],
      error: c.error[g],
    }),
  );
}
