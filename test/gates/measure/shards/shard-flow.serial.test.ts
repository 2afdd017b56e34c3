// A sharded phase through a real, private Redis: runners in this process (and, for the kill, in
// their own), a sink service on 127.0.0.1. TEST_PASS=serial: these take seconds each.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import {
  driveShardedPhase,
  joinShards,
  ReplayRunner,
  ShardCoordinator,
  ShardFlowError,
  startLocalRunners,
  DEFAULT_RAW_SAMPLE_CAP,
  type PhasePlan,
} from "../../../../src/gates/measure/shards/index.js";
import type { ReplayProgress } from "../../../../src/gates/measure/replay/index.js";
import { phaseCorpus } from "../../../../src/gates/measure/corpus/phase-corpus.js";
import { judgeP95 } from "../../../../src/gates/verdict/replay-validity.js";
import { loadGate } from "../../../../src/gates/gate-file/read-gate.js";
import type { Deployment } from "../../../../src/gates/target/deployment.js";

const PORT = 16_400 + (process.pid % 500);
let redisServer: ChildProcess;
let sink: Server;
let url: string;
const redisUrl = `redis://127.0.0.1:${PORT}`;

function startRedis(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn("redis-server", ["--port", String(PORT), "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("Ready to accept connections")) resolve(p);
    });
    p.once("exit", (code) => reject(new Error(`redis-server exited ${code}: ${out}`)));
  });
}

async function stopRedis(p: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    p.once("exit", () => resolve());
    p.kill("SIGKILL");
  });
}

const corpus = { seed: "shard-flow", orderingKeys: 60, redeliveryShare: 0.02 };
function plan(runId: string, requests: number, rate: number): PhasePlan {
  return {
    runId,
    phase: { name: "load", requests, rate },
    corpus,
    gateFile: "/nonexistent/gate.yaml",
    url,
    credentials: {},
    timeoutMs: 5_000,
    clockBoundMs: 1,
    rawSampleCap: DEFAULT_RAW_SAMPLE_CAP,
  };
}

async function inProcessRunners(
  n: number,
  prefix: string,
  hooks: (k: number) => { clockFaultMs?: number; startDelayMs?: number } = () => ({}),
) {
  const conns: Redis[] = [];
  const runners: ReplayRunner[] = [];
  for (let k = 0; k < n; k++) {
    const c = new Redis(redisUrl, { maxRetriesPerRequest: null });
    conns.push(c);
    const r = new ReplayRunner({ connection: c, prefix, name: `test-runner-${k + 1}`, ...hooks(k) });
    r.start();
    await r.waitUntilReady();
    runners.push(r);
  }
  return {
    close: async () => {
      for (const r of runners) await r.close(true);
      for (const c of conns) c.disconnect();
    },
  };
}

