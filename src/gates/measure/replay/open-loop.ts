// The open-loop replay driver: sends a corpus at a fixed offered rate, as wrk2 does, and measures
// every request from when it was due, so a stalled server cannot hide behind its own slowness.
//
// Request i is due at t0 + i/rate and is sent then, whatever earlier answers are doing, except that
// the events of one ordering key go out one at a time in send order (the two events of a corpus's
// out-of-order pair go together): an event whose key still has a request in flight at its due
// time is held and sent the moment that request is answered. Its
// latency still counts from its due time (coordinated omission corrected), so holding it never
// makes the service look faster.
//
// What the replay can prove is decided in replay-validity.ts from the driver's record: whether the
// offered rate held, and the driver's own send lag: from the moment a request could be sent (its
// due time, or its key's previous answer if that came later) to the moment it was handed to the
// connection pool. Time held behind a slow answer of the same key is the service's doing; it is in
// each sample's sendLagMs (sent - due) and in its latency.

import os from "node:os";
import { performance } from "node:perf_hooks";
import type { ReplayResult } from "../../model/index.js";
import { checkOptions, connectionLimit, type ReplayOptions } from "./replay-options.js";
import { run } from "./replay.js";
import { preconnect } from "./spare-sockets.js";
import { warmUp } from "./warm-up.js";

/**
 * Replay the events against the URL at the offered rate. Resolves when every sent request is
 * answered or timed out (or at once on `signal`), with one sample per sent request.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const url = checkOptions(o);
  if (o.signal?.aborted) return run(o, url, []);
  return withDriverPriority(async () => {
    await warmUp(o);
    // A shard waiting for an agreed t0 connects just before it: connections opened at the start of a
    // long lead sit idle past the service's keep-alive timeout and are closed under the first requests.
    if (o.startAt !== undefined) await sleepUntil(o.startAt - CONNECT_BEFORE_T0_MS);
    // A tenth of a second's requests: a stall of that length is met with connections already open,
    // not with a burst of connects (each a socket, a handshake and five setsockopt calls on both sides).
    const sockets = await preconnect(url, Math.min(connectionLimit(o), Math.max(16, Math.ceil(o.rate / 10))));
    return run(o, url, sockets);
  });
}

/** How long before an agreed t0 a shard opens its connections, ms. */
const CONNECT_BEFORE_T0_MS = 1_000;

function sleepUntil(performanceMs: number): Promise<void> {
  const wait = performanceMs - performance.now();
  return wait > 0 ? new Promise((r) => setTimeout(r, wait)) : Promise.resolve();
}

/**
 * The replay driver shares this machine with the service under test. A load generator belongs on a
 * machine of its own; the nearest thing here is to let the scheduler run it first, so it keeps its
 * schedule (an invalid run says nothing). Latency is still counted from each request's due time.
 * Without the privilege to raise priority (not root), the run goes on at normal priority.
 */
async function withDriverPriority<T>(work: () => Promise<T>): Promise<T> {
  const before = os.getPriority();
  let raised = false;
  try {
    os.setPriority(-10);
    raised = true;
  } catch {
    // not permitted: measure at normal priority
  }
  try {
    return await work();
  } finally {
    if (raised) os.setPriority(before);
  }
}
