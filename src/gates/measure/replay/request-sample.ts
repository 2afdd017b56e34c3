// One request of a replay as the record keeps it: the corpus event it sent and what happened to it. Written once
// for the driver's own record and for the samples a shard sends back to its coordinator.

import type { RequestOutcome, RequestSample } from "../../model/index.js";
import type { CorpusEvent } from "../corpus/replay-corpus.js";

/** What happened to one request, ms on the replay's clock (0: its start). */
export interface RequestAnswer {
  sentAt: number;
  doneAt: number;
  ownLagMs: number;
  status: number;
  outcome: RequestOutcome;
  requestId: string | null;
  error: string | undefined;
}

/** The sample of the request at `index` in the phase, due at `dueAt`, that sent `event`. */
export function requestSample(index: number, event: CorpusEvent, dueAt: number, a: RequestAnswer): RequestSample {
  const sample: RequestSample = {
    index,
    eventId: event.id,
    orderingKey: event.orderingKey,
    seq: event.seq,
    redelivery: event.redelivery,
    dueAt,
    sentAt: a.sentAt,
    doneAt: a.doneAt,
    latencyMs: a.doneAt - dueAt,
    sendLagMs: a.sentAt - dueAt,
    ownLagMs: a.ownLagMs,
    status: a.status,
    outcome: a.outcome,
    requestId: a.requestId,
  };
  if (a.error !== undefined) sample.error = a.error;
  return sample;
}