describe("a phase driven by runners through BullMQ", () => {
  beforeAll(async () => {
    redisServer = await startRedis();
    sink = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(202, { "x-request-id": `req-${Math.random()}` }).end('{"status":"accepted"}'));
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/webhooks`;
  });
  afterAll(async () => {
    sink?.close();
    if (redisServer) await stopRedis(redisServer);
  });

  test("three shards make one phase: every event once, keys whole, at most 50 coordination commands per shard", async () => {
    const prefix = "flow-ok";
    const runners = await startLocalRunners({ redisUrl, prefix, count: 3 });
    const coordinator = new ShardCoordinator({ redisUrl, prefix, pollMs: 1000 });
    const admin = new Redis(redisUrl);
    try {
      await admin.config("RESETSTAT");
      // Commands the clients send (MONITOR marks those a Lua script runs inside Redis as "lua").
      const watcher = admin.duplicate();
      const monitor = await watcher.monitor();
      let sent = 0;
      let inScripts = 0;
      monitor.on("monitor", (_time: string, args: string[], source: string) => {
        if (args[0]?.toLowerCase() === "info" || args[0]?.toLowerCase() === "monitor") return;
        if (source === "lua") inScripts++;
        else sent++;
      });
      // The bound is the flow's to enforce (next test); this one is about the flow, on a shared machine whose round trips reach ms.
      const p = { ...plan("run-ok", 3000, 1000), clockBoundMs: 10 };
      const progress: ReplayProgress[] = [];
      const { outcomes, t0Ms } = await coordinator.drivePhase(p, 3, 15_000, undefined, (x) => progress.push(x));
      monitor.disconnect();
      watcher.disconnect();
      // The live view: the shards' reports added up at each poll, never past the phase, never going back.
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every((x) => x.total === 3000 && x.sent <= 3000 && x.answered <= x.sent)).toBe(true);
      expect(progress.at(-1)!.sent).toBeGreaterThan(0);
      for (let i = 1; i < progress.length; i++) expect(progress[i].sent).toBeGreaterThanOrEqual(progress[i - 1].sent);
      const info = await admin.info("commandstats");
      const calls = [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, cmd, n]) => [cmd, Number(n)] as const);
      const total = calls.filter(([cmd]) => cmd !== "info" && cmd !== "config").reduce((s, [, n]) => s + n, 0);
      console.log(
        `coordination for one 3-shard phase (3,000 requests): ${sent} commands sent (${(sent / 3).toFixed(1)} per shard), ` +
          `${inScripts} more run inside BullMQ's Lua scripts; Redis counted ${total} in all (${(total / 3).toFixed(1)} per shard): ${JSON.stringify(Object.fromEntries(calls))}`,
      );
      expect(sent / 3).toBeLessThanOrEqual(50);

      const events = phaseCorpus({ corpus, source: { file: p.gateFile } }, p.phase);
      const { result, latency } = joinShards(outcomes, events, { shards: 3, rate: 1000, t0Ms, leadMs: 15_000 });
      expect(result.samples.map((s) => s.index)).toEqual(events.map((_, i) => i));
      expect(result.samples.every((s) => s.outcome === "accepted")).toBe(true);
      expect(result.shards.shards.map((s) => s.runner.id).sort()).toEqual(["local-1-of-3", "local-2-of-3", "local-3-of-3"]);
      expect(new Set(outcomes.map((o) => o.summary.runner.id)).size).toBeGreaterThanOrEqual(1);
      expect(latency!.n).toBe(3000);
      expect(latency!.windows).toMatchObject({ count: 20, size: 150 });
      expect(result.valid).toBe(true);
      const keyShard = new Map<string, number>();
      for (const o of outcomes) {
        const s = o.summary;
        expect(s.runner.clock.uncertaintyMs).toBeLessThanOrEqual(10);
        for (const e of events)
          if (Buffer.from(s.accepted, "base64")[e.index >> 3] & (1 << (e.index & 7))) keyShard.set(`${e.orderingKey}/${s.shard}`, s.shard);
      }
      const shardsPerKey = new Map<string, Set<number>>();
      for (const k of keyShard.keys()) {
        const [key, shard] = [k.slice(0, k.lastIndexOf("/")), Number(k.slice(k.lastIndexOf("/") + 1))];
        shardsPerKey.set(key, (shardsPerKey.get(key) ?? new Set()).add(shard));
      }
      expect([...shardsPerKey.values()].every((s) => s.size === 1)).toBe(true);
    } finally {
      admin.disconnect();
      await coordinator.close();
      await runners.stop();
    }
  }, 180_000);

  test("a fast target's phase driven by two runners can PASS latency_p95: the windowed interval is there, its PASS bounds at the run's level", async () => {
    const prefix = "flow-pass";
    const runners = await startLocalRunners({ redisUrl, prefix, count: 2 });
    const coordinator = new ShardCoordinator({ redisUrl, prefix, pollMs: 1000 });
    // The sink as the deployed target: the phase reads only its webhook URL and credentials.
    const sinkDeployment: Deployment = {
      webhookUrl: url,
      baseUrl: url.replace(/\/webhooks$/, ""),
      databaseUrl: "",
      schema: "",
      credentials: {},
      logs: {},
      teardown: async () => {},
    };
    try {
      const gate = loadGate("gates/gate-a.yaml");
      // Gate A's smoke phase (1,000 requests) at 250/s: light enough for a shared CI machine to keep up with.
      const phase = { ...gate.phases.find((p) => p.name === "smoke")!, rate: 250 };
      const events = phaseCorpus(gate, phase);
      const { result, latency } = await driveShardedPhase(
        gate,
        phase,
        sinkDeployment,
        events,
        { coordinator, runId: "run-pass", runners: 2, leadMs: 15_000, clockBoundMs: 10 },
        { judgeAlpha: 0.0125 },
      );
      const l = latency!;
      expect(l.n).toBe(1000);
      // The one-machine rule's windows: 1,000 requests are 20 windows of 50, each whole, whichever runner sent its requests.
      expect(result.shards.windows.map((w) => [w.fromIndex, w.toIndex, w.n])).toEqual(
        Array.from({ length: 20 }, (_, j) => [50 * j, 50 * (j + 1), 50]),
      );
      expect(l.windows).toMatchObject({ count: 20, size: 50 });
      expect(l.p95CiBatch![1]).toBeGreaterThanOrEqual(l.p95);
      expect(l.effectiveSampleSize).not.toBeNull();
      // The run's level (α 0.0125, a retry's) reached the merge: both PASS bounds are taken at it.
      expect(l.passBounds.oneSidedAlpha).toBe(0.0125);
      expect(l.passBounds.batch!).toBeGreaterThan(l.p95CiBatch![1]);
      // A sink that answers at once, judged against a bar far above it (a shared CI machine stalls for tens of ms).
      const j = judgeP95(l, 250, result.schedule);
      console.log(`sharded PASS check: P95 ${l.p95} ms; ${j.verdict}: ${j.detail}`);
      expect(j.verdict).toBe("PASS");
      expect(j.detail).toMatch(/^latency_p95 upper bounds at 98\.75%: exact .*, windowed .* \(20 windows of 50; effective sample size/);
    } finally {
      await coordinator.close();
      await runners.stop();
    }
  }, 180_000);

  test("a runner whose clock cannot be trusted to 1 ms (50 ms injected) refuses its shard, and the phase is an error naming it", async () => {
    const prefix = "flow-clock";
    const runners = await inProcessRunners(1, prefix, () => ({ clockFaultMs: 50 }));
    const coordinator = new ShardCoordinator({ redisUrl, prefix, pollMs: 500 });
    try {
      const err = await coordinator.drivePhase(plan("run-clock", 500, 500), 1, 1_500).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardFlowError);
      expect((err as ShardFlowError).code).toBe("shard_refused");
      expect((err as Error).message).toMatch(
        /runner test-runner-1 \(shard 1\/1\) refused its shard: its clock is known to ±(2[5-9]|[3-9]\d|\d{3,})\.\d\d ms/,
      );
    } finally {
      await coordinator.close();
      await runners.close();
    }
  }, 180_000);

  test("a runner that starts past t0 refuses as late, naming itself; a shard nobody takes is missing", async () => {
    const prefix = "flow-late";
    const runners = await inProcessRunners(1, prefix, () => ({ startDelayMs: 1_500 }));
    const coordinator = new ShardCoordinator({ redisUrl, prefix, pollMs: 500 });
    try {
      const err = await coordinator.drivePhase(plan("run-late", 500, 500), 1, 1_000).catch((e: unknown) => e);
      expect((err as ShardFlowError).code).toBe("shard_refused");
      expect((err as Error).message).toMatch(/runner test-runner-1 \(shard 1\/1\) started late/);
    } finally {
      await runners.close();
    }
    try {
      const err = await coordinator.drivePhase(plan("run-missing", 500, 500), 2, 1_000).catch((e: unknown) => e);
      expect((err as ShardFlowError).code).toBe("shard_missing");
      expect((err as Error).message).toMatch(/shard 1\/2: no runner took it by t0 \+ 1000 ms/);
    } finally {
      await coordinator.close();
    }
  }, 180_000);

  test("a runner killed mid-phase makes the phase an error naming it; Redis restarted between phases stops the run", async () => {
    const prefix = "flow-kill";
    const local = await startLocalRunners({ redisUrl, prefix, count: 2 });
    const coordinator = new ShardCoordinator({ redisUrl, prefix, pollMs: 500 });
    try {
      const first = coordinator.drivePhase(plan("run-kill", 8000, 1000), 2, 12_000).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 15_000));
      local.kill(1);
      const err = await first;
      expect((err as ShardFlowError).code).toMatch(/shard_lost|shard_refused/);
      expect((err as Error).message).toMatch(/runner local-2-of-2/);

      await stopRedis(redisServer);
      redisServer = await startRedis();
      const again = await coordinator.drivePhase(plan("run-kill", 500, 500), 1, 1_000).catch((e: unknown) => e);
      expect((again as ShardFlowError).code).toBe("redis_restarted");
      expect((again as Error).message).toMatch(/restarted since the run began/);
    } finally {
      await coordinator.close();
      await local.stop();
    }
  }, 180_000);
});
