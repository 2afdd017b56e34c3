// A gate run against a service that is already running (target.deployed): the service keeps its rows
// between runs, so each run's events carry the run id and every database check looks only at them.
// Without that, a second run would match the first run's rows and report nothing lost.

import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Gate } from "../../../src/gates/model/gate.js";
import { loadGate } from "../../../src/gates/gate-file/index.js";
import { executeRun } from "../../../src/gates/run/execute-run.js";
import { startIngestServer, type IngestServer } from "../../../src/ingest-service/server.js";
import { startIngestWorker, type IngestWorker } from "../../../src/ingest-service/workers/worker.js";
import { dropNamespace } from "../../../src/gates/target/deployment.js";
import { DATABASE_URL, REDIS_URL, serverOptions, workerOptions } from "../../ingest-service/support/ingest-fixture.js";

const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
const namespace = `rg_deployed_${randomBytes(4).toString("hex")}`;
let server: IngestServer;
let worker: IngestWorker | null;

beforeAll(async () => {
  server = await startIngestServer(serverOptions(namespace, { insecure: false, auth: { signingSecret } }));
  worker = await startIngestWorker(workerOptions(namespace));
});

afterAll(async () => {
  await worker?.close();
  await server?.close();
  await dropNamespace(REDIS_URL, DATABASE_URL, namespace);
});

function deployedGate(): Gate {
  const gateA = loadGate("gates/gate-a.yaml");
  return {
    ...gateA,
    target: { kind: "deployed", url: server.url, databaseUrl: DATABASE_URL, schema: namespace },
    phases: [{ ...gateA.phases[0]!, requests: 300, rate: 150, drainTimeoutMs: 3_000 }],
  };
}

const lost = (run: Awaited<ReturnType<typeof executeRun>>) => run.phases[0]!.slos.find((s) => s.name === "lost_events")!;

describe("two runs against the same running service", () => {
  test("the second run, with the worker stopped, FAILs with lost events instead of matching the first run's rows", async () => {
    const gate = deployedGate();
    const first = await executeRun(gate, { phases: gate.phases, commit: "unknown", credentials: { signingSecret } });
    expect(lost(first)).toMatchObject({ verdict: "PASS", measured: 0 });
    expect(first.phases[0]!.database!.rowCount).toBeGreaterThan(0);

    const rowsAfterFirst = await rowCount();
    await worker!.close(); // writes are broken from now on: accepted events stay in the queue
    worker = null;
    const second = await executeRun(gate, { phases: gate.phases, commit: "unknown", credentials: { signingSecret } });
    expect(second.verdict).toBe("FAIL");
    expect(lost(second).verdict).toBe("FAIL");
    expect(lost(second).measured).toBeGreaterThan(0);
    expect(second.phases[0]!.database!.lostEvents.length).toBe(second.phases[0]!.accepted);

    // Each run sent events of its own: no id and no ordering key of the first run came back.
    const ids = (run: typeof first) => new Set(run.phases[0]!.replay!.samples.map((s) => s.eventId));
    const firstIds = ids(first);
    expect([...ids(second)].filter((id) => firstIds.has(id))).toEqual([]);
    const keys = (run: typeof first) => new Set(run.phases[0]!.replay!.samples.map((s) => s.orderingKey));
    expect([...keys(second)].some((k) => keys(first).has(k))).toBe(false);

    // The table holds the first run's rows (and its warm-up's), none of which were counted for the second.
    expect(rowsAfterFirst).toBeGreaterThanOrEqual(first.phases[0]!.database!.rowCount);
    expect(await rowCount()).toBe(rowsAfterFirst);
    expect(second.phases[0]!.database!.rowCount).toBe(0);
  }, 90_000);
});

async function rowCount(): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`select count(*)::int as n from "${namespace}".webhook_events`);
    return rows[0].n;
  } finally {
    await client.end();
  }
}
