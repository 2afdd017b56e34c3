// The service's log: lines are gathered and written in batches, and none is lost to the batching.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServiceLog } from "../../src/ingest-service/logger.js";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "service-log-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const options = (logFile: string) => ({ namespace: "log_test", redisUrl: "", databaseUrl: "", logLevel: "info", logFile });
const linesOf = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { i: number; msg?: string; role: string });

test("every line logged before flush() is in the file, whole and in order, the moment flush() resolves", async () => {
  const file = join(dir, "serve.log");
  const { log, flush } = createServiceLog(options(file), "serve");
  // Several batches' worth and a part batch, some of them logged while earlier batches are being written.
  for (let i = 0; i < 3000; i++) {
    log.info({ hop: "enqueued", i, request_id: `request-${i}` });
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  await flush();
  const lines = linesOf(file);
  expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  expect(lines.every((l) => l.role === "serve")).toBe(true);
});

test("a few lines and then quiet: they reach the file within a second, with no flush", async () => {
  const file = join(dir, "worker.log");
  const { log, flush } = createServiceLog(options(file), "worker");
  log.info({ i: 1 }, "one");
  log.info({ i: 2 }, "two");
  const deadline = Date.now() + 1500;
  let lines: { i: number }[] = [];
  while (Date.now() < deadline && lines.length < 2) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      lines = linesOf(file);
    } catch {
      // not created yet
    }
  }
  expect(lines.map((l) => l.i)).toEqual([1, 2]);
  await flush();
});
