// A `gate` CLI under a CPU profiler, for profile-accept.ts (NODE_OPTIONS may not carry --cpu-prof):
// starts the inspector's sampling profiler and its allocation sampler, counts garbage collections,
// then runs the CLI named by PROFILE_CLI. Writes PROFILE_DIR/<pid>.cpuprofile at exit,
// PROFILE_DIR/<pid>.gc.json (collections so far, by kind) every 250 ms, and on each SIGUSR2
// PROFILE_DIR/<pid>.alloc-<k>.json: every allocation sampled so far (one per ~1 KB allocated),
// collected or not, so the difference of two is what was allocated between them.

import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const dir = process.env.PROFILE_DIR!;
const session = new Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.start");
session.post("HeapProfiler.enable");
session.post("HeapProfiler.startSampling", {
  samplingInterval: 1024,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
} as object);
let allocSnapshots = 0;
process.on("SIGUSR2", () => {
  const k = ++allocSnapshots;
  session.post("HeapProfiler.getSamplingProfile", (err, result) => {
    if (!err) writeFileSync(join(dir, `${process.pid}.alloc-${k}.json`), JSON.stringify(result.profile));
  });
});
process.on("exit", () => {
  // The inspector answers a same-thread session synchronously, so this completes inside "exit".
  session.post("Profiler.stop", (err, result) => {
    if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});

const gc: Record<string, number> = { minor: 0, major: 0, incremental: 0, weakcb: 0 };
const kinds: Record<number, string> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = kinds[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other";
    gc[kind] = (gc[kind] ?? 0) + 1;
  }
}).observe({ entryTypes: ["gc"] });
setInterval(() => writeFileSync(join(dir, `${process.pid}.gc.json`), JSON.stringify(gc)), 250).unref();

await import(pathToFileURL(process.env.PROFILE_CLI!).href);
