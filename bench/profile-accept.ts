// Where the accept path's CPU goes, for one build: deploys the ingest service (this checkout's, or
// another build's CLI with --cli) under a CPU profiler and a GC counter (profiled-cli.ts), replays a warm-up and
// then a measured run of the gate's corpus open loop, and prints CPU per request of every process
// (server, workers, Redis, PostgreSQL), the server's garbage collections per 1,000 requests, and the
// top functions by self time in the server's CPU profile, and the bytes it allocated per request during
// the measured run by allocating function (the inspector's allocation sampler). Run it for the before
// and the after build.
//
//   node dist/bench/profile-accept.js [--cli PATH/dist/src/cli.js] [--rate 1000] [--requests 10000] [--batch-size 50] [--workers 2] [--out DIR] [--no-profile]
//
// --no-profile: the same run without the profiler (whose sampling costs CPU of its own), for the
// CPU per request alone, split into user and system time.

import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { generateCorpus } from "../src/gates/measure/corpus/replay-corpus.js";
import { deploy, cliPath } from "../src/gates/target/deployment.js";
import { processCpuUs } from "../src/gates/measure/process-cpu.js";
import { replay } from "../src/gates/measure/replay/index.js";
import { summarizeLatency } from "../src/gates/verdict/statistics.js";
import { cpuDelta, cpuOf, postgresCpuMeter, redisServerPid } from "./store-cpu.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** A profile's function as the tables name it: name, then the last two parts of its file and its line. */
function siteOf(f: CallFrame): string {
  const file = f.url.split("/").slice(-2).join("/");
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
}

/** Self time share by function (name and file:line), from a .cpuprofile; "(idle)" left out of the total. */
export function topSelf(profile: { nodes: ProfileNode[]; samples: number[] }, n: number): { busy: number; rows: [string, number][] } {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const counts = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "(idle)") continue;
    busy++;
    const name = siteOf(f);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const rows = [...counts].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { busy, rows: rows.map(([k, v]) => [k, v / busy]) };
}

interface AllocationNode {
  callFrame: CallFrame;
  selfSize: number;
  children: AllocationNode[];
}

/** Bytes allocated by each function (self), from a sampling heap profile's tree. */
export function allocatedBySite(head: AllocationNode): Map<string, number> {
  const sites = new Map<string, number>();
  const walk = (node: AllocationNode) => {
    if (node.selfSize > 0) {
      const site = siteOf(node.callFrame);
      sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(head);
  return sites;
}

/** What was allocated between two of profiled-cli's allocation snapshots, per request, largest sites first. */
export function allocationsBetween(
  before: Map<string, number>,
  after: Map<string, number>,
  requests: number,
): { bytesPerRequest: number; rows: [string, number][] } {
  const rows: [string, number][] = [];
  let total = 0;
  for (const [site, bytes] of after) {
    const grown = bytes - (before.get(site) ?? 0);
    if (grown <= 0) continue;
    total += grown;
    rows.push([site, grown / requests]);
  }
  return { bytesPerRequest: total / requests, rows: rows.sort((a, b) => b[1] - a[1]) };
}

/** Asks the profiled server for its allocations so far (SIGUSR2) and reads them once written. */
async function allocationSnapshot(dir: string, pid: number, k: number): Promise<Map<string, number> | null> {
  const file = join(dir, `${pid}.alloc-${k}.json`);
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      return allocatedBySite((JSON.parse(readFileSync(file, "utf8")) as { head: AllocationNode }).head);
    } catch {
      // not written yet, or written in part
    }
  }
  return null;
}

/** [utime, stime] in µs from /proc/<pid>/stat. */
function userSys(pid: number): [number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [(Number(f[11]) * 1e6) / 100, (Number(f[12]) * 1e6) / 100];
  } catch {
    return [NaN, NaN];
  }
}

function gcCounts(dir: string, pid: number): { scavenges: number; markCompacts: number } {
  try {
    const gc = JSON.parse(readFileSync(join(dir, `${pid}.gc.json`), "utf8")) as Record<string, number>;
    return { scavenges: gc.minor ?? 0, markCompacts: gc.major ?? 0 };
  } catch {
    return { scavenges: NaN, markCompacts: NaN };
  }
}

