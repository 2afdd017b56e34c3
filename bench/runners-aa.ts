// The A/A check of issue 21: the same phase of the bundled service driven by a flow of one shard in
// the gate's own process (no --runners), by one runner process (--runners 1) and by three (--runners 3), K times
// each, interleaved (ABC ABC ...) so machine drift lands on every arm alike. Prints verdicts, P95s and
// their spread, and driver CPU per request side by side; writes bench/results/runners-aa.json.
//
//   npm run runners-aa -- [gates/gate-a.yaml] [--phase load] [--k 5] [--out bench/results/runners-aa.json]

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { summarizeBundle, type RunSummary } from "./repeat-runs.js";

const GATE_BIN = fileURLToPath(new URL("../../bin/gate.js", import.meta.url));

const ARMS = [
  { name: "this process (1 shard)", flags: [] as string[] },
  { name: "1 runner process", flags: ["--runners", "1"] },
  { name: "3 runner processes", flags: ["--runners", "3"] },
];

function main(): void {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
      phase: { type: "string", default: "load" },
      k: { type: "string", default: "5" },
      out: { type: "string", default: "bench/results/runners-aa.json" },
    },
    allowPositionals: true,
  });
  const file = positionals[0] ?? "gates/gate-a.yaml";
  const k = Number(values.k);
  const scratch = mkdtempSync(join(tmpdir(), "runners-aa-"));
  const runs: Record<string, RunSummary[]> = Object.fromEntries(ARMS.map((a) => [a.name, []]));
  for (let i = 1; i <= k; i++) {
    for (const arm of ARMS) {
      const out = join(scratch, `${i}-${arm.flags.join("") || "inprocess"}`);
      const started = Date.now();
      const r = spawnSync(process.execPath, [GATE_BIN, "run", file, "--phase", values.phase!, "--out", out, "--json", ...arm.flags], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      const s = summarizeBundle(out, (Date.now() - started) / 1000);
      runs[arm.name].push(s);
      const p = s.phases.find((x) => x.name === values.phase);
      console.log(
        `run ${i}/${k} ${arm.name.padEnd(30)} exit ${r.status} ${s.verdict.padEnd(12)} P95 ${p?.p95Ms?.toFixed(2) ?? "-"} ms, driver ${p?.driverUs?.toFixed(1) ?? "-"} µs/request`,
      );
    }
  }
  const table = ARMS.map((arm) => {
    const phases = runs[arm.name].map((s) => s.phases.find((x) => x.name === values.phase));
    const p95s = phases.map((p) => p?.p95Ms).filter((x): x is number => typeof x === "number");
    const cpu = phases.map((p) => p?.driverUs).filter((x): x is number => typeof x === "number");
    const sorted = [...p95s].sort((a, b) => a - b);
    return {
      arm: arm.name,
      verdicts: runs[arm.name].map((s) => s.verdict),
      p95Ms: {
        lowest: sorted[0] ?? null,
        median: sorted[Math.floor(sorted.length / 2)] ?? null,
        highest: sorted[sorted.length - 1] ?? null,
        all: p95s,
      },
      driverUsPerRequest: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : null,
    };
  });
  console.log("\narm                             verdicts                 P95 lowest / median / highest    driver µs/request");
  for (const t of table)
    console.log(
      `${t.arm.padEnd(32)}${t.verdicts.join(",").padEnd(25)}${[t.p95Ms.lowest, t.p95Ms.median, t.p95Ms.highest]
        .map((x) => (x === null ? "-" : x.toFixed(2)))
        .join(" / ")
        .padEnd(33)}${t.driverUsPerRequest?.toFixed(1) ?? "-"}`,
    );
  writeFileSync(
    values.out!,
    `${JSON.stringify({ file, phase: values.phase, k, at: new Date().toISOString(), arms: table, runs }, null, 2)}\n`,
  );
  console.log(`\nwritten: ${values.out}`);
}

main();
