// What a phase costs and how its queue moved: CPU time of the deployed service's processes over the
// phase, and the target's queue backlog (its Redis stream's length) sampled during it. Started just
// before a replay, stopped after the drain. A target whose processes or Redis this run does not know
// (an already deployed service) gets no numbers: absent, never zero.

import { Redis } from "ioredis";
import { FOREIGN_CORES_LIMIT, HOST_SAMPLE_MS, HostWatch, type ForeignProcess, type HostSample } from "./host-contention.js";
import { cpuSpent, processCpuUs } from "./process-cpu.js";
import { locateServices } from "./service-processes.js";
import type { PhaseResources } from "../model/index.js";
export type { PhaseResources } from "../model/index.js";

/** What the runner knows of the target's insides (the bundled service; nothing for a deployed one). */
export interface MonitoredTarget {
  pids?: { server: number | null; workers: number[] };
  queue?: { redisUrl: string; stream: string };
  /** The service's database: its PostgreSQL's processes that serve the run are the run's own (service-processes.ts). */
  databaseUrl?: string;
  /** The sealed room the service runs in: all of its processes are the service's. */
  room?: { pids(): Promise<number[]> };
}

export interface MonitorReadings {
  startedAtWallMs: number;
  stoppedAtWallMs: number;
  serverUs: number | null;
  workersUs: number | null;
  queue: { atWallMs: number; depth: number }[] | null;
  /** The host, once a second (host-contention.ts); null where /proc is not there to read. */
  host: { samples: HostSample[]; topForeign: ForeignProcess[] } | null;
}

/** Queue depth is read this often during a phase (one XLEN: nothing the service notices). */
export const QUEUE_SAMPLE_MS = 250;

export interface PhaseMonitor {
  stop(): Promise<MonitorReadings>;
}

/**
 * Starts the phase's watch. `driverPids` are the run's own replay runners on this machine (`gate run --runners N`
 * without runners elsewhere): the run's work, like this process, never counted as other work on the host.
 */
export function startPhaseMonitor(target: MonitoredTarget, sampleMs = QUEUE_SAMPLE_MS, driverPids: readonly number[] = []): PhaseMonitor {
  const startedAtWallMs = Date.now();
  const serverPids = target.pids?.server != null ? [target.pids.server] : [];
  const workerPids = target.pids?.workers ?? [];
  const serverBefore = serverPids.map(processCpuUs);
  const workersBefore = workerPids.map(processCpuUs);
  // The bundled service's Redis and PostgreSQL are asked who they are: only their processes that serve the run are its own.
  const services = target.pids
    ? locateServices({ redisUrls: target.queue ? [target.queue.redisUrl] : [], databaseUrl: target.databaseUrl })
    : undefined;
  const host = new HostWatch([...serverPids, ...workerPids, ...driverPids], target.room, services);
  const hostTimer = setInterval(() => void host.sample(), HOST_SAMPLE_MS);

  const queue: { atWallMs: number; depth: number }[] = [];
  let redis: Redis | null = null;
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> | null = null;
  if (target.queue) {
    const { stream } = target.queue;
    redis = new Redis(target.queue.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    const client = redis;
    client.on("error", () => {}); // an unreachable Redis means holes in the series, never a failed run
    const sample = () => {
      if (pending) return; // a slow answer is not queued behind by another
      pending = client
        .xlen(stream)
        .then((depth) => void queue.push({ atWallMs: Date.now(), depth }))
        .catch(() => {}) // a missed sample leaves a hole in the series, not a zero
        .finally(() => (pending = null));
    };
    client.connect().then(sample, () => {});
    timer = setInterval(sample, sampleMs);
  }

  return {
    async stop() {
      if (timer) clearInterval(timer);
      clearInterval(hostTimer);
      await host.sample();
      await pending;
      redis?.disconnect();
      const serverAfter = serverPids.map(processCpuUs);
      const workersAfter = workerPids.map(processCpuUs);
      return {
        startedAtWallMs,
        stoppedAtWallMs: Date.now(),
        serverUs: cpuSpent(serverBefore, serverAfter),
        workersUs: cpuSpent(workersBefore, workersAfter),
        queue: target.queue ? queue : null,
        host: host.samples.length
          ? { samples: host.samples, topForeign: host.samples.some((x) => x.foreignCores > FOREIGN_CORES_LIMIT) ? host.topForeign() : [] }
          : null,
      };
    },
  };
}

/** The phase's resources from the monitor's readings and the replay: pure. */
export function phaseResources(
  readings: MonitorReadings,
  replay: { startedAt: string; driverCpuUs?: number; samples: { length: number } },
  acceptedEvents: number,
): PhaseResources {
  const requests = replay.samples.length;
  const per = (us: number | null | undefined, n: number) => (us == null || n <= 0 ? null : us / n);
  const t0 = Date.parse(replay.startedAt);
  return {
    cpu: {
      driverUsPerRequest: per(replay.driverCpuUs, requests),
      serverUsPerRequest: per(readings.serverUs, requests),
      workersUsPerEvent: per(readings.workersUs, acceptedEvents),
      driverUs: replay.driverCpuUs ?? null,
      serverUs: readings.serverUs,
      workersUs: readings.workersUs,
      requests,
      events: acceptedEvents,
      windowMs: readings.stoppedAtWallMs - readings.startedAtWallMs,
    },
    queueDepth: readings.queue === null ? null : readings.queue.map((q) => ({ atMs: q.atWallMs - t0, depth: q.depth })),
  };
}
