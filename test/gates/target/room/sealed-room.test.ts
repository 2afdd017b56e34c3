// The sealed room, tried as the code under test would try to get out of it: as a process in the room it
// reaches no port of the host, reads none of the runner's secrets, sees none of its code, cannot outlive
// the room nor fork without bound; its own PostgreSQL gives it one schema and nothing else. Where the
// machine cannot make a room, a run of code that is not the runner's own ends ERROR and says what is
// missing; it never runs unsealed.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { loadGate, phasesUpTo } from "../../../../src/gates/gate-file/index.js";
import { executeRun } from "../../../../src/gates/run/execute-run.js";
import { RoomUnavailableError, roomSupport, SealedRoom, startRoomData } from "../../../../src/gates/target/room/index.js";

const support = roomSupport();
const canSeal = support.missing.length === 0;
const dirs: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

if (!canSeal) {
  // Said once, loudly, so a machine that cannot seal is not mistaken for one that passed these tests.
  console.warn(`sealed room: this machine cannot make one (${support.missing.join("; ")}); only the refusal is tested`);
}

describe("where a room cannot be made", () => {
  test("a machine without control groups is told what is missing and how to get it", async () => {
    const noCgroups = temp("no-cgroups-");
    const err = await SealedRoom.open({ cgroupRoot: noCgroups, baseDir: temp("rooms-") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoomUnavailableError);
    expect((err as Error).message).toMatch(/never runs unsealed/);
    expect((err as Error).message).toMatch(/cgroup v1 controller\(s\) cpuacct, pids, freezer, memory are not mounted: mount them/);
  });

  test("a run of a commit's code on such a machine is ERROR, and nothing of it ran", async () => {
    const gate = loadGate("gates/gate-a.yaml");
    const marker = join(temp("never-built-"), "built");
    const run = await executeRun(gate, {
      phases: phasesUpTo(gate, "smoke"),
      commit: "0".repeat(40),
      source: { archive: marker, cacheDir: temp("cache-"), build: `touch ${marker}` },
      room: { cgroupRoot: temp("no-cgroups-"), baseDir: temp("rooms-") },
    });
    expect(run.verdict).toBe("ERROR");
    expect(run.reason).toMatch(/could not run: a sealed room cannot be made on this machine/);
    expect(run.phases.every((p) => !p.ran)).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });
});

const sealed = canSeal ? describe : describe.skip;

/** Runs a shell script in the room as its service user; its output. */
async function inRoom(room: SealedRoom, script: string, timeoutMs = 20_000): Promise<{ exitCode: number | null; log: string }> {
  const logFile = join(temp("room-log-"), "out.log");
  return room.run({
    command: "/bin/sh",
    args: ["-c", script],
    as: "service",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    cwd: room.home,
    logFile,
    timeoutMs,
  });
}

/** A node script run in the room (node itself is outside every hidden folder); written where its user can read it. */
let scripts = 0;
const nodeIn = (room: SealedRoom, code: string) => {
  const file = join(room.home, `script-${++scripts}.cjs`);
  writeFileSync(file, code, { mode: 0o644 });
  return `${process.execPath} ${file}`;
};

sealed("a sealed room", () => {
  let room: SealedRoom;
  let hostServer: Server;
  let hostPort: number;
  const hidden = temp("runner-code-");
  const keyFile = join(temp("runner-keys-"), "evidence-key.pem");

  beforeAll(async () => {
    writeFileSync(join(hidden, "app.ts"), "the runner's code");
    writeFileSync(keyFile, "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
    hostServer = createServer((s) => s.end("reached the host\n"));
    await new Promise<void>((r) => hostServer.listen(0, "127.0.0.1", () => r()));
    hostPort = (hostServer.address() as { port: number }).port;
    room = await SealedRoom.open({ hide: [hidden], baseDir: temp("rooms-") });
  });
  afterAll(async () => {
    await room?.close();
    hostServer?.close();
  });

  test("its process runs as a user of its own, reads none of the runner's secrets and sees none of its code", async () => {
    const out = await inRoom(
      room,
      nodeIn(
        room,
        `
        const fs = require("fs");
        const tryRead = (p) => { try { fs.readFileSync(p); return "READ"; } catch (e) { return e.code; } };
        const tryList = (p) => { try { return fs.readdirSync(p).length ? "LISTED" : "EMPTY"; } catch (e) { return e.code; } };
        console.log(JSON.stringify({
          uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
          environ: tryRead("/proc/${process.pid}/environ"),
          key: tryRead(${JSON.stringify(keyFile)}),
          code: tryList(${JSON.stringify(hidden)}),
          rootHome: tryList("/root"),
        }));`,
      ),
    );
    expect(out.exitCode).toBe(0);
    const seen = JSON.parse(out.log.trim().split("\n").pop()!);
    expect(seen.uid).toBe(room.uid);
    expect(seen.uid).not.toBe(0);
    expect(seen.uid).not.toBe(process.getuid!());
    expect(seen.groups).toEqual([seen.gid]);
    expect(seen.environ).toBe("EACCES");
    expect(seen.key).toBe("EACCES");
    expect(["EACCES", "EMPTY"]).toContain(seen.code);
    expect(seen.rootHome).toBe("EACCES");
  });

  test("it reaches no port of the host: not the runner's Redis, PostgreSQL, nor any other", async () => {
    const out = await inRoom(
      room,
      nodeIn(
        room,
        `
        const net = require("net");
        const ports = [6379, 5432, ${hostPort}];
        Promise.all(ports.map((port) => new Promise((done) => {
          const c = net.connect(port, "127.0.0.1");
          c.setTimeout(2000, () => { c.destroy(); done(port + ":TIMEOUT"); });
          c.on("connect", () => { c.destroy(); done(port + ":CONNECTED"); });
          c.on("error", (e) => done(port + ":" + e.code));
        }))).then((r) => console.log(r.join(" ")));`,
      ),
    );
    expect(out.log).toContain(`6379:ECONNREFUSED 5432:ECONNREFUSED ${hostPort}:ECONNREFUSED`);
    // The same port is open on the host: the room, not the port, stopped it.
    const reply = await new Promise<string>((done, fail) => {
      const c = connect(hostPort, "127.0.0.1");
      c.on("data", (d) => done(d.toString()));
      c.on("error", fail);
    });
    expect(reply).toBe("reached the host\n");
  });

  test("a daemon it starts with setsid outlives its parent, but not the room", async () => {
    const pidFile = join(room.home, "daemon.pid");
    const out = await inRoom(
      room,
      `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' < /dev/null > /dev/null 2>&1 & sleep 0.3; echo started`,
    );
    expect(out.log).toContain("started");
    // room.run ends a step whole: the daemon is already gone, and the room is empty.
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(await room.pids()).toEqual([]);

    // A long-lived process of the room (the service) that forks a daemon: close() kills it.
    const other = await SealedRoom.open({ baseDir: temp("rooms-") });
    const daemonPidFile = join(other.home, "daemon.pid");
    other.spawn({
      command: "/bin/sh",
      args: ["-c", `setsid sh -c 'echo $$ > ${daemonPidFile}; exec sleep 300' < /dev/null > /dev/null 2>&1 & exec sleep 300`],
      as: "service",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      lifeline: "exit-hook",
    });
    await waitUntil(() => existsSync(daemonPidFile) && readFileSync(daemonPidFile, "utf8").trim() !== "");
    const daemon = Number(readFileSync(daemonPidFile, "utf8"));
    expect(alive(daemon)).toBe(true);
    expect(await other.pids()).toContain(daemon);
    const groupDir = other.cgroup.procsFile;
    await other.close();
    expect(alive(daemon)).toBe(false);
    expect(existsSync(groupDir)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
    expect(execFileSync("ip", ["netns", "list"]).toString()).not.toContain(other.netns);
  });

  test("it cannot fork without bound: the pids limit holds", async () => {
    const small = await SealedRoom.open({ baseDir: temp("rooms-"), limits: { pids: 12 } });
    try {
      const out = await inRoom(small, "for i in $(seq 1 40); do sleep 2 & done 2>&1; echo running: $(ls /proc | grep -c '^[0-9]')");
      expect(out.log).toMatch(/fork|Resource temporarily unavailable|Cannot fork/i);
    } finally {
      await small.close();
    }
  });

  test("its own PostgreSQL gives the service one schema and nothing else; its own Redis is not the runner's", async () => {
    const data = await startRoomData(room, "rg_room_test", temp("room-data-logs-"));
    const db = data.service.databaseUrl;
    // Spawned, not run as a step: a step ends with everything in the room killed, its Redis and PostgreSQL too.
    const logFile = join(temp("room-log-"), "out.log");
    const probe = room.spawn({
      command: "/bin/sh",
      as: "service",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      cwd: room.home,
      logFile,
      lifeline: "exit-hook",
      args: [
        "-c",
        [
          `psql "${db}" -qAt -c "create table rg_room_test.t (a int); insert into rg_room_test.t values (1); select count(*) from rg_room_test.t"`,
          `psql "${db}" -qAt -c "create schema elsewhere" 2>&1 | head -1`,
          `psql "${db}" -qAt -c "select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = current_user"`,
          `psql "${db}" -qAt -c "copy (select 1) to program 'id'" 2>&1 | head -1`,
          `redis-cli -h 127.0.0.1 -p 6379 -a "${new URL(data.service.redisUrl).password}" --no-auth-warning set seen-from-the-room 1`,
        ].join("; "),
      ],
    });
    await probe.exited;
    const out = { log: readFileSync(logFile, "utf8") };
    const lines = out.log.trim().split("\n");
    expect(lines).toContain("1");
    expect(out.log).toMatch(/permission denied for database ingest/);
    expect(lines).toContain("f|f|f");
    expect(out.log).toMatch(/permission denied|must be superuser|pg_execute_server_program/);
    expect(lines).toContain("OK");

    // The runner reads both through their Unix sockets.
    const client = new pg.Client({ connectionString: data.runner.databaseUrl });
    await client.connect();
    expect((await client.query("select a from rg_room_test.t")).rows).toEqual([{ a: 1 }]);
    await client.end();
    const roomRedis = new Redis(data.runner.redisUrl);
    expect(await roomRedis.get("seen-from-the-room")).toBe("1");
    roomRedis.disconnect();
    const hostRedis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    expect(await hostRedis.get("seen-from-the-room")).toBeNull();
    hostRedis.disconnect();
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is not alive: it holds nothing and runs nothing.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}
