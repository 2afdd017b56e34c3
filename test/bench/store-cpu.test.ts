// The bench's count of PostgreSQL CPU per request: it finds the service's backends by the
// application_name the service connects with, whatever their last statement was, and counts a
// backend that connects during a run. Real PostgreSQL, real ingest server and worker.

import pg from "pg";
import { postgresCpuMeter, postgresPids } from "../../bench/store-cpu.js";
import { startIngestServer, type IngestServer } from "../../src/ingest-service/server.js";
import { startIngestWorker, type IngestWorker } from "../../src/ingest-service/workers/worker.js";
import { postgresApplicationName } from "../../src/ingest-service/postgres-pools.js";
import { DATABASE_URL, newNamespace, serverOptions, Store, workerOptions } from "../ingest-service/support/ingest-fixture.js";

let store: Store;
let db: pg.Client;

beforeEach(async () => {
  store = new Store(newNamespace());
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
});

afterEach(async () => {
  await db.end();
  await store.drop();
});

/** Backends of this namespace's service, by role. */
async function backends(namespace: string): Promise<string[]> {
  const { rows } = await db.query<{ application_name: string }>(
    "select application_name from pg_stat_activity where application_name like $1 order by 1",
    [`ingest % ${namespace}`],
  );
  return rows.map((r) => r.application_name);
}

test("the server's and the worker's connections say whose they are, and the bench finds them by it", async () => {
  let server: IngestServer | undefined;
  let worker: IngestWorker | undefined;
  try {
    server = await startIngestServer(serverOptions(store.namespace));
    worker = await startIngestWorker(workerOptions(store.namespace));
    const names = await backends(store.namespace);
    expect(names).toContain(`ingest serve ${store.namespace}`);
    expect(names).toContain(`ingest worker ${store.namespace}`);
    const pids = await postgresPids(db, store.namespace);
    // The service's backends plus the shared writers; never this client's own backend.
    const own = (await db.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0].pid;
    expect(pids).not.toContain(own);
    expect(pids.length).toBeGreaterThanOrEqual(names.length);
  } finally {
    await worker?.close();
    await server?.close();
  }
});

test("a backend that connects during a run is counted whole, one there from the start by its delta", async () => {
  const name = postgresApplicationName("worker", store.namespace);
  const early = new pg.Client({ connectionString: DATABASE_URL, application_name: name });
  await early.connect();
  const late = new pg.Client({ connectionString: DATABASE_URL, application_name: name });
  try {
    // Work before the meter starts must not count.
    await early.query("select count(*) from generate_series(1, 3000000)");
    const stop = await postgresCpuMeter(db, store.namespace);
    await late.connect();
    await late.query("select count(*) from generate_series(1, 3000000)");
    const onlyLate = await stop();
    expect(onlyLate.processes).toBeGreaterThanOrEqual(2);
    // generate_series over 3 million rows takes tens of ms of CPU; the early backend idled.
    expect(onlyLate.cpuUs).toBeGreaterThan(20_000);

    const again = await postgresCpuMeter(db, store.namespace);
    const idle = await again();
    expect(idle.cpuUs).toBeLessThan(onlyLate.cpuUs! / 2);
  } finally {
    await early.end();
    await late.end().catch(() => {});
  }
});
