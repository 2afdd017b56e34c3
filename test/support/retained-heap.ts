// What a Node process keeps alive: the summed size of every object in a heap snapshot. V8 runs a
// full garbage collection before it writes one, so this is the retained heap, free of the saw-tooth
// that RSS and heapUsed show between collections (RSS also keeps pages V8 has freed but not returned).
// The process must run with `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>`.

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** The node flags that let `retainedHeapBytes` ask the process for a snapshot. */
export function heapSnapshotFlags(dir: string): string[] {
  return ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`];
}

/**
 * Signals `pid` to write a heap snapshot into `dir`, waits until it is complete (the process writes it
 * on its main thread, so `answers()` resolving true after the file appears means it is done), and
 * returns the summed self size of its objects. The snapshot file is removed.
 */
export async function retainedHeapBytes(pid: number, dir: string, answers: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const earlier = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(100);
    const file = readdirSync(dir).find((n) => n.endsWith(".heapsnapshot") && !earlier.has(n));
    if (file && (await answers())) {
      const path = join(dir, file);
      const snapshot = JSON.parse(readFileSync(path, "utf8")) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
      rmSync(path);
      const fields = snapshot.snapshot.meta.node_fields;
      let bytes = 0;
      for (let i = fields.indexOf("self_size"); i < snapshot.nodes.length; i += fields.length) bytes += snapshot.nodes[i];
      return bytes;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} wrote no complete heap snapshot into ${dir} within ${timeoutMs} ms`);
  }
}
