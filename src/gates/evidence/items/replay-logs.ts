// Evidence item 1: every request sent in every phase, the service's own logs, CPU per request, the machine, and
// what build of the service ran.

import { readFile } from "node:fs/promises";
import { fileStem } from "../evidence-layout.js";
import { byteOrder } from "../manifest.js";
import { jsonFile } from "../report/report-format.js";
import { decodeHdr, hdrBuckets } from "../../measure/index.js";
import type { PhaseResult } from "../../model/index.js";
import { replayLogIndex, samplesNdjson, type ReplayLogIndex } from "../replay-log.js";
import { cpuDocument, machineDocument, RESOURCE_FILES } from "../report/resources-report.js";
import type { EvidenceItem, ItemContext } from "./evidence-item.js";

const FOLDER = "01-replay-logs";

export const REPLAY_LOG_FILES = {
  index: `${FOLDER}/index.json`,
  /** Where the build of the service under test is recorded. */
  serviceBuild: `${FOLDER}/service-build.json`,
  serviceBuildLog: `${FOLDER}/service-build.log`,
  /** The sealed room the service was built and run in, and what making it cost. */
  room: `${FOLDER}/room.json`,
  runners: `${FOLDER}/runners.json`,
} as const;

export function samplesFile(phaseName: string, compressed: boolean): string {
  return `${FOLDER}/${fileStem(phaseName)}.samples.ndjson${compressed ? ".gz" : ""}`;
}

export function serviceLogFile(logName: string, compressed: boolean): string {
  return `${FOLDER}/service/${fileStem(logName)}.log${compressed ? ".gz" : ""}`;
}

/** Every line of a service log, or why it could not be read (a problem the front pages name, not a failure). */
async function writeServiceLogs({ run, bundle, gzipOverBytes, report }: ItemContext): Promise<ReplayLogIndex["serviceLogs"]> {
  const serviceLogs: ReplayLogIndex["serviceLogs"] = [];
  for (const name of Object.keys(run.logs).sort(byteOrder)) {
    const source = run.logs[name]!;
    let text: string;
    try {
      text = await readFile(source, "utf8");
    } catch (err) {
      const problem = `the service log "${name}" could not be read from ${source}: ${(err as Error).message}`;
      report.problems.push(problem);
      serviceLogs.push({ name, file: null, bytes: 0, lines: 0, problem });
      continue;
    }
    const gzip = Buffer.byteLength(text) > gzipOverBytes;
    const lines = text.length === 0 ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    serviceLogs.push({
      name,
      file: await bundle.text(serviceLogFile(name, gzip), text, gzip),
      bytes: Buffer.byteLength(text),
      lines,
      problem: null,
    });
  }
  return serviceLogs;
}

export const replayLogs = {
  id: "replay_logs",
  number: 1,
  title: "Replay execution logs",
  path: FOLDER,
  layout:
    "`01-replay-logs/<phase>.samples.ndjson[.gz]` (one JSON object per request sent; gzip-compressed when large), `01-replay-logs/service/<name>.log[.gz]` (the service's structured logs), `01-replay-logs/index.json`, `01-replay-logs/cpu.json` (CPU per request of driver, server and workers), `01-replay-logs/machine.json` (CPU, load, CPU pressure, idle event-loop jitter), `01-replay-logs/room.json` (the sealed room, when the service ran in one), `01-replay-logs/runners.json` (phases driven by runners: each runner, its host, version, clock offset, CPU per request, send-lag P99 and shard, and each shard's latency histogram beside the merged one)",
  async write(ctx) {
    const { run, bundle, gzipOverBytes } = ctx;
    const sampleFiles = new Map<string, string>();
    for (const phase of run.phases) {
      if (!phase.replay) continue;
      const text = samplesNdjson(phase.replay.samples);
      const gzip = Buffer.byteLength(text) > gzipOverBytes;
      sampleFiles.set(phase.name, await bundle.text(samplesFile(phase.name, gzip), text, gzip));
    }
    const serviceLogs = await writeServiceLogs(ctx);
    await bundle.text(REPLAY_LOG_FILES.index, jsonFile(replayLogIndex(run, sampleFiles, serviceLogs)));
    await bundle.text(RESOURCE_FILES.cpu, jsonFile(cpuDocument(run)));
    await bundle.text(RESOURCE_FILES.machine, jsonFile(machineDocument(run)));
    // What ran: the commit's archive, tree and lockfile digests, the build command, its exit code and log.
    if (run.source) {
      const { log, ...built } = run.source;
      const failure = run.sourceFailure ?? built.failure ?? null;
      await bundle.text(REPLAY_LOG_FILES.serviceBuild, jsonFile({ ...built, failure, log: REPLAY_LOG_FILES.serviceBuildLog }));
      await bundle.text(REPLAY_LOG_FILES.serviceBuildLog, log);
    }
    if (run.room) await bundle.text(REPLAY_LOG_FILES.room, jsonFile(run.room));
    const sharded = run.phases.filter((p) => p.replay?.shards);
    if (sharded.length) await bundle.text(REPLAY_LOG_FILES.runners, jsonFile(runnersDocument(sharded)));
  },
} as const satisfies EvidenceItem;

/** Who drove each sharded phase, and each shard's latency histogram beside the merged one (buckets in ms). */
function runnersDocument(phases: PhaseResult[]) {
  const buckets = (encoded: string) => hdrBuckets(decodeHdr(encoded));
  return {
    phases: phases.map((p) => {
      const s = p.replay!.shards!;
      return {
        phase: p.name,
        runners: s.runners,
        t0: s.t0,
        leadMs: s.leadMs,
        shards: s.shards.map((x) => ({
          shard: x.shard + 1,
          runner: x.runner,
          requests: x.requests,
          answered: x.n,
          p95Ms: x.p95Ms,
          sendLagP99Ms: x.sendLagP99Ms,
          cpuPerRequestUs: x.cpuPerRequestUs,
          samplesSha256: x.samplesSha256,
          latencyHistogram: buckets(x.latencyHdr),
          latencyHdr: x.latencyHdr,
        })),
        merged: { latencyHistogram: buckets(s.histograms.latency), latencyHdr: s.histograms.latency, sendLagHdr: s.histograms.sendLag },
        windows: s.windows,
      };
    }),
  };
}
