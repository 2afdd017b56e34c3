// The sealed room's own Redis and PostgreSQL, started for one run inside the room and gone with it. The
// service reaches them on the room's loopback with passwords made for the run; the runner reads them through
// Unix sockets in folders the service's user cannot enter. PostgreSQL gives the service a role that owns its
// schema and nothing else (no superuser, no database or role creation, no other schema).

import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import type { SealedRoom } from "./sealed-room.js";
import { systemUser } from "./sealed-room.js";

export interface RoomData {
  /** What the service is given (the room's loopback). */
  service: { redisUrl: string; databaseUrl: string };
  /** What the runner reads through (Unix sockets). */
  runner: { redisUrl: string; databaseUrl: string };
  /** The run's passwords, for the redaction of everything written. */
  secrets: string[];
  /** How long starting both took, ms. */
  startedInMs: number;
}

const SERVICE_ROLE = "service";
const DATABASE = "ingest";

/** The PostgreSQL server binaries (Debian keeps them out of PATH). */
export function postgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, "bin", "postgres"))) return join(root, v, "bin");
  return null;
}

/** Starts the room's Redis and PostgreSQL and makes the service's schema `namespace`. */
export async function startRoomData(room: SealedRoom, namespace: string, logDir: string, signal?: AbortSignal): Promise<RoomData> {
  const started = Date.now();
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin): apt-get install postgresql");
  const pgUser = systemUser("postgres");
  if (!pgUser) throw new Error("the machine has no `postgres` user to run the room's PostgreSQL as: install postgresql");
  const redisPassword = randomBytes(18).toString("hex");
  const superPassword = randomBytes(18).toString("hex");
  const servicePassword = randomBytes(18).toString("hex");
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" };
  await mkdir(logDir, { recursive: true });

  const pgDir = join(room.dir, "postgres");
  const pgData = join(pgDir, "data");
  const pgSockets = join(pgDir, "sockets");
  await mkdir(pgSockets, { recursive: true, mode: 0o700 });
  await writeFile(join(pgDir, "pwfile"), `${superPassword}\n`, { mode: 0o600 });
  for (const p of [pgDir, pgSockets, join(pgDir, "pwfile")]) await chown(p, pgUser[0], pgUser[1]);
  const init = await room.run({
    command: join(bin, "initdb"),
    args: ["-D", pgData, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${join(pgDir, "pwfile")}`, "-E", "UTF8", "--no-instructions"],
    as: "postgres",
    env,
    logFile: join(logDir, "room-postgres-init.log"),
    timeoutMs: 60_000,
    signal,
  });
  await rm(join(pgDir, "pwfile"), { force: true });
  if (init.exitCode !== 0)
    throw new Error(`the room's PostgreSQL could not be initialised: ${init.log.trim().split("\n").slice(-3).join(" ")}`);
  // After initdb: a step run in the room ends with everything in it killed.
  const dataDir = join(room.dir, "data");
  const redisSocket = join(dataDir, "redis.sock");
  room.spawn({
    command: "redis-server",
    args: [
      "--port", "6379", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dataDir,
      "--unixsocket", redisSocket, "--unixsocketperm", "700", "--requirepass", redisPassword,
      "--maxmemory-policy", "noeviction", "--daemonize", "no",
    ], // prettier-ignore
    as: "data",
    env,
    logFile: join(logDir, "room-redis.log"),
    lifeline: "exit-hook",
  });

  room.spawn({
    command: join(bin, "postgres"),
    args: ["-D", pgData, "-p", "5432", "-k", pgSockets, "-c", "listen_addresses=127.0.0.1"],
    as: "postgres",
    env,
    logFile: join(logDir, "room-postgres.log"),
    lifeline: "exit-hook",
  });

  const runnerDatabase = (db: string) => `postgresql://postgres:${superPassword}@localhost/${db}?host=${encodeURIComponent(pgSockets)}`;
  const runnerRedis = `${redisSocket}?password=${redisPassword}`;
  await waitFor("the room's Redis", 15_000, signal, async () => {
    const r = new Redis(runnerRedis, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    r.on("error", () => {});
    try {
      await r.connect();
      await r.ping();
    } finally {
      r.disconnect();
    }
  });
  await waitFor("the room's PostgreSQL", 30_000, signal, async () => {
    const c = new pg.Client({ connectionString: runnerDatabase("postgres") });
    try {
      await c.connect();
      await c.query("select 1");
    } finally {
      await c.end().catch(() => {});
    }
  });
  const admin = new pg.Client({ connectionString: runnerDatabase("postgres") });
  await admin.connect();
  try {
    await admin.query(`create role ${SERVICE_ROLE} login nosuperuser nocreatedb nocreaterole password '${servicePassword}'`);
    await admin.query(`create database ${DATABASE}`);
    await admin.query(`revoke all on database ${DATABASE} from public`);
    await admin.query(`grant connect, temporary on database ${DATABASE} to ${SERVICE_ROLE}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const db = new pg.Client({ connectionString: runnerDatabase(DATABASE) });
  await db.connect();
  try {
    await db.query("revoke all on schema public from public");
    await db.query(`create schema "${namespace}" authorization ${SERVICE_ROLE}`);
  } finally {
    await db.end().catch(() => {});
  }
  return {
    service: {
      redisUrl: `redis://:${redisPassword}@127.0.0.1:6379`,
      databaseUrl: `postgres://${SERVICE_ROLE}:${servicePassword}@127.0.0.1:5432/${DATABASE}`,
    },
    runner: { redisUrl: runnerRedis, databaseUrl: runnerDatabase(DATABASE) },
    secrets: [redisPassword, superPassword, servicePassword],
    startedInMs: Date.now() - started,
  };
}

async function waitFor(what: string, timeoutMs: number, signal: AbortSignal | undefined, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error(`stopped while waiting for ${what}`);
    try {
      await attempt();
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms: ${last}`);
}
