// A sealed room: where code that is not the runner's own is built and run. Every process in it runs as a
// user of the room's own (never root, never the runner's user), in a network namespace of the room's own
// (only its loopback: the runner's Redis, PostgreSQL, dashboard and every other port of the host are out of
// reach), in one control group (pids and memory capped; teardown kills all of it), with the runner's own
// code hidden (a mount namespace lays an empty folder over it). Nothing gets in but what the run hands it:
// the tree, an allow-listed environment, and the listening socket the replay driver sends to.

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { SupervisedProcess } from "../../../process-supervisor.js";
import { cgroupLayout, RoomCgroup, type CgroupLayout, type CgroupLimits } from "./cgroup.js";

export const DEFAULT_ROOM_LIMITS: CgroupLimits = { pids: 2048, memoryBytes: 8 * 1024 ** 3 };
/** Room users are numbers with no name, far above any account a machine has: one per room. */
const ROOM_UID_BASE = 2_000_000_000;
const NETNS_DIR = "/run/netns";
/**
 * Folders of the machine every room gets a private, empty and writable copy of (tmpfs): other runs' and
 * the runner's temporary files are not there to read or plant.
 */
const PRIVATE_FOLDERS = ["/tmp", "/var/tmp", "/dev/shm"];
/**
 * Folders hidden from every room: /run holds the machine's Unix sockets (PostgreSQL's, with its trust
 * authentication, reaches the runner's database from any network namespace) and the rooms' registry.
 */
const HIDDEN_FOLDERS = ["/run"];
/** Where rooms live by default: outside every folder a room gets a private copy of. */
export const DEFAULT_ROOMS_DIR = "/var/lib/release-gate/rooms";
/** Every open room, by id: its runner's pid and its folder (sweepForgottenRooms). */
const REGISTRY = "/run/release-gate-rooms";

export class RoomUnavailableError extends Error {
  readonly code = "ROOM_UNAVAILABLE";
  constructor(readonly missing: string[]) {
    super(`a sealed room cannot be made on this machine, and code that is not the runner's own never runs unsealed: ${missing.join("; ")}`);
  }
}

export interface RoomOptions {
  limits?: Partial<CgroupLimits>;
  /** Folders the room's processes must not see (the runner's code and state): an empty folder is laid over each. */
  hide?: string[];
  /** Where rooms' folders are made (default /var/lib/release-gate/rooms). */
  baseDir?: string;
  /** Where the machine's control groups are mounted (default /sys/fs/cgroup). */
  cgroupRoot?: string;
}

/** Who a process of the room runs as. */
export type RoomUser = "service" | "data" | "postgres";

export interface RoomSpawnOptions {
  command: string;
  args: string[];
  as: RoomUser;
  cwd?: string;
  env: Record<string, string>;
  logFile?: string;
  lifeline: "stdin" | "exit-hook";
  /** false: the host's network (only for fetching dependencies with no code of the tree running). */
  sealedNetwork?: boolean;
  /** A listening socket of the runner's, passed as fd 3 with systemd's LISTEN_FDS/LISTEN_PID. */
  listenFd?: number;
}

/** What is missing on this machine for a room; empty when one can be made. */
export function roomSupport(cgroupRoot?: string): { layout: CgroupLayout | null; missing: string[] } {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push("the runner is not root (it needs root to make network namespaces, control groups and users): run it as root");
  for (const tool of ["ip", "nsenter", "unshare", "setpriv", "mount"]) {
    if (!onPath(tool)) missing.push(`\`${tool}\` is not installed (Debian: apt-get install ${tool === "ip" ? "iproute2" : "util-linux"})`);
  }
  const layout = cgroupLayout(cgroupRoot);
  if ("missing" in layout) missing.push(layout.missing);
  if (!existsSync("/proc/self/ns/net")) missing.push("the kernel has no network namespaces (CONFIG_NET_NS)");
  return { layout: "missing" in layout ? null : layout, missing };
}

export class SealedRoom {
  private closed = false;
  private readonly processes: SupervisedProcess[] = [];

