// Pure checks of what a replay sent and got against what the service stored:
// idempotency, per-key ordering, lost events and the error breakdown. Data in, reports out.

import type { DatabaseConfirmation, ErrorBreakdown, IdempotencyReport, OrderingReport, RequestSample } from "../model/index.js";
import type { StoredEvent } from "./event-store.js";

/** Distinct event ids the service acknowledged (202, or a duplicate answer for an id it holds). */
export function acknowledgedIds(samples: RequestSample[]): Set<string> {
  const ids = new Set<string>();
  for (const s of samples) if (s.outcome === "accepted" || s.outcome === "duplicate") ids.add(s.eventId);
  return ids;
}

export function distinctIds(samples: RequestSample[]): Set<string> {
  return new Set(samples.map((s) => s.eventId));
}

export function errorBreakdown(samples: RequestSample[]): ErrorBreakdown {
  const byStatus: Record<string, number> = {};
  let timeouts = 0;
  let transport = 0;
  for (const s of samples) {
    if (s.outcome === "timeout") timeouts++;
    else if (s.status === 0) transport++;
    else if (s.status < 200 || s.status > 299) byStatus[String(s.status)] = (byStatus[String(s.status)] ?? 0) + 1;
  }
  return { byStatus, timeouts, transport };
}

export function errorCount(e: ErrorBreakdown): number {
  return Object.values(e.byStatus).reduce((a, b) => a + b, 0) + e.timeouts + e.transport;
}

export function idempotencyReport(samples: RequestSample[], stored: StoredEvent[]): IdempotencyReport {
  const violations: IdempotencyReport["violations"] = [];
  const rowsPerId = new Map<string, number>();
  for (const e of stored) rowsPerId.set(e.idempotencyKey, (rowsPerId.get(e.idempotencyKey) ?? 0) + 1);
  let storedMoreThanOnce = 0;
  for (const [id, n] of [...rowsPerId].sort()) {
    if (n > 1) {
      storedMoreThanOnce++;
      violations.push({ eventId: id, kind: "stored_twice", detail: `${n} rows in webhook_events` });
    }
  }
  // A redelivery must be answered as a duplicate when its original was already accepted.
  const acceptedBefore = new Set<string>();
  let redeliveriesSent = 0;
  let answeredDuplicate = 0;
  let answeredNew = 0;
  const ordered = [...samples].sort((a, b) => a.sentAt - b.sentAt || a.index - b.index);
  for (const s of ordered) {
    if (s.redelivery) {
      redeliveriesSent++;
      if (s.outcome === "duplicate") answeredDuplicate++;
      else if (s.outcome === "accepted" && acceptedBefore.has(s.eventId)) {
        answeredNew++;
        violations.push({
          eventId: s.eventId,
          kind: "redelivery_answered_new",
          detail: `request #${s.index} answered 202 accepted although the event was accepted before`,
        });
      }
    }
    if (s.outcome === "accepted") acceptedBefore.add(s.eventId);
  }
  return { redeliveriesSent, answeredDuplicate, answeredNew, storedMoreThanOnce, violations };
}

/**
 * Per ordering key, the order in which the service applied events (apply_index) must follow the
 * sequence order the driver sent: keys and sequence numbers come from the replay's samples, never
 * from the service's own columns, so a service that stored the wrong seq cannot vouch for itself.
 * Events stored but never applied count as violations too: they were held and never released.
 */
export function orderingReport(samples: RequestSample[], stored: StoredEvent[], gaps: OrderingReport["gaps"]): OrderingReport {
  const sent = new Map<string, { orderingKey: string; seq: number }>();
  for (const s of samples) {
    if (s.orderingKey === null || s.seq === null || sent.has(s.eventId)) continue;
    sent.set(s.eventId, { orderingKey: s.orderingKey, seq: s.seq });
  }
  const byKey = new Map<string, { seq: number; applyIndex: number | null }[]>();
  for (const e of stored) {
    const as = sent.get(e.idempotencyKey);
    if (!as) continue;
    let list = byKey.get(as.orderingKey);
    if (!list) byKey.set(as.orderingKey, (list = []));
    list.push({ seq: as.seq, applyIndex: e.applyIndex });
  }
  const violations: OrderingReport["violations"] = [];
  const counts: number[] = [];
  let eventsChecked = 0;
  for (const key of [...byKey.keys()].sort()) {
    const events = byKey.get(key)!;
    counts.push(events.length);
    eventsChecked += events.length;
    const applied = events.filter((e) => e.applyIndex !== null).sort((a, b) => a.applyIndex! - b.applyIndex!);
    const actual = applied.map((e) => e.seq);
    const expected = [...actual].sort((a, b) => a - b);
    const held = events.filter((e) => e.applyIndex === null);
    const outOfOrder = actual.some((seq, i) => seq !== expected[i]);
    if (outOfOrder || held.length > 0) {
      violations.push({
        orderingKey: key,
        expected: [...expected, ...held.map((e) => e.seq)].sort((a, b) => a - b),
        actual: [...actual, ...held.map(() => -1)],
      });
    }
  }
  counts.sort((a, b) => a - b);
  const eventsPerKey = counts.length
    ? { min: counts[0], median: counts[Math.floor((counts.length - 1) / 2)], max: counts[counts.length - 1] }
    : { min: 0, median: 0, max: 0 };
  return { keysChecked: byKey.size, eventsChecked, eventsPerKey, gaps, violations };
}

export function lostEvents(samples: RequestSample[], stored: StoredEvent[]): string[] {
  const have = new Set(stored.map((e) => e.idempotencyKey));
  return [...acknowledgedIds(samples)].filter((id) => !have.has(id)).sort();
}

export function databaseConfirmation(
  samples: RequestSample[],
  stored: StoredEvent[],
  constraints: DatabaseConfirmation["constraints"],
): DatabaseConfirmation {
  return {
    rowCount: stored.length,
    acceptedCount: acknowledgedIds(samples).size,
    constraints,
    lostEvents: lostEvents(samples, stored),
  };
}
