// Evidence item 1's replay part: every request a phase sent, one JSON object per line, as the driver saw it.

import type { GateRun, RequestSample, ScheduleCheck } from "../model/index.js";

/** Times to the microsecond: the driver measures no finer, and the 30K bundle stays small. */
function us(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** One line per request, fields in a fixed order, so the same replay gives the same bytes. */
export function samplesNdjson(samples: readonly RequestSample[]): string {
  let out = "";
  for (const s of samples) {
    const line: Record<string, unknown> = {
      index: s.index,
      eventId: s.eventId,
      orderingKey: s.orderingKey,
      seq: s.seq,
      redelivery: s.redelivery,
      dueAt: us(s.dueAt),
      sentAt: us(s.sentAt),
      doneAt: us(s.doneAt),
      latencyMs: us(s.latencyMs),
      sendLagMs: us(s.sendLagMs),
      ...(s.ownLagMs === undefined ? {} : { ownLagMs: us(s.ownLagMs) }),
      status: s.status,
      outcome: s.outcome,
      requestId: s.requestId,
    };
    if (s.error !== undefined) line.error = s.error;
    out += `${JSON.stringify(line)}\n`;
  }
  return out;
}

export interface ReplayLogIndex {
  item: "replay_logs";
  format: string;
  phases: {
    phase: string;
    ran: boolean;
    file: string | null;
    requests: number;
    startedAt: string | null;
    durationMs: number | null;
    targetRate: number | null;
    achievedRate: number | null;
    sendLagP99Ms: number | null;
    valid: boolean | null;
    invalidReason: string | null;
    aborted: string | null;
    /** The replay-validity rule's record: the rate per 5-second window, the driver's lag, the driver-free lower bound. */
    schedule: ScheduleCheck | null;
  }[];
  serviceLogs: { name: string; file: string | null; bytes: number; lines: number; problem: string | null }[];
}

export const SAMPLES_FORMAT =
  "NDJSON, one object per request in send order: index, eventId (webhook-id), orderingKey, seq, redelivery, dueAt/sentAt/doneAt (ms since the phase's t0, to the microsecond), latencyMs (doneAt - dueAt), sendLagMs, ownLagMs (the driver's own delay: from when the request could be sent to when its connection took it, plus how long its answer may have waited for the driver's busy event loop; a FAIL's lower bound takes it out), status (0 for a timeout or transport error), outcome, requestId (the X-Request-Id answered), error. Files ending in .gz are gzip-compressed (zcat FILE).";

export function replayLogIndex(run: GateRun, sampleFiles: Map<string, string>, serviceLogs: ReplayLogIndex["serviceLogs"]): ReplayLogIndex {
  return {
    item: "replay_logs",
    format: SAMPLES_FORMAT,
    phases: run.phases.map((p) => {
      const r = p.replay;
      return {
        phase: p.name,
        ran: p.ran,
        file: sampleFiles.get(p.name) ?? null,
        requests: r?.samples.length ?? 0,
        startedAt: r?.startedAt ?? null,
        durationMs: r ? us(r.durationMs) : null,
        targetRate: r?.targetRate ?? null,
        achievedRate: r ? us(r.achievedRate) : null,
        sendLagP99Ms: r ? us(r.sendLagP99Ms) : null,
        valid: r?.valid ?? null,
        invalidReason: r?.invalidReason ?? null,
        aborted: r?.aborted ?? null,
        schedule: r?.schedule ?? null,
      };
    }),
    serviceLogs,
  };
}
