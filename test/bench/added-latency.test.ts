// The slowness knob calibration makes a slower build with: `gate ingest serve --added-latency 2ms`
// (INGEST_ADDED_LATENCY), off by default, refused with a clear message when it is not a whole-millisecond delay.

import { parseServeArgs } from "../../src/ingest-service/config.js";
import { startIngestServer } from "../../src/ingest-service/server.js";
import { newNamespace, postWebhook, serverOptions, Store } from "../ingest-service/support/ingest-fixture.js";

describe("--added-latency", () => {
  const serve = (args: string[], env: Record<string, string> = {}) => parseServeArgs(["--insecure", ...args], env);

  it("is off unless asked for, and reads a flag or the environment (the flag wins)", () => {
    expect(serve([])).toMatchObject({ ok: true, options: { addedLatencyMs: 0 } });
    expect(serve(["--added-latency", "2ms"])).toMatchObject({ ok: true, options: { addedLatencyMs: 2 } });
    expect(serve(["--added-latency=1s"])).toMatchObject({ ok: true, options: { addedLatencyMs: 1000 } });
    expect(serve([], { INGEST_ADDED_LATENCY: "3ms" })).toMatchObject({ ok: true, options: { addedLatencyMs: 3 } });
    expect(serve(["--added-latency", "0"], { INGEST_ADDED_LATENCY: "3ms" })).toMatchObject({ ok: true, options: { addedLatencyMs: 0 } });
  });

  it.each(["fast", "2", "1.5ms", "-1ms", "250us", "11s", ""])("refuses %j, saying what it takes", (value) => {
    // `=`: a value that starts with a dash is otherwise refused by the argument parser as a missing value.
    expect(serve([`--added-latency=${value}`])).toEqual({
      ok: false,
      error: {
        code: "bad_value",
        message: `--added-latency must be a delay in whole milliseconds such as 2ms or 1s, at most 10s, or 0 (off), got "${value}"`,
      },
    });
  });

  it("names the environment variable when that is where the bad value came from", () => {
    expect(serve([], { INGEST_ADDED_LATENCY: "slow" })).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/^INGEST_ADDED_LATENCY must be/) },
    });
  });

  it("holds a 202 back at least the delay, and still queues the event once", async () => {
    const store = new Store(newNamespace());
    const server = await startIngestServer(serverOptions(store.namespace, { addedLatencyMs: 400 }));
    try {
      const answer = await postWebhook(server.url, "slowed-1");
      expect(answer.status).toBe(202);
      // A timer never fires early, and it starts after the request arrived: the client waited at least that long.
      expect(answer.ms).toBeGreaterThanOrEqual(400);
      expect(await store.redis.xlen(store.keys.events)).toBe(1);
    } finally {
      await server.close();
      await store.drop();
    }
  });
});
