// The host's Redis and PostgreSQL are shared: only the processes that serve the run are its own.
// Real servers: a redis-server this test starts on a port of its own, and the local PostgreSQL, with
// a neighbour's query sent by psql (another process) next to the run's own.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { HostWatch } from "../../../src/gates/measure/host-contention.js";
import { locateServices, postgresRole } from "../../../src/gates/measure/service-processes.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A redis-server of this test's own, answering on 127.0.0.1. */
async function startRedis(): Promise<{ process: ChildProcess; url: string; client: Redis }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on("error", () => {});
  for (let i = 0; i < 100; i++) {
    if (
      await client.connect().then(
        () => true,
        () => false,
      )
    )
      return { process: child, url, client };
    client.disconnect();
    await pause(50);
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGKILL");
  await exited;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** About a second and a half of one core, inside the Redis server. */
const BUSY_LUA = "local i = 0 while i < 40000000 do i = i + 1 end return i";
/** Keeps a PostgreSQL backend busy until the statement timeout ends it. */
const BUSY_SQL = "SET statement_timeout = 1500; SELECT count(*) FROM generate_series(1, 1000000000)";

describe("the run's own servers, as they answer", () => {
  test("a Redis gives its process id, PostgreSQL its postmaster's (its data directory's postmaster.pid) and port", async () => {
    const redis = await startRedis();
    const db = new pg.Client(DATABASE_URL);
    await db.connect();
    try {
      const { rows } = await db.query<{ data_directory: string; port: string }>(
        "SELECT current_setting('data_directory') AS data_directory, current_setting('port') AS port",
      );
      const postmaster = Number(readFileSync(join(rows[0].data_directory, "postmaster.pid"), "utf8").split("\n")[0]);
      const found = await locateServices({ redisUrls: [redis.url, redis.url], databaseUrl: DATABASE_URL });
      expect(found).toEqual({ redis: [redis.process.pid], postgres: { postmaster, port: Number(rows[0].port) } });
    } finally {
      redis.client.disconnect();
      await stop(redis.process);
      await db.end();
    }
  });

  test("a server that does not answer is left out, and nothing throws", async () => {
    const port = await freePort();
    const started = Date.now();
    const found = await locateServices({
      redisUrls: [`redis://127.0.0.1:${port}`],
      databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    });
    expect(found).toEqual({ redis: [], postgres: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await locateServices({})).toEqual({ redis: [], postgres: null });
  });
});

describe("a PostgreSQL process's role, from its title", () => {
  test("client backends over TCP (v4 and v6) carry their client's port; over a Unix socket they carry none", () => {
    expect(postgresRole("postgres: postgres postgres 127.0.0.1(51234) idle")).toEqual({ kind: "client", port: 51234 });
    expect(postgresRole("postgres: app ingest ::1(40001) SELECT")).toEqual({ kind: "client", port: 40001 });
    expect(postgresRole("postgres: app ingest [local] idle in transaction")).toEqual({ kind: "local-client" });
    // With cluster_name set (Debian's "15/main"), the title starts with it.
    expect(postgresRole("postgres: 15/main: postgres postgres 127.0.0.1(5999) idle")).toEqual({ kind: "client", port: 5999 });
    expect(postgresRole("postgres: 15/main: app ingest [local] SELECT")).toEqual({ kind: "local-client" });
    expect(postgresRole("postgres: 15/main: checkpointer")).toEqual({ kind: "helper" });
    expect(postgresRole("postgres: 15/main: parallel worker for PID 7")).toEqual({ kind: "parallel", leader: 7 });
  });

  test("parallel workers name their leader; autovacuum workers and the cluster's helpers are told apart", () => {
    expect(postgresRole("postgres: parallel worker for PID 4242")).toEqual({ kind: "parallel", leader: 4242 });
    expect(postgresRole("postgres: autovacuum worker postgres")).toEqual({ kind: "autovacuum" });
    for (const helper of ["postgres: checkpointer", "postgres: walwriter", "postgres: background writer", "postgres: autovacuum launcher"])
      expect(postgresRole(helper)).toEqual({ kind: "helper" });
    expect(postgresRole("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main")).toEqual({ kind: "helper" });
  });
});

describe("watching the host with the run's servers located", () => {
  /** One second and a half of a neighbour's work and the run's own, side by side; the watch's foreign processes after. */
  async function watchBoth(located: boolean) {
    const run = await startRedis();
    const neighbour = await startRedis();
    const db = new pg.Client(DATABASE_URL);
    const look = new pg.Client(DATABASE_URL);
    await Promise.all([db.connect(), look.connect()]);
    const ownBackend = (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    try {
      const services = located ? locateServices({ redisUrls: [run.url], databaseUrl: DATABASE_URL }) : undefined;
      const watch = new HostWatch([], undefined, services);
      await watch.sample();
      // The neighbour: psql's query and redis-cli's script, from processes outside the run.
      const psql = spawn("psql", [DATABASE_URL, "-X", "-q", "-c", BUSY_SQL], {
        stdio: "ignore",
        env: { ...process.env, PGAPPNAME: "neighbour" },
      });
      const cli = spawn("redis-cli", ["-u", neighbour.url, "EVAL", BUSY_LUA, "0"], { stdio: "ignore" });
      const exited = [psql, cli].map((p) => new Promise((r) => p.once("exit", r)));
      // The run's own: this process's query and script.
      const own = Promise.all([db.query(BUSY_SQL).catch(() => null), run.client.eval(BUSY_LUA, 0)]);
      await pause(700);
      const theirs = await look.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'neighbour'");
      await pause(300);
      await watch.sample(); // while both backends still work: one that has ended is not named
      await Promise.all([own, ...exited]);
      return {
        foreign: watch.topForeign(1000).map((p) => p.pid),
        ownBackend,
        theirBackend: theirs.rows[0]?.pid,
        runRedis: run.process.pid!,
        neighbourRedis: neighbour.process.pid!,
      };
    } finally {
      run.client.disconnect();
      neighbour.client.disconnect();
      await Promise.all([stop(run.process), stop(neighbour.process)]);
      await Promise.all([db.end(), look.end()]);
    }
  }

  test("a neighbour's query and a neighbour's Redis are other work; the run's own backend and Redis are not", async () => {
    const w = await watchBoth(true);
    expect(w.theirBackend).toBeDefined();
    expect(w.foreign).toContain(w.theirBackend);
    expect(w.foreign).toContain(w.neighbourRedis);
    expect(w.foreign).not.toContain(w.ownBackend);
    expect(w.foreign).not.toContain(w.runRedis);
  }, 20_000);

  test("without them located, every Redis and PostgreSQL process is taken for the run's, by name", async () => {
    const w = await watchBoth(false);
    expect(w.theirBackend).toBeDefined();
    for (const pid of [w.theirBackend, w.neighbourRedis, w.ownBackend, w.runRedis]) expect(w.foreign).not.toContain(pid);
  }, 20_000);
});
