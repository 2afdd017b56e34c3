// A phase driven by runners shows each shard's histogram over the merged one, in the bundle and on both front pages.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeHdr, mergeHdr, newHdr, recordMs, shardOfKey } from "../../../../src/gates/measure/shards/index.js";
import { shardsSvg } from "../../../../src/gates/evidence/report/shards-svg.js";
import { writeEvidenceBundle } from "../../../../src/gates/evidence/evidence-bundle.js";
import type { GateRun, RequestSample, ShardedReplay } from "../../../../src/gates/model/gate-run-record.js";
import { buildGateRun } from "../../../support/gate-run-fixture.js";

/** The shards' record of a phase whose samples were split by ordering key, as the runners would send it. */
function shardedFrom(samples: readonly RequestSample[], runners: number, slowShard?: { shard: number; addMs: number }): ShardedReplay {
  const parts = Array.from({ length: runners }, () => newHdr());
  for (const s of samples) {
    const k = shardOfKey(s.orderingKey ?? s.eventId, runners);
    recordMs(parts[k], s.latencyMs + (slowShard?.shard === k ? slowShard.addMs : 0));
  }
  const p95 = (k: number) => {
    const h = parts[k];
    return h.totalCount ? h.getValueAtPercentile(95) / 1000 : null;
  };
  return {
    runners,
    t0: "2026-12-06T10:00:00.000Z",
    leadMs: 2000,
    shards: parts.map((h, k) => ({
      shard: k,
      runner: { id: `host-${k}/10${k}`, host: `host-${k}`, pid: 100 + k, version: "0.0.0", offsetMs: 0.1, uncertaintyMs: 0.2 },
      requests: h.totalCount,
      n: h.totalCount,
      p95Ms: p95(k),
      sendLagP99Ms: 0.5,
      cpuPerRequestUs: 150,
      latencyHdr: encodeHdr(h),
      samplesSha256: "0".repeat(64),
    })),
    histograms: { latency: encodeHdr(mergeHdr(parts)), sendLag: encodeHdr(newHdr()) },
    windows: [],
  };
}

let root: string;
let run: GateRun;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "shards-svg-"));
  run = await buildGateRun({ scale: 0.1, logDir: join(root, "logs") });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test("each shard is a step outline with its P95 marked, named by runner, over the merged bars", () => {
  const samples = run.phases[1]!.replay!.samples;
  const svg = shardsSvg("load", shardedFrom(samples, 3));
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.match(/<path class="shard" data-shard="\d"/g)).toHaveLength(3);
  expect(svg.match(/class="shard-p95"/g)).toHaveLength(3);
  for (const k of [0, 1, 2]) expect(svg).toContain(`shard ${k + 1}/3, runner host-${k}/10${k}`);
  expect(svg).toContain(`merged, what the verdict read (${samples.length.toLocaleString("en-US")} requests`);
  // The merged bars are shares of all requests: they add up to 100%.
  const shares = [...svg.matchAll(/: ([\d.]+)% of all requests</g)].map((m) => Number(m[1]));
  expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
});

test("a runner that measured a slower service stands out: its P95 line is right of the others'", () => {
  const samples = run.phases[1]!.replay!.samples;
  const svg = shardsSvg("load", shardedFrom(samples, 2, { shard: 1, addMs: 40 }));
  const x = (k: number) => Number(new RegExp(`data-shard="${k}"[^]*?class="shard-p95" x1="([\\d.]+)"`).exec(svg)![1]);
  expect(x(1)).toBeGreaterThan(x(0) + 50);
});

test("the bundle keeps the picture under 02-latency, in its manifest, linked from summary.md and inlined in report.html", async () => {
  const phases = run.phases.map((p, i) => (i === 1 ? { ...p, replay: { ...p.replay!, shards: shardedFrom(p.replay!.samples, 2) } } : p));
  const dir = join(root, "bundle");
  await writeEvidenceBundle(dir, { ...run, phases });
  const file = "02-latency/load.shards.svg";
  const svg = await readFile(join(dir, file), "utf8");
  expect(svg).toContain('class="histogram shards"');
  expect(await readFile(join(dir, "SHA256SUMS"), "utf8")).toContain(file);
  expect(await readFile(join(dir, "summary.md"), "utf8")).toContain(`![load: each runner's histogram](${file})`);
  expect(await readFile(join(dir, "report.html"), "utf8")).toContain(
    '<svg xmlns="http://www.w3.org/2000/svg" class="histogram shards" data-phase="load"',
  );
  // Phases one driver drove have no such picture.
  await expect(readFile(join(dir, "02-latency/smoke.shards.svg"), "utf8")).rejects.toThrow(/ENOENT/);
});
