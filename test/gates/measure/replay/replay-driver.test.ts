import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { generateCorpus } from "../../../../src/gates/measure/corpus/replay-corpus.js";
import { replay, ReplayError, saysDuplicate } from "../../../../src/gates/measure/replay/index.js";
import type { ReplayProgress } from "../../../../src/gates/measure/replay/index.js";
import { summarizeLatency } from "../../../../src/gates/verdict/statistics.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A webhook receiver the test controls: reads the body, then lets the test answer. */
async function startServer(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, Buffer.concat(chunks).toString("utf8"), res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function accept(res: ServerResponse, requestId = "req"): void {
  res
    .writeHead(202, { "content-type": "application/json", "x-request-id": requestId })
    .end(`{"request_id":"${requestId}","status":"accepted"}`);
}

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("signatures", () => {
  test.each(["lean", "baseline"] as const)(
    "every request carries the headers the service checks, freshly signed, and verifies (%s driver)",
    async (driver) => {
      const events = generateCorpus({ seed: "headers", requests: 60, orderingKeys: 6, redeliveryShare: 0.1 });
      const verifier = new Webhook(SECRET);
      const problems: string[] = [];
      const seen: { id: string; key: string; seq: string; timestamp: number }[] = [];
      const server = await startServer((req, body, res) => {
        const h = req.headers;
        try {
          verifier.verify(body, {
            "webhook-id": String(h["webhook-id"]),
            "webhook-timestamp": String(h["webhook-timestamp"]),
            "webhook-signature": String(h["webhook-signature"]),
          });
        } catch (err) {
          problems.push(`standard webhooks: ${(err as Error).message}`);
        }
        const github = "sha256=" + createHmac("sha256", "gh-secret").update(body).digest("hex");
        if (h["x-hub-signature-256"] !== github) problems.push("x-hub-signature-256 does not match the body");
        if (h.authorization !== "Bearer bearer-key") problems.push(`authorization: ${h.authorization}`);
        if (h["content-type"] !== "application/json") problems.push(`content-type: ${h["content-type"]}`);
        seen.push({
          id: String(h["webhook-id"]),
          key: String(h["x-repo"]),
          seq: String(h["x-seq"]),
          timestamp: Number(h["webhook-timestamp"]),
        });
        accept(res);
      });
      try {
        const result = await replay({
          url: server.url,
          rate: 300,
          events,
          credentials: { bearerKey: "bearer-key", signingSecret: SECRET, githubSecret: "gh-secret" },
          headers: { orderingKey: "x-repo", sequence: "x-seq" },
          driver,
        });
        expect(problems).toEqual([]);
        expect(result.samples.every((s) => s.outcome === "accepted")).toBe(true);
        const byId = new Map(events.map((e) => [e.id, e]));
        expect(seen).toHaveLength(60);
        for (const s of seen) {
          expect(byId.get(s.id)?.orderingKey).toBe(s.key);
          expect(String(byId.get(s.id)?.seq)).toBe(s.seq);
          expect(Math.abs(s.timestamp - Date.now() / 1000)).toBeLessThan(60);
        }
      } finally {
        await server.close();
      }
    },
  );
});

describe("open-loop measurement", () => {
  test("a server that stalls 10% of requests for 100 ms shows the stall in the P95", async () => {
    const events = generateCorpus({ seed: "stall", requests: 500, orderingKeys: 500, redeliveryShare: 0 });
    let received = 0;
    const server = await startServer((_req, _body, res) => {
      if (++received % 10 === 0) setTimeout(() => accept(res), 100);
      else accept(res);
    });
    try {
      const result = await replay({ url: server.url, rate: 500, events, credentials: {} });
      const latency = summarizeLatency(result.samples.map((s) => s.latencyMs))!;
      expect(latency.n).toBe(500);
      // Node's setTimeout(100) may fire a fraction of a millisecond early: hence 95, not 100.
      expect(latency.p95).toBeGreaterThanOrEqual(95);
      expect(result.samples.filter((s) => s.latencyMs >= 95).length).toBeGreaterThanOrEqual(50);
      // Not everything was slow: the fast 90% stay well under the stall (generous: CI is busy).
      expect(latency.p50).toBeLessThan(100);
      for (const s of result.samples) expect(s.latencyMs).toBeCloseTo(s.doneAt - s.dueAt, 6);
    } finally {
      await server.close();
    }
  });

  test("a request held behind its key's slow answer is measured from its due time, not from its send", async () => {
    // One ordering key: every request waits for the previous answer, as a closed-loop tool would.
    const events = generateCorpus({ seed: "co", requests: 100, orderingKeys: 1, redeliveryShare: 0 });
    let received = 0;
    const server = await startServer((_req, _body, res) => {
      if (++received % 10 === 0) setTimeout(() => accept(res), 100);
      else accept(res);
    });
    try {
      const result = await replay({ url: server.url, rate: 200, events, credentials: {} });
      const slowAnswers = result.samples.filter((s) => s.doneAt - s.sentAt >= 50).length;
      const slowLatencies = result.samples.filter((s) => s.latencyMs >= 50).length;
      // Only the 10 stalled requests were slow to answer, but the ~100 ms of sends they held
      // back (~20 requests each at 200/s) are slow too, from where they should have gone out.
      expect(slowAnswers).toBeLessThanOrEqual(20);
      expect(slowLatencies).toBeGreaterThan(3 * slowAnswers);
      const timeFromSend = summarizeLatency(result.samples.map((s) => s.doneAt - s.sentAt))!;
      const latency = summarizeLatency(result.samples.map((s) => s.latencyMs))!;
      expect(latency.p95).toBeGreaterThan(timeFromSend.p95);
      expect(latency.p50).toBeGreaterThan(20);
      // Held requests went out well after their due time, but waiting for the service is not the
      // driver falling behind: the driver's own send lag (what invalidates a run) leaves it out.
      expect(result.samples.filter((s) => s.sendLagMs > 50).length).toBeGreaterThanOrEqual(10);
      expect(result.sendLagP99Ms).toBeLessThan(50);
    } finally {
      await server.close();
    }
  });

  test("the events of one ordering key are sent in order, one at a time, each after the previous answer", async () => {
    const events = generateCorpus({ seed: "order", requests: 600, orderingKeys: 20, redeliveryShare: 0.05 });
    const inFlight = new Map<string, number>();
    const arrivals = new Map<string, string[]>();
    let overlaps = 0;
    let jitter = 7;
    const server = await startServer((req, _body, res) => {
      const key = String(req.headers["x-ordering-key"]);
      const now = (inFlight.get(key) ?? 0) + 1;
      if (now > 1) overlaps++;
      inFlight.set(key, now);
      arrivals.set(key, [...(arrivals.get(key) ?? []), String(req.headers["webhook-id"])]);
      jitter = (jitter * 31 + 11) % 23;
      setTimeout(() => {
        inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        accept(res);
      }, jitter);
    });
    try {
      const result = await replay({ url: server.url, rate: 1000, events, credentials: {} });
      expect(result.samples).toHaveLength(600);
      expect(overlaps).toBe(0);
      const expected = new Map<string, string[]>();
      for (const e of events) expected.set(e.orderingKey, [...(expected.get(e.orderingKey) ?? []), e.id]);
      expect(arrivals).toEqual(expected);
    } finally {
      await server.close();
    }
  });

  test("the two events of an out-of-order pair go out together, higher seq first, but only after their key's earlier events were answered", async () => {
    const events = [
      { index: 0, id: "msg_a1", orderingKey: "k", seq: 1, eventType: "push", redelivery: false, body: "{}" },
      { index: 1, id: "msg_a3", orderingKey: "k", seq: 3, eventType: "push", redelivery: false, concurrent: true as const, body: "{}" },
      { index: 2, id: "msg_a2", orderingKey: "k", seq: 2, eventType: "push", redelivery: false, concurrent: true as const, body: "{}" },
    ];
    const arrivals: string[] = [];
    let inFlight = 0;
    let most = 0;
    // Every answer takes 150 ms: at 100/s the three are due 10 ms apart, so any waiting shows.
    const server = await startServer((req, _body, res) => {
      arrivals.push(String(req.headers["x-sequence"]));
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        accept(res);
      }, 150);
    });
    try {
      const result = await replay({ url: server.url, rate: 100, events, credentials: {} });
      expect(result.samples).toHaveLength(3);
      expect(arrivals).toEqual(["1", "3", "2"]);
      // seq 1 alone first; then 3 and 2 at once, without waiting for each other.
      expect(most).toBe(2);
      const [one, three, two] = result.samples.sort((x, y) => x.index - y.index);
      expect(three.sentAt).toBeGreaterThanOrEqual(one.doneAt);
      expect(two.sentAt).toBeLessThan(three.doneAt);
    } finally {
      await server.close();
    }
  });

  test("a rate the driver cannot reach makes the run invalid, with every sample still kept", async () => {
    const events = generateCorpus({ seed: "fast", requests: 3000, orderingKeys: 3000, redeliveryShare: 0 });
    const server = await startServer((_req, _body, res) => accept(res));
    try {
      const result = await replay({ url: server.url, rate: 1_000_000, events, credentials: {} });
      expect(result.valid).toBe(false);
      expect(result.invalidReason).toMatch(/^the driver offered \d+ req\/s over the phase, under 99% of the 1000000 req\/s target$/);
      expect(result.schedule?.rateHeld).toBe(false);
      expect(result.achievedRate).toBeLessThan(0.99 * 1_000_000);
      expect(result.samples).toHaveLength(3000);
    } finally {
      await server.close();
    }
  });

  test("requests that fall due at once are timed one by one: an unreachable rate does not look held", async () => {
    // All 3,000 due at t0, as when the process stalls across it (a collection, a busy neighbour): the
    // scheduler's first turn finds them all due. Timed once for the whole turn, their dispatches shared
    // one instant, an infinite rate, and the run passed as valid.
    const events = generateCorpus({ seed: "at-once", requests: 3000, orderingKeys: 3000, redeliveryShare: 0 });
    const server = await startServer((_req, _body, res) => accept(res));
    try {
      const result = await replay({ url: server.url, rate: 1_000_000, events, credentials: {}, dueAt: new Float64Array(3000) });
      expect(result.samples).toHaveLength(3000);
      expect(Number.isFinite(result.achievedRate)).toBe(true);
      expect(result.valid).toBe(false);
      expect(result.schedule?.rateHeld).toBe(false);
    } finally {
      await server.close();
    }
  });
});

