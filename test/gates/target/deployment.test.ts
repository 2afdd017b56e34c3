// Deploying the bundled service: teardown is always possible, even when the deploying process dies.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { dropNamespace } from "../../../src/gates/target/deployment.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function processesOf(namespace: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", `ingest .* ${namespace}`], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test("the service's processes stop by themselves when the process that deployed them is SIGKILLed", async () => {
  const namespace = `rg_orphan_${Date.now().toString(36)}`;
  const logDir = mkdtempSync(join(tmpdir(), "deploy-test-"));
  const parent = spawn(process.execPath, [join("test", "gates", "fixtures", "deploy-and-wait.mjs"), namespace, logDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const lines = createInterface({ input: parent.stdout! })[Symbol.asyncIterator]();
    const baseUrl = (await lines.next()).value as string;
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    expect(processesOf(namespace)).toHaveLength(2); // the server and one worker

    parent.kill("SIGKILL");
    const deadline = Date.now() + 15_000;
    while (processesOf(namespace).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(processesOf(namespace)).toEqual([]);
  } finally {
    parent.kill("SIGKILL");
    for (const pid of processesOf(namespace)) process.kill(pid, "SIGKILL");
    await dropNamespace(REDIS_URL, DATABASE_URL, namespace);
    rmSync(logDir, { recursive: true, force: true });
  }
}, 40_000);