async function main(argv: string[]): Promise<void> {
  const at = (flag: string, fallback: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const cli = resolve(at("--cli", cliPath()));
  const rate = Number(at("--rate", "1000"));
  const requests = Number(at("--requests", "10000"));
  const batchSize = Number(at("--batch-size", "50"));
  const workers = Number(at("--workers", "2"));
  const profiled = !argv.includes("--no-profile");
  const out = resolve(at("--out", `/tmp/profile-accept-${Date.now()}`));
  const profDir = join(out, "cpu");
  mkdirSync(profDir, { recursive: true });
  const namespace = `prof_${randomBytes(3).toString("hex")}`;
  const credentials = { signingSecret: `whsec_${randomBytes(32).toString("base64")}` };
  const root = dirname(dirname(dirname(cli)));
  const deployment = await deploy(
    { kind: "bundled", mode: "queue", workers, batchSize, batchLingerMs: 5, redisUrl: REDIS_URL, databaseUrl: DATABASE_URL },
    {
      namespace,
      credentials,
      logDir: join(out, "logs"),
      service: {
        cli: profiled ? join(dirname(fileURLToPath(import.meta.url)), "profiled-cli.js") : cli,
        cwd: root,
        env: { PATH: process.env.PATH ?? "", PROFILE_CLI: cli, PROFILE_DIR: profDir },
      },
    },
  );
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    const url = deployment.webhookUrl;
    const warm = generateCorpus({ seed: `profile/warm/${namespace}`, requests: 3000, orderingKeys: 500, redeliveryShare: 0.02 });
    await replay({ url, rate: 1000, events: warm, credentials });
    await new Promise((r) => setTimeout(r, 1500));
    const serverPid = deployment.pids!.server!;
    const workerPids = deployment.pids!.workers;
    const redisPid = await redisServerPid(REDIS_URL);
    await new Promise((r) => setTimeout(r, 300));
    const alloc0 = profiled ? await allocationSnapshot(profDir, serverPid, 1) : null;
    const gc0 = gcCounts(profDir, serverPid);
    const s0 = processCpuUs(serverPid)!;
    const split0 = [serverPid, ...workerPids].map(userSys);
    const w0 = cpuOf(workerPids);
    const r0 = cpuOf(redisPid === null ? [] : [redisPid]);
    const pgMeter = await postgresCpuMeter(db, namespace);
    const events = generateCorpus({ seed: `profile/run/${namespace}`, requests, orderingKeys: 500, redeliveryShare: 0.02 });
    const result = await replay({ url, rate, events, credentials });
    await new Promise((r) => setTimeout(r, 1500)); // the drain, and a fresh GC count
    const gc1 = gcCounts(profDir, serverPid);
    const alloc1 = profiled ? await allocationSnapshot(profDir, serverPid, 2) : null;
    const split1 = [serverPid, ...workerPids].map(userSys);
    const n = result.samples.length;
    const per = (x: number | null) => (x === null ? "-" : `${Math.round(x / n)} µs`);
    const latency = summarizeLatency(result.samples.map((s) => s.latencyMs));
    const server = processCpuUs(serverPid)! - s0;
    const workers = cpuDelta(w0, cpuOf(workerPids));
    const redisCpu = cpuDelta(r0, cpuOf(redisPid === null ? [] : [redisPid]));
    const { cpuUs: pgCpu, processes: pgProcesses } = await pgMeter();
    console.log(`build ${root}; ${n} requests at ${rate}/s (achieved ${Math.round(result.achievedRate)}/s, valid ${result.valid})`);
    console.log(`P50 ${latency?.p50.toFixed(2)} ms, P95 ${latency?.p95.toFixed(2)} ms, P99 ${latency?.p99.toFixed(2)} ms`);
    console.log(
      `CPU per request: server ${per(server)}, workers ${per(workers)}, redis ${per(redisCpu)}, postgres ${per(pgCpu)} (${pgProcesses} processes), driver ${per(result.driverCpuUs ?? null)}`,
    );
    const split = (from: number, to: number) => {
      let user = 0;
      let sys = 0;
      for (let i = from; i < to; i++) {
        user += split1[i][0] - split0[i][0];
        sys += split1[i][1] - split0[i][1];
      }
      return `${Math.round(user / n)} user + ${Math.round(sys / n)} system µs`;
    };
    console.log(`user/system per request: server ${split(0, 1)}, workers ${split(1, split0.length)}`);
    console.log(
      `server GC during the run: ${gc1.scavenges - gc0.scavenges} scavenges, ${gc1.markCompacts - gc0.markCompacts} mark-compacts (${(((gc1.scavenges - gc0.scavenges) * 1000) / n).toFixed(2)} scavenges per 1,000 requests)`,
    );
    if (alloc0 && alloc1) {
      const { bytesPerRequest, rows } = allocationsBetween(alloc0, alloc1, n);
      console.log(
        `server allocations during the run (sampled, collected or not): ${Math.round(bytesPerRequest)} bytes per request; largest sites:`,
      );
      for (const [site, bytes] of rows.slice(0, 15)) console.log(`  ${String(Math.round(bytes)).padStart(6)} B  ${site}`);
    } else if (profiled) console.log("server allocations: the profiled server wrote no allocation snapshot");
  } finally {
    await db.end();
    await deployment.teardown();
  }
  if (!profiled) return;
  const serverProfile = readdirSync(profDir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(profDir, f))
    .find((f) => f.endsWith(`${deployment.pids!.server}.cpuprofile`));
  if (!serverProfile) {
    console.log(`no server profile in ${profDir}`);
    return;
  }
  const { busy, rows } = topSelf(JSON.parse(readFileSync(serverProfile, "utf8")), 15);
  console.log(`server CPU profile (${serverProfile}, warm-up and run, ${busy} busy samples), top self time:`);
  for (const [name, share] of rows) console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  main(process.argv.slice(2)).catch((err) => {
    console.error(`profile-accept: ${(err as Error).message}`);
    process.exitCode = 1;
  });
