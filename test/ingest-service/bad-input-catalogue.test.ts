// Every hostile or broken request of the catalogue gets a 4xx with a clear JSON error (or a closed
// connection for a protocol violation), stores nothing, and leaves the server answering; the heap the
// servers keep alive stays flat when the catalogue is run 100 times. Real Redis and PostgreSQL, a namespace of this test's own.

import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropNamespace } from "../../src/gates/target/deployment.js";
import {
  badInputCatalogue,
  checkStoredNothing,
  runCatalogue,
  type CaseResult,
  type CatalogueTarget,
} from "../../faults/bad-input-catalogue.js";
import { IngestProcesses } from "../../faults/ingest-processes.js";
import { heapSnapshotFlags, retainedHeapBytes } from "../support/retained-heap.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const namespace = `badinput_${randomBytes(4).toString("hex")}`;
const bearerKey = randomBytes(16).toString("hex");
const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
const githubSecret = randomBytes(16).toString("hex");
/** The servers' --request-timeout-ms, short so the slow senders take seconds, not minutes. */
const REQUEST_TIMEOUT_MS = 3000;
/** A slow sender must be cut within the timeout plus the server's check interval (<= 1 s) and 1 s of slack. */
const SLOW_BOUND_MS = REQUEST_TIMEOUT_MS + 2000;

const catalogue = badInputCatalogue(SLOW_BOUND_MS);
let signed: IngestProcesses;
let bearer: IngestProcesses;
let target: CatalogueTarget;
const results = new Map<string, CaseResult>();
let probeIds: string[] = [];
const logDir = join(tmpdir(), `rg-${namespace}`);

beforeAll(async () => {
  const common = { namespace, redisUrl: REDIS_URL, databaseUrl: DATABASE_URL, logDir };
  const serverArgs = ["--request-timeout-ms", String(REQUEST_TIMEOUT_MS)];
  const nodeArgs = heapSnapshotFlags(logDir);
  signed = await IngestProcesses.start({ ...common, credentials: { bearerKey, signingSecret, githubSecret }, serverArgs, nodeArgs }, 1);
  // A second front door, bearer only, so the idempotency-key checks are reachable (with Standard
  // Webhooks on, a request without webhook-id already fails authentication).
  bearer = await IngestProcesses.start({ ...common, credentials: { bearerKey }, serverArgs, nodeArgs }, 0);
  target = {
    namespace,
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
    servers: {
      signed: { host: "127.0.0.1", port: signed.port, bearerKey, signingSecret, githubSecret },
      bearer: { host: "127.0.0.1", port: bearer.port, bearerKey },
    },
  };
  const report = await runCatalogue(target, { cases: catalogue });
  for (const r of report.results) results.set(r.name, r);
  probeIds = report.probeIds;
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([signed?.stop(), bearer?.stop()]);
  await dropNamespace(REDIS_URL, DATABASE_URL, namespace).catch(() => {});
  rmSync(logDir, { recursive: true, force: true });
});

test("the catalogue holds at least 40 hostile or broken requests", () => {
  expect(catalogue.length).toBeGreaterThanOrEqual(40);
  expect(results.size).toBe(catalogue.length);
});

describe.each(catalogue.map((k) => [k.name, k.group]))("%s (%s)", (name) => {
  test("is refused clearly, enqueues nothing, and a valid webhook is accepted right after", () => {
    const r = results.get(name);
    expect(r).toBeDefined();
    // The problems say what the service did wrong; an empty list is the pass.
    expect({ name, status: r!.status, code: r!.code, problems: r!.problems }).toEqual({
      name,
      status: r!.status,
      code: r!.code,
      problems: [],
    });
  });
});

test("after the catalogue the events table holds exactly the valid probes, and nothing is dead-lettered", async () => {
  expect(probeIds.length).toBeGreaterThan(0);
  expect(await checkStoredNothing(target, probeIds)).toEqual([]);
});

test("the heap the servers keep alive grows by at most 5% when the catalogue is run 100 times", async () => {
  const fast = catalogue.filter((k) => !k.slow);
  const servers = { signed, bearer };
  const retained = async () => {
    const bytes: Record<string, number> = {};
    for (const [name, p] of Object.entries(servers)) {
      bytes[name] = await retainedHeapBytes(p.serverPid!, logDir, async () => (await p.readiness()).status === 200);
    }
    return bytes;
  };
  // The retained heap, not RSS: RSS follows V8's sizing of its spaces and when it returns pages, and
  // grew by 20.4% in one CI run with nothing leaking. The retained heap is measured after a full
  // collection: after 40 warm-up runs (JIT, pools) it grew by 1.2-1.6% over the next 100 runs in
  // four runs of this test, and stayed flat from run 100 to run 300. One run is 96 requests, so a
  // leak of 100 bytes per request would add about 9%.
  for (let i = 0; i < 40; i++) await runCatalogue(target, { cases: fast, probe: false, checkQueue: false, concurrency: 8 });
  const before = await retained();
  for (let i = 0; i < 100; i++) await runCatalogue(target, { cases: fast, probe: false, checkQueue: false, concurrency: 8 });
  const after = await retained();
  const report = (name: string) =>
    `${(before[name] / 1e6).toFixed(2)} MB -> ${(after[name] / 1e6).toFixed(2)} MB (${((after[name] / before[name] - 1) * 100).toFixed(1)}%)`;
  console.log(
    `${fast.length} requests per run; retained heap after 40 warm-up runs and after 100 more: signed server ${report("signed")}, bearer server ${report("bearer")}`,
  );
  const within = (name: string) => (after[name] <= before[name] * 1.05 ? "within 5%" : `over 5%: ${report(name)}`);
  expect({ signed: within("signed"), bearer: within("bearer") }).toEqual({ signed: "within 5%", bearer: "within 5%" });
  expect((await signed.readiness()).status).toBe(200);
}, 300_000);