  private constructor(
    readonly id: string,
    /** The room's folder: service/ (the service user's), data/ (Redis's), postgres/ (PostgreSQL's). */
    readonly dir: string,
    readonly uid: number,
    readonly cgroup: RoomCgroup,
    readonly netns: string,
    readonly limits: CgroupLimits,
    /** What the room's mount namespace lays over the machine's folders: empty and unreadable, or private and empty. */
    readonly folders: { hidden: string[]; private: string[] },
    /** How long making the room took, ms. */
    readonly openedInMs: number,
  ) {}

  /** The service user's HOME (its TMPDIR is under it). */
  get home(): string {
    return join(this.dir, "service", "home");
  }
  /** Where the tree under test is built and run from. */
  get tree(): string {
    return join(this.dir, "service", "tree");
  }
  /** The uid of the room's Redis (another user than the service, so the service cannot touch its files). */
  get dataUid(): number {
    return this.uid + 1;
  }

  static async open(o: RoomOptions = {}): Promise<SealedRoom> {
    const started = Date.now();
    const support = roomSupport(o.cgroupRoot);
    if (support.missing.length || !support.layout) throw new RoomUnavailableError(support.missing);
    const baseDir = o.baseDir ?? DEFAULT_ROOMS_DIR;
    await mkdir(baseDir, { recursive: true, mode: 0o711 });
    // The room's users must pass through it to their folders (and only that: no listing).
    await chmod(baseDir, 0o711);
    await sweepForgottenRooms(support.layout);

    const id = randomBytes(5).toString("hex");
    const uid = ROOM_UID_BASE + (randomBytes(4).readUInt32BE() % 100_000_000) * 2;
    const dir = join(baseDir, id);
    await mkdir(dir, { mode: 0o711 });
    await writeFile(join(dir, "owner"), String(process.pid));
    await mkdir(REGISTRY, { recursive: true, mode: 0o700 });
    await writeFile(join(REGISTRY, id), JSON.stringify({ owner: process.pid, dir }));
    const service = join(dir, "service");
    await mkdir(join(service, "home", "tmp"), { recursive: true, mode: 0o700 });
    await mkdir(join(service, "tree"), { mode: 0o700 });
    await chownTree(service, uid, uid);
    await mkdir(join(dir, "data"), { mode: 0o700 });
    await chown(join(dir, "data"), uid + 1, uid + 1);

    const limits = { ...DEFAULT_ROOM_LIMITS, ...o.limits };
    const netns = `release-gate-${id}`;
    let cgroup: RoomCgroup | null = null;
    try {
      cgroup = await RoomCgroup.create(support.layout, id, limits);
      await run("ip", ["netns", "add", netns]);
      await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
    } catch (err) {
      await cgroup?.remove();
      await run("ip", ["netns", "del", netns]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw new RoomUnavailableError([`making the room failed: ${(err as Error).message}`]);
    }
    // A folder holding the room's own cannot be laid over (a test's rooms in a temp folder, say).
    const outsideRoom = (p: string) => existsSync(p) && !`${dir}${sep}`.startsWith(`${p === "/" ? "" : p}${sep}`);
    const hide = [...(o.hide ?? []).map((p) => resolve(p)), ...HIDDEN_FOLDERS].filter(outsideRoom);
    const fresh = PRIVATE_FOLDERS.filter(outsideRoom);
    return new SealedRoom(id, dir, uid, cgroup, netns, limits, { hidden: hide, private: fresh }, Date.now() - started);
  }

  /** Starts a process in the room: in its control group, network and mount namespace, as one of its users. */
  spawn(o: RoomSpawnOptions): SupervisedProcess {
    if (this.closed) throw new Error(`room ${this.id} is closed`);
    const [uid, gid] = this.idsOf(o.as);
    const joins = this.cgroup.joinFiles.map((f) => `echo $$ > ${sq(f)} || exit 97`).join("; ");
    const mounts = [
      ...this.folders.hidden.map((p) => `mount -t tmpfs -o size=4k,mode=000,ro release-gate-hidden ${sq(p)} || exit 96`),
      ...this.folders.private.map((p) => `mount -t tmpfs -o size=2g,mode=1777 release-gate-private ${sq(p)} || exit 96`),
    ];
    // unshare --mount makes the new namespace's mounts private: nothing laid here shows outside.
    const inner = [
      ...mounts,
      `exec setpriv --reuid ${uid} --regid ${gid} --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"`,
    ].join("; ");
    const network = o.sealedNetwork === false ? "" : `nsenter --net=${sq(join(NETNS_DIR, this.netns))} -- `;
    const outer = `${joins}; ${o.listenFd !== undefined ? "export LISTEN_FDS=1 LISTEN_PID=$$; " : ""}s=$1; shift; exec ${network}unshare --mount -- /bin/sh -c "$s" sh "$@"`;
    const p = SupervisedProcess.spawn({
      command: "/bin/sh",
      args: ["-c", outer, "sh", inner, o.command, ...o.args],
      cwd: o.cwd,
      env: o.env,
      logFile: o.logFile,
      lifeline: o.lifeline,
      passFds: o.listenFd !== undefined ? [o.listenFd] : undefined,
    });
    this.processes.push(p);
    return p;
  }

  /**
   * Runs a command in the room to its end (a build step): its output to `logFile`. On timeout or abort
   * everything in the room is killed, whatever the command started.
   */
  async run(
    o: Omit<RoomSpawnOptions, "lifeline" | "logFile"> & { logFile: string; timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ exitCode: number | null; log: string; killed?: "timeout" | "abort" }> {
    const p = this.spawn({ ...o, lifeline: "exit-hook" });
    const killed = await p.exitWithin(o, () => void this.cgroup.kill().catch(() => {}));
    // A command that left something running behind it (a daemon) does not keep it: a step ends whole.
    await this.cgroup.kill().catch(() => {});
    const log = await readFile(o.logFile, "utf8").catch(() => "");
    return { exitCode: killed ? null : p.exitCode, log, killed };
  }

  /** The room's processes now (the host watch counts their CPU as the run's own). */
  pids(): Promise<number[]> {
    return this.cgroup.pids();
  }

  /** Kills everything in the room, removes its group, network namespace and folder. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cgroup.kill().catch(() => {});
    await Promise.all(this.processes.map((p) => p.exited));
    await this.cgroup.remove();
    await run("ip", ["netns", "del", this.netns]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
    await rm(join(REGISTRY, this.id), { force: true });
  }

  private idsOf(user: RoomUser): [number, number] {
    if (user === "service") return [this.uid, this.uid];
    if (user === "data") return [this.dataUid, this.dataUid];
    const pg = systemUser("postgres");
    if (!pg)
      throw new RoomUnavailableError(["PostgreSQL refuses to run as root and the machine has no `postgres` user: install postgresql"]);
    return pg;
  }
}

/**
 * Rooms whose runner died (SIGKILL, power cut): their processes are killed and their traces removed. Every
 * room is registered in one place, wherever its folder is, so none is forgotten.
 */
async function sweepForgottenRooms(layout: CgroupLayout): Promise<void> {
  for (const id of await readdir(REGISTRY).catch(() => [] as string[])) {
    let entry: { owner: number; dir: string };
    try {
      entry = JSON.parse(await readFile(join(REGISTRY, id), "utf8")) as { owner: number; dir: string };
    } catch {
      continue;
    }
    if (entry.owner > 0 && alive(entry.owner)) continue;
    const group = RoomCgroup.forgotten(layout, id);
    await group.kill().catch(() => {});
    await group.remove();
    await run("ip", ["netns", "del", `release-gate-${id}`]).catch(() => {});
    await rm(entry.dir, { recursive: true, force: true });
    await rm(join(REGISTRY, id), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** uid and gid of a named account, from /etc/passwd. */
export function systemUser(name: string): [number, number] | null {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === name) return [Number(f[2]), Number(f[3])];
    }
  } catch {
    /* no passwd */
  }
  return null;
}

export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await run("chown", ["-R", "--no-dereference", `${uid}:${gid}`, dir]);
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin")
    .split(":")
    .concat(["/usr/sbin", "/sbin"])
    .some((d) => existsSync(join(d, tool)));
}

/** Single-quoted for /bin/sh. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((done, fail) =>
    execFile(file, args, { timeout: 30_000, env: { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` } }, (err, _out, stderr) =>
      err ? fail(new Error(`${file} ${args.join(" ")}: ${String(stderr).trim() || err.message}`)) : done(),
    ),
  );
}
