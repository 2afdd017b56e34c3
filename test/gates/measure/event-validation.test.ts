import type { RequestSample } from "../../../src/gates/model/gate-run-record.js";
import type { StoredEvent } from "../../../src/gates/measure/event-store.js";
import {
  databaseConfirmation,
  errorBreakdown,
  errorCount,
  idempotencyReport,
  lostEvents,
  orderingReport,
} from "../../../src/gates/measure/event-validation.js";

let n = 0;
function sample(p: Partial<RequestSample> & { eventId: string }): RequestSample {
  const i = n++;
  return {
    index: i,
    orderingKey: "k",
    seq: 1,
    redelivery: false,
    dueAt: i,
    sentAt: i,
    doneAt: i + 1,
    latencyMs: 1,
    sendLagMs: 0,
    status: 202,
    outcome: "accepted",
    requestId: `req_${i}`,
    ...p,
  };
}

function row(p: Partial<StoredEvent> & { idempotencyKey: string }): StoredEvent {
  return {
    requestId: "r",
    orderingKey: "k",
    seq: 1,
    batchId: "b1",
    receivedAt: "2026-01-01T00:00:00.000Z",
    persistedAt: "2026-01-01T00:00:00.010Z",
    applyIndex: 1,
    appliedAt: "2026-01-01T00:00:00.010Z",
    ...p,
  };
}

describe("idempotency report", () => {
  test("a redelivery answered as duplicate and stored once is no violation", () => {
    const samples = [sample({ eventId: "a" }), sample({ eventId: "a", redelivery: true, status: 200, outcome: "duplicate" })];
    const r = idempotencyReport(samples, [row({ idempotencyKey: "a" })]);
    expect(r).toMatchObject({ redeliveriesSent: 1, answeredDuplicate: 1, answeredNew: 0, storedMoreThanOnce: 0 });
    expect(r.violations).toEqual([]);
  });

  test("a redelivery answered 202 after its original was accepted is a violation", () => {
    const samples = [sample({ eventId: "a" }), sample({ eventId: "a", redelivery: true })];
    const r = idempotencyReport(samples, [row({ idempotencyKey: "a" })]);
    expect(r.answeredNew).toBe(1);
    expect(r.violations.map((v) => v.kind)).toEqual(["redelivery_answered_new"]);
  });

  test("a redelivery accepted after its original failed is correct", () => {
    const samples = [sample({ eventId: "a", status: 503, outcome: "error" }), sample({ eventId: "a", redelivery: true })];
    expect(idempotencyReport(samples, [row({ idempotencyKey: "a" })]).violations).toEqual([]);
  });

  test("an event stored twice is a violation naming the event", () => {
    const r = idempotencyReport([sample({ eventId: "a" })], [row({ idempotencyKey: "a" }), row({ idempotencyKey: "a" })]);
    expect(r.storedMoreThanOnce).toBe(1);
    expect(r.violations[0]).toMatchObject({ eventId: "a", kind: "stored_twice" });
  });
});

describe("ordering report", () => {
  /** What the driver sent: key k, event e<seq> carrying that seq. */
  const sent = (...seqs: number[]) => seqs.map((seq) => sample({ eventId: `e${seq}`, orderingKey: "k", seq }));

  test("apply order following sequence order has no violation", () => {
    const stored = [1, 2, 3].map((s) => row({ idempotencyKey: `e${s}`, seq: s, applyIndex: s }));
    const r = orderingReport(sent(1, 2, 3), stored, []);
    expect(r).toMatchObject({ keysChecked: 1, eventsChecked: 3, violations: [] });
  });

  test("apply order disagreeing with sequence order is a violation with expected and actual", () => {
    const stored = [
      row({ idempotencyKey: "e1", seq: 1, applyIndex: 1 }),
      row({ idempotencyKey: "e2", seq: 2, applyIndex: 3 }),
      row({ idempotencyKey: "e3", seq: 3, applyIndex: 2 }),
    ];
    const r = orderingReport(sent(1, 2, 3), stored, []);
    expect(r.violations).toEqual([{ orderingKey: "k", expected: [1, 2, 3], actual: [1, 3, 2] }]);
  });

  test("order is judged against the seq the driver sent, not the service's own seq column", () => {
    // The service stored its own (wrong) seq, numbering events in arrival order, and applied them in
    // that order: by its own column all is well, but e3 was sent as seq 3 and applied second.
    const stored = [
      row({ idempotencyKey: "e1", seq: 1, applyIndex: 1 }),
      row({ idempotencyKey: "e3", seq: 2, applyIndex: 2 }),
      row({ idempotencyKey: "e2", seq: 3, applyIndex: 3 }),
    ];
    const r = orderingReport(sent(1, 2, 3), stored, []);
    expect(r.violations).toEqual([{ orderingKey: "k", expected: [1, 2, 3], actual: [1, 3, 2] }]);
  });

  test("keys are the keys the driver sent: an event the service filed under another key is still judged under its own", () => {
    const stored = [
      row({ idempotencyKey: "e1", seq: 1, applyIndex: 2 }),
      row({ idempotencyKey: "e2", orderingKey: "elsewhere", seq: 2, applyIndex: 1 }),
    ];
    const r = orderingReport(sent(1, 2), stored, []);
    expect(r.keysChecked).toBe(1);
    expect(r.violations).toEqual([{ orderingKey: "k", expected: [1, 2], actual: [2, 1] }]);
  });

  test("an event held and never applied is a violation", () => {
    const stored = [row({ idempotencyKey: "e1", seq: 1, applyIndex: 1 }), row({ idempotencyKey: "e3", seq: 3, applyIndex: null })];
    expect(orderingReport(sent(1, 3), stored, []).violations).toHaveLength(1);
  });

  test("events sent without an ordering key are not checked", () => {
    const r = orderingReport(
      [sample({ eventId: "x", orderingKey: null, seq: null })],
      [row({ idempotencyKey: "x", orderingKey: null, seq: null, applyIndex: null })],
      [],
    );
    expect(r.keysChecked).toBe(0);
    expect(r.violations).toEqual([]);
  });
});

describe("lost events and errors", () => {
  test("an event answered 202 but absent from the database is lost", () => {
    const samples = [sample({ eventId: "a" }), sample({ eventId: "b" }), sample({ eventId: "c", status: 500, outcome: "error" })];
    expect(lostEvents(samples, [row({ idempotencyKey: "a" })])).toEqual(["b"]);
    const c = databaseConfirmation(samples, [row({ idempotencyKey: "a" })], []);
    expect(c).toMatchObject({ rowCount: 1, acceptedCount: 2, lostEvents: ["b"] });
  });

  test("errors are broken down by status, timeout and transport", () => {
    const samples = [
      sample({ eventId: "a" }),
      sample({ eventId: "b", status: 500, outcome: "error" }),
      sample({ eventId: "c", status: 500, outcome: "error" }),
      sample({ eventId: "d", status: 0, outcome: "timeout" }),
      sample({ eventId: "e", status: 0, outcome: "error", error: "ECONNRESET" }),
      sample({ eventId: "f", status: 200, outcome: "duplicate" }),
    ];
    const e = errorBreakdown(samples);
    expect(e).toEqual({ byStatus: { "500": 2 }, timeouts: 1, transport: 1 });
    expect(errorCount(e)).toBe(4);
  });
});
