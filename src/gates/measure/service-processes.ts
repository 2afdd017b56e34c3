// Which of the host's Redis and PostgreSQL processes work for this run. A local Redis or PostgreSQL
// is shared: a neighbour's query runs in a PostgreSQL backend, a neighbour's Redis is a redis-server
// of its own. Counted as the run's own because of their names, that work could never excuse a FAIL
// (host-contention.ts). So the run asks its own servers who they are: Redis gives its process id
// (INFO server); PostgreSQL gives a backend's, whose parent is the postmaster. Of that cluster's
// processes, the postmaster and its shared helpers (checkpointer, WAL writer ...) are the run's; a
// client backend is the run's only when its client's socket belongs to one of the run's processes.
// A server the run could not ask is judged by name, as before.

import { readFileSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { processOfStat } from "./process-cpu.js";
import { Redis } from "ioredis";
import pg from "pg";

/** The run's own servers on this host, as they answered; empty where they could not be asked. */
export interface ServiceProcesses {
  /** redis-server processes the run uses. */
  redis: number[];
  /** The postmaster of the run's PostgreSQL cluster, and the port its clients connect to. */
  postgres: { postmaster: number; port: number } | null;
}

const ASK_TIMEOUT_MS = 3_000;

/** Asks each of the run's servers for its process id; a server that does not answer, or is not on this host, is left out. */
export async function locateServices(o: { redisUrls?: string[]; databaseUrl?: string }): Promise<ServiceProcesses> {
  const [redis, postgres] = await Promise.all([
    Promise.all([...new Set(o.redisUrls ?? [])].map((url) => redisPid(url).catch(() => null))),
    o.databaseUrl ? postmasterOf(o.databaseUrl).catch(() => null) : null,
  ]);
  return { redis: redis.filter((p): p is number => p !== null), postgres };
}

async function redisPid(url: string): Promise<number | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: ASK_TIMEOUT_MS });
  client.on("error", () => {});
  try {
    await client.connect();
    const pid = Number(/^process_id:(\d+)/m.exec(await client.info("server"))?.[1]);
    // The id is the server's own: it names a process here only when that process is a redis-server.
    return Number.isInteger(pid) && commandOf(pid)?.startsWith("redis-server") ? pid : null;
  } finally {
    client.disconnect();
  }
}

async function postmasterOf(databaseUrl: string): Promise<ServiceProcesses["postgres"]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: ASK_TIMEOUT_MS });
  client.on("error", () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ pid: number; port: number }>(
      "SELECT pg_backend_pid() AS pid, current_setting('port')::int AS port",
    );
    const backend = rows[0]?.pid;
    const parent = backend !== undefined && commandOf(backend) === "postgres" ? parentOf(backend) : null;
    return parent !== null && commandOf(parent) === "postgres" ? { postmaster: parent, port: rows[0].port } : null;
  } finally {
    await client.end().catch(() => {});
  }
}

/** What a PostgreSQL child process is, from its process title (its command line); pure. */
export type PostgresRole =
  | { kind: "client"; port: number }
  | { kind: "local-client" }
  | { kind: "parallel"; leader: number }
  | { kind: "autovacuum" }
  | { kind: "helper" };

/**
 * A backend's title is "postgres: [CLUSTER: ]USER DB HOST(PORT) STATE" ("[local]" over a Unix socket), a parallel
 * worker's "postgres: parallel worker for PID N", an autovacuum worker's "postgres: autovacuum worker DB";
 * anything else (checkpointer, walwriter, background writer, launchers) is a helper of the whole cluster.
 */
export function postgresRole(title: string): PostgresRole {
  const parallel = /parallel worker for PID (\d+)/.exec(title);
  if (parallel) return { kind: "parallel", leader: Number(parallel[1]) };
  if (/autovacuum worker/.test(title)) return { kind: "autovacuum" };
  const client = /^postgres: (?:.*: )?\S+ \S+ (?:\S*\((\d+)\)|(\[local\]))(?: |$)/.exec(title);
  if (client?.[1]) return { kind: "client", port: Number(client[1]) };
  if (client?.[2]) return { kind: "local-client" };
  return { kind: "helper" };
}

/**
 * Decides, once per process, whether a PostgreSQL process of the run's cluster works for the run.
 * A client backend is the run's when the socket at its client's end is held by one of `own`; an
 * autovacuum worker or a Unix-socket client is not (neither can be traced to the run).
 */
export class PostgresProcesses {
  private readonly decided = new Map<number, { start: number; ours: boolean }>();

  constructor(private readonly cluster: { postmaster: number; port: number }) {}

  /** Whether pid (a "postgres" process, started at `start` ticks after boot) is the run's; undefined until decided. */
  ours(pid: number, ppid: number, start: number): boolean | undefined {
    if (pid === this.cluster.postmaster) return true;
    if (ppid !== this.cluster.postmaster) return false; // another cluster
    const d = this.decided.get(pid);
    return d && d.start === start ? d.ours : undefined;
  }

  /** Decides the cluster's processes not decided yet; `own` are the run's processes. */
  async decide(procs: Iterable<{ pid: number; ppid: number; start: number }>, own: () => Iterable<number>): Promise<void> {
    const open = [...procs].filter((p) => this.ours(p.pid, p.ppid, p.start) === undefined);
    if (open.length === 0) return;
    const roles = new Map<number, PostgresRole>();
    for (const p of open) {
      const title = await readFile(`/proc/${p.pid}/cmdline`, "utf8").catch(() => "");
      roles.set(p.pid, postgresRole(title.replace(/\0+$/, "").replaceAll("\0", " ")));
    }
    const ports = [...roles.values()].flatMap((r) => (r.kind === "client" ? [r.port] : []));
    const held = ports.length ? await socketsHeldBy(own(), ports, this.cluster.port) : new Set<number>();
    for (const p of open) {
      const role = roles.get(p.pid)!;
      this.decided.set(p.pid, { start: p.start, ours: role.kind === "client" ? held.has(role.port) : role.kind === "helper" });
    }
    // A parallel worker works for its leader's query: it takes the leader's side.
    for (const p of open) {
      const role = roles.get(p.pid)!;
      if (role.kind === "parallel") this.decided.set(p.pid, { start: p.start, ours: this.decided.get(role.leader)?.ours ?? false });
    }
  }
}

/** Of the client ports given, those whose socket (to `serverPort` on this host) is held by one of `pids`. */
async function socketsHeldBy(pids: Iterable<number>, clientPorts: number[], serverPort: number): Promise<Set<number>> {
  const wanted = new Set(clientPorts);
  const inodes = new Map<string, number>(); // socket inode -> client port
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1].split(":")[1], 16);
      const remote = parseInt(f[2].split(":")[1], 16);
      if (wanted.has(local) && remote === serverPort && f[9] !== "0") inodes.set(`socket:[${f[9]}]`, local);
    }
  }
  const held = new Set<number>();
  if (inodes.size === 0) return held;
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const port = inodes.get(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ""));
      if (port !== undefined) held.add(port);
    }
  }
  return held;
}

function processOf(pid: number) {
  try {
    return processOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

function commandOf(pid: number): string | null {
  return processOf(pid)?.command ?? null;
}

function parentOf(pid: number): number | null {
  const ppid = processOf(pid)?.ppid ?? 0;
  return Number.isInteger(ppid) && ppid > 0 ? ppid : null;
}