describe("answers", () => {
  test("202, duplicate, 4xx, 5xx and a dropped connection become accepted, duplicate, rejected and error", async () => {
    const events = generateCorpus({ seed: "outcomes", requests: 50, orderingKeys: 50, redeliveryShare: 0 });
    const indexOf = new Map(events.map((e) => [e.id, e.index]));
    const server = await startServer((req, _body, res) => {
      const i = indexOf.get(String(req.headers["webhook-id"]))!;
      switch (i % 5) {
        case 0:
          return accept(res, `req-${i}`);
        case 1:
          return res.writeHead(200, { "x-request-id": `req-${i}` }).end(`{"request_id":"orig","status":"duplicate"}`);
        case 2:
          return res.writeHead(401, { "x-request-id": `req-${i}` }).end(`{"error":{"code":"bad_signature","message":"no"}}`);
        case 3:
          return res.writeHead(503, { "retry-after": "1" }).end();
        default:
          req.socket.destroy();
      }
    });
    try {
      const result = await replay({ url: server.url, rate: 500, events, credentials: {} });
      expect(result.samples).toHaveLength(50);
      for (const s of result.samples) {
        const expected = [
          { outcome: "accepted", status: 202, requestId: `req-${s.index}` },
          { outcome: "duplicate", status: 200, requestId: `req-${s.index}` },
          { outcome: "rejected", status: 401, requestId: `req-${s.index}` },
          { outcome: "error", status: 503, requestId: null },
          { outcome: "error", status: 0, requestId: null },
        ][s.index % 5];
        expect({ outcome: s.outcome, status: s.status, requestId: s.requestId }).toEqual(expected);
        if (s.status === 0) expect(s.error).toBeTruthy();
        else expect(s.error).toBeUndefined();
      }
    } finally {
      await server.close();
    }
  });

  test("a request with no answer within the timeout is a timeout, and the replay still ends", async () => {
    const events = generateCorpus({ seed: "timeouts", requests: 40, orderingKeys: 40, redeliveryShare: 0 });
    const silent = new Set(events.filter((e) => e.index % 4 === 0).map((e) => e.id));
    const server = await startServer((req, _body, res) => {
      if (!silent.has(String(req.headers["webhook-id"]))) accept(res);
    });
    try {
      const started = Date.now();
      const result = await replay({ url: server.url, rate: 400, events, credentials: {}, timeoutMs: 200 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(result.samples).toHaveLength(40);
      for (const s of result.samples) {
        if (silent.has(s.eventId)) {
          expect(s.outcome).toBe("timeout");
          expect(s.status).toBe(0);
          expect(s.doneAt - s.sentAt).toBeGreaterThanOrEqual(200);
          expect(s.error).toMatch(/no answer within 200 ms/);
        } else {
          expect(s.outcome).toBe("accepted");
        }
      }
    } finally {
      await server.close();
    }
  });
});

describe("stopping", () => {
  test("shouldStop ends sending early with the reason, and progress reports the counts", async () => {
    const events = generateCorpus({ seed: "budget", requests: 2000, orderingKeys: 100, redeliveryShare: 0 });
    const server = await startServer((_req, _body, res) => res.writeHead(500).end());
    const reports: ReplayProgress[] = [];
    try {
      const result = await replay({
        url: server.url,
        rate: 1000,
        events,
        credentials: {},
        onProgress: (p) => reports.push(p),
        shouldStop: (p) => (p.errors > 20 ? `error budget spent: ${p.errors} errors` : null),
      });
      expect(result.aborted).toMatch(/^error budget spent: \d+ errors$/);
      expect(result.samples.length).toBeGreaterThan(20);
      expect(result.samples.length).toBeLessThan(1000);
      expect(result.samples.every((s) => s.outcome === "error" && s.status === 500)).toBe(true);
      const last = reports[reports.length - 1];
      expect(last.sent).toBe(result.samples.length);
      expect(last.answered).toBe(result.samples.length);
      expect(last.serverErrors).toBe(result.samples.length);
      expect(last.total).toBe(2000);
      expect(reports[0].currentRate).toBeGreaterThan(0);
      expect(reports.map((p) => p.sent)).toEqual([...reports.map((p) => p.sent)].sort((a, b) => a - b));
    } finally {
      await server.close();
    }
  });

  test("an abort signal gives up on requests in flight at once", async () => {
    const events = generateCorpus({ seed: "abort", requests: 5000, orderingKeys: 100, redeliveryShare: 0 });
    const server = await startServer(() => {}); // never answers
    try {
      const controller = new AbortController();
      let abortedAt = 0;
      const onProgress = (p: ReplayProgress) => {
        if (p.sent >= 50 && !controller.signal.aborted) {
          abortedAt = Date.now();
          controller.abort(new Error("Ctrl-C"));
        }
      };
      const result = await replay({
        url: server.url,
        rate: 500,
        events,
        credentials: {},
        signal: controller.signal,
        timeoutMs: 60_000,
        onProgress,
      });
      expect(abortedAt).toBeGreaterThan(0);
      expect(Date.now() - abortedAt).toBeLessThan(2000);
      expect(result.aborted).toBe("aborted: Ctrl-C");
      expect(result.samples.length).toBeGreaterThan(0);
      expect(result.samples.every((s) => s.outcome === "error" && s.status === 0)).toBe(true);
    } finally {
      await server.close();
    }
  });

  test("options it cannot run with are refused before anything is sent", async () => {
    const events = generateCorpus({ seed: "bad", requests: 5, orderingKeys: 1, redeliveryShare: 0 });
    await expect(replay({ url: "http://127.0.0.1:1/webhooks", rate: 0, events, credentials: {} })).rejects.toThrow(
      /rate must be a positive number/,
    );
    await expect(replay({ url: "not a url", rate: 10, events, credentials: {} })).rejects.toThrow(ReplayError);
    await expect(
      replay({ url: "http://127.0.0.1:1/webhooks", rate: 10, events, credentials: { signingSecret: "secret" } }),
    ).rejects.toThrow(/whsec_/);
  });
});

describe("the lean driver", () => {
  test("reads a 2xx answer as duplicate only when its JSON says status duplicate", () => {
    expect(saysDuplicate([Buffer.from('{"request_id":"a","status":"duplicate"}')])).toBe(true);
    expect(saysDuplicate([Buffer.from('{"request_id":"a","sta'), Buffer.from('tus":"duplicate"}')])).toBe(true);
    expect(saysDuplicate([Buffer.from('{"status":"accepted","request_id":"x"}')])).toBe(false);
    // The bytes inside another field do not make an accepted answer a duplicate.
    expect(saysDuplicate([Buffer.from('{"note":{"status":"duplicate"},"status":"accepted"}')])).toBe(false);
    expect(saysDuplicate([Buffer.from('"status":"duplicate" but not JSON')])).toBe(false);
    expect(saysDuplicate([])).toBe(false);
  });

  test("reports the driver's own CPU time over the replay", async () => {
    const server = await startServer((_req, _body, res) => accept(res));
    try {
      const events = generateCorpus({ seed: "cpu", requests: 200, orderingKeys: 20, redeliveryShare: 0 });
      const result = await replay({ url: server.url, rate: 400, events, credentials: { signingSecret: SECRET } });
      expect(result.samples).toHaveLength(200);
      // Half a second of sending costs something, and far less than the half second itself.
      expect(result.driverCpuUs).toBeGreaterThan(0);
      expect(result.driverCpuUs!).toBeLessThan(result.durationMs * 1000 * 2);
    } finally {
      await server.close();
    }
  });
});
