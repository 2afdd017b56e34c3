// What a run deploys when the target is the bundled service: the runner's own build as it is, or a tree
// built from a commit's archive, and, for every commit's code (and `gate run --seal`), the sealed room it is
// built and run in with the room's own Redis and PostgreSQL. What is prepared is disposed of after teardown.

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Gate, RoomRecord } from "../model/index.js";
import type { DeployOptions } from "./deployment.js";
import { isolatedEnv, prepareService, TREE_CLI, type BuiltService, type ServiceSourceEvidence } from "./service-source/index.js";
import { chownTree, RoomBuilder, SealedRoom, stageOwnTree, startRoomData, type RoomData, type RoomOptions } from "./room/index.js";

/** A commit's code to build and deploy (see RunOptions.source). */
export interface CommitSource {
  /** The archive's path, or how to fetch it (the fetch is the run's first step, and can fail as one). */
  archive: string | (() => Promise<string>);
  cacheDir: string;
  /** `owner/repo` of the commit, part of the build cache's key (default "local": the CLI's own archive). */
  repository?: string;
  build?: string;
  baseEnv?: NodeJS.ProcessEnv;
}

export interface TargetPlan {
  commit: string;
  source?: CommitSource;
  seal?: boolean;
  room?: RoomOptions;
  namespace: string;
  logDir: string;
  signal?: AbortSignal;
}

export interface PreparedTarget {
  /** What deploy() is given: the tree to run from and the room to run it in (none: the runner's own, unsealed). */
  deploy: Pick<DeployOptions, "service" | "room">;
  /** The built tree, when it came from a commit's archive. */
  service: BuiltService | null;
  room: RoomRecord | null;
  /** The room's passwords, for the redaction of everything written. */
  secrets: string[];
  /** Closes the room (killing whatever is left in it) and removes the built tree. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Prepares the bundled target. `onBuilt` hears of the commit's build (its evidence) as soon as it is
 * made, `onSealed` of the room once it is ready. On failure everything made is disposed of before the
 * error is thrown (a ServiceSourceError carries the build's evidence).
 */
export async function prepareTarget(
  gate: Gate,
  plan: TargetPlan,
  on: { built?(evidence: ServiceSourceEvidence): void; sealed?(room: RoomRecord): Promise<void> } = {},
): Promise<PreparedTarget> {
  if (gate.target.kind !== "bundled") return { deploy: {}, service: null, room: null, secrets: [], dispose: async () => {} };
  const target = gate.target;
  let room: SealedRoom | null = null;
  let service: BuiltService | null = null;
  const dispose = async () => {
    // Whatever the service or its build started, daemons included, ends with the room.
    await room?.close().catch(() => {});
    await service?.dispose().catch(() => {});
  };
  try {
    if (plan.seal === true || plan.source !== undefined) {
      room = await SealedRoom.open({ ...plan.room, hide: [packageRoot(), ...(plan.room?.hide ?? [])] });
    }
    if (plan.source) {
      const archive = typeof plan.source.archive === "string" ? plan.source.archive : await plan.source.archive();
      service = await prepareService({
        archive,
        commit: plan.commit,
        build: plan.source.build ?? target.build,
        cacheDir: plan.source.cacheDir,
        repository: plan.source.repository ?? "local",
        limits: target.sourceLimits,
        baseEnv: plan.source.baseEnv,
        signal: plan.signal,
        // A commit's code is always built in its room, and runs from the tree built there.
        scratchDir: join(room!.dir, "service", "source"),
        builder: new RoomBuilder(room!, join(plan.source.cacheDir, "npm")),
      });
      on.built?.(service.evidence);
      // A tree from the cache was built by another room's user: it becomes this room's.
      for (const dir of [service.dir, service.env.HOME!]) await chownTree(dir, room!.uid, room!.uid);
    }
    if (!room) return { deploy: {}, service, room: null, secrets: [], dispose };

    let tree = service ? { cli: service.cli, cwd: service.dir, env: service.env } : null;
    if (!tree) {
      await stageOwnTree(packageRoot(), room.tree);
      tree = { cli: join(room.tree, TREE_CLI), cwd: room.tree, env: isolatedEnv(process.env, room.home, join(room.home, ".npm")) };
    }
    const data = await startRoomData(room, plan.namespace, plan.logDir, plan.signal);
    const record = roomRecord(room, data);
    await on.sealed?.(record);
    return { deploy: { service: tree, room: { room, data } }, service, room: record, secrets: data.secrets, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** The room in one line, for the war room. */
export function roomLine(r: RoomRecord): string {
  return (
    `user ${r.uid} (not root, not the runner's), own network namespace (loopback only), cgroup ${r.cgroup} ` +
    `(pids ≤ ${r.limits.pids}, memory ≤ ${Math.round(r.limits.memoryBytes / 1024 ** 3)} GiB), runner's code hidden; ` +
    `set up in ${((r.setupMs.room + r.setupMs.data) / 1000).toFixed(1)} s (room ${r.setupMs.room} ms, its Redis and PostgreSQL ${r.setupMs.data} ms)`
  );
}

function roomRecord(room: SealedRoom, data: RoomData): RoomRecord {
  return {
    id: room.id,
    uid: room.uid,
    network:
      "a namespace of its own: its loopback only (its Redis, its PostgreSQL, the service); the replay reaches the service through a listening socket the runner passed in",
    cgroup: room.cgroup.layout.version,
    limits: { ...room.limits },
    hidden: room.folders.hidden,
    privateFolders: room.folders.private,
    setupMs: { room: room.openedInMs, data: data.startedInMs },
  };
}

/** The runner's own package (its code): hidden from every sealed room. */
function packageRoot(): string {
  // src/gates/target/target-service.ts, or dist/src/gates/target/target-service.js
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, here.includes(join("dist", "src")) ? "../../../.." : "../../..");
}
