// The room's control group: every process of a sealed room in one group, so that its CPU counts as the
// run's own, its pids and memory are capped, and teardown kills all of it with no escape. cgroup v2 where
// the machine mounts it unified (cgroup.kill), the v1 controllers cpuacct, pids, freezer and memory
// otherwise (a frozen group cannot fork while it is being killed).

import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface CgroupLimits {
  /** Most processes and threads at once (pids.max). */
  pids: number;
  /** Most memory, bytes (memory.limit_in_bytes / memory.max). */
  memoryBytes: number;
}

/** Where the machine keeps its control groups, and which kind. */
export type CgroupLayout = { version: "v1"; root: string } | { version: "v2"; root: string };

const V1_CONTROLLERS = ["cpuacct", "pids", "freezer", "memory"] as const;
const ROOT = "/sys/fs/cgroup";
/** The folder every room's group is made in. */
export const GROUP_PARENT = "release-gate";

/** The machine's cgroup layout, or what is missing for a room (a message that says how to get it). */
export function cgroupLayout(root = ROOT): CgroupLayout | { missing: string } {
  if (existsSync(join(root, "cgroup.controllers"))) {
    const controllers = readFileSync(join(root, "cgroup.controllers"), "utf8").split(/\s+/);
    const lacking = ["pids", "memory"].filter((c) => !controllers.includes(c));
    if (lacking.length) {
      return {
        missing: `cgroup v2 at ${root} lacks the ${lacking.join(" and ")} controller(s): enable them for the runner's cgroup (systemd: Delegate=yes)`,
      };
    }
    return { version: "v2", root };
  }
  const lacking = V1_CONTROLLERS.filter((c) => !existsSync(join(root, c, "cgroup.procs")));
  if (lacking.length) {
    return {
      missing: `no cgroup v2 at ${root} and the cgroup v1 controller(s) ${lacking.join(", ")} are not mounted: mount them (mount -t cgroup -o ${lacking[0]} cgroup ${join(root, lacking[0]!)}) or boot with cgroup v2`,
    };
  }
  return { version: "v1", root };
}

/** One room's group. */
export class RoomCgroup {
  private constructor(
    readonly layout: CgroupLayout,
    /** The group's folder in each hierarchy (one for v2, one per controller for v1). */
    private readonly dirs: string[],
  ) {}

  /** Makes the group `<parent>/<id>` with its limits. */
  static async create(layout: CgroupLayout, id: string, limits: CgroupLimits): Promise<RoomCgroup> {
    if (layout.version === "v2") {
      const parent = join(layout.root, GROUP_PARENT);
      await mkdir(parent, { recursive: true });
      // Controllers are handed down level by level; a group with processes cannot hand them down, so rooms
      // live one level under a parent that holds none.
      await writeFile(join(layout.root, "cgroup.subtree_control"), "+pids +memory").catch(() => {});
      await writeFile(join(parent, "cgroup.subtree_control"), "+pids +memory");
      const dir = join(parent, id);
      await mkdir(dir);
      await writeFile(join(dir, "pids.max"), String(limits.pids));
      await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
      return new RoomCgroup(layout, [dir]);
    }
    const dirs = V1_CONTROLLERS.map((c) => join(layout.root, c, GROUP_PARENT, id));
    for (const dir of dirs) await mkdir(dir, { recursive: true });
    const [, pids, , memory] = dirs;
    await writeFile(join(pids!, "pids.max"), String(limits.pids));
    await writeFile(join(memory!, "memory.limit_in_bytes"), String(limits.memoryBytes));
    return new RoomCgroup(layout, dirs);
  }

  /** The files a process writes its own pid to, to join the group (its children are born in it). */
  get joinFiles(): string[] {
    return this.dirs.map((d) => join(d, "cgroup.procs"));
  }

  /** The file that lists the group's processes (one hierarchy is enough: a process is in all or none). */
  get procsFile(): string {
    return join(this.dirs[0]!, "cgroup.procs");
  }

  /** The group's processes now. */
  async pids(): Promise<number[]> {
    const text = await readFile(this.procsFile, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => Number(l));
  }

  /** The group's CPU so far, ns (v1 cpuacct.usage; v2 cpu.stat usage_usec). */
  async cpuNs(): Promise<number | null> {
    try {
      if (this.layout.version === "v2") {
        const m = /usage_usec (\d+)/.exec(await readFile(join(this.dirs[0]!, "cpu.stat"), "utf8"));
        return m ? Number(m[1]) * 1000 : null;
      }
      return Number((await readFile(join(this.dirs[0]!, "cpuacct.usage"), "utf8")).trim());
    } catch {
      return null;
    }
  }

  /**
   * Kills every process in the group and waits until it is empty. v2: cgroup.kill. v1: freeze (no fork can
   * race the kill), SIGKILL each, thaw so the signals are delivered, repeat until nothing is left.
   */
  async kill(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const freezer = this.layout.version === "v1" ? this.dirs[2]! : null;
    while ((await this.pids()).length > 0) {
      if (Date.now() > deadline)
        throw new Error(`processes of ${this.dirs[0]} survived ${timeoutMs} ms of SIGKILL: ${(await this.pids()).join(" ")}`);
      if (freezer === null) {
        await writeFile(join(this.dirs[0]!, "cgroup.kill"), "1");
      } else {
        await writeFile(join(freezer, "freezer.state"), "FROZEN").catch(() => {});
        for (const pid of await this.pids()) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            /* gone */
          }
        }
        await writeFile(join(freezer, "freezer.state"), "THAWED").catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Removes the (empty) group's folders. */
  async remove(): Promise<void> {
    for (const dir of this.dirs) await rmdir(dir).catch(() => {});
  }

  /** A group left by a runner that died: removed after its processes are killed. */
  static forgotten(layout: CgroupLayout, id: string): RoomCgroup {
    const dirs =
      layout.version === "v2" ? [join(layout.root, GROUP_PARENT, id)] : V1_CONTROLLERS.map((c) => join(layout.root, c, GROUP_PARENT, id));
    return new RoomCgroup(layout, dirs);
  }
}
