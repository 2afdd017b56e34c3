// target.bundled.source_limits: how big a commit's source archive may be, downloaded and unpacked.
// Each value keeps the text the gate file gave it (quoted when a cap is hit); bad values point at
// their line with what was expected instead.

import { GateDefinitionError, parseGate, type GateProblem } from "../../../src/gates/gate-file/index.js";
import { DEFAULT_SOURCE_LIMITS } from "../../../src/gates/model/gate.js";

const gateWith = (limits: string[]) =>
  [
    "gate: gate-x",
    'title: "Gate X"',
    "application: app",
    "dri: Agent3",
    "target:",
    "  bundled:",
    '    redis_url: "redis://127.0.0.1:6379"',
    '    database_url: "postgres://postgres@127.0.0.1:5432/postgres"', // 8
    ...limits, // from line 9
    "objectives:",
    '  latency_p95: "<= 120ms"',
    "phases:",
    "  - name: smoke",
    "    requests: 1k",
    "    rate: 500/s",
    '    latency_p95: "<= 20ms"',
    "corpus:",
    "  seed: x",
    "  ordering_keys: 10",
    "  redelivery_share: 2%",
    "evidence: [replay_logs]",
    "",
  ].join("\n");

function problems(text: string): GateProblem[] {
  try {
    parseGate(text, "x.yaml", {});
  } catch (err) {
    expect(err).toBeInstanceOf(GateDefinitionError);
    return (err as GateDefinitionError).problems;
  }
  throw new Error("expected the gate to be invalid");
}

describe("target.bundled.source_limits", () => {
  test("unset, the target states no limits and the run falls back on 100MB, 1GB and 100000 members", () => {
    const gate = parseGate(gateWith([]), "x.yaml", {});
    expect(gate.target).not.toHaveProperty("sourceLimits");
    expect(DEFAULT_SOURCE_LIMITS).toEqual({
      archive: { bytes: 100 * 1024 ** 2, display: "100MB" },
      unpacked: { bytes: 1024 ** 3, display: "1GB" },
      files: { count: 100_000, display: "100000" },
    });
  });

  test("each cap keeps the text written and its parsed value; a key left out takes its default", () => {
    const gate = parseGate(gateWith(["    source_limits:", "      unpacked: 2GB", "      files: 250k"]), "x.yaml", {});
    expect(gate.target).toMatchObject({
      sourceLimits: {
        archive: DEFAULT_SOURCE_LIMITS.archive,
        unpacked: { bytes: 2 * 1024 ** 3, display: "2GB" },
        files: { count: 250_000, display: "250k" },
      },
    });
  });

  test("a size that is not one, a cap of nothing and an unknown key are refused at their line", () => {
    const ps = problems(
      gateWith(["    source_limits:", "      archive: lots", "      unpacked: 10B", "      files: 0", "      bytes: 1GB"]),
    );
    const at = (path: string) => ps.find((p) => p.path === path);
    expect(at("target.bundled.source_limits.archive")).toMatchObject({ line: 10 });
    expect(at("target.bundled.source_limits.archive")!.message).toMatch(/"lots" is not a size; expected a size such as 64MB/);
    expect(at("target.bundled.source_limits.unpacked")).toMatchObject({ line: 11 });
    expect(at("target.bundled.source_limits.unpacked")!.message).toMatch(/"10B" is too small; expected at least 1KB/);
    expect(at("target.bundled.source_limits.files")).toMatchObject({ line: 12 });
    expect(at("target.bundled.source_limits.files")!.message).toMatch(/too small; expected at least 1/);
    expect(ps.some((p) => p.path.startsWith("target.bundled.source_limits") && p.line === 13)).toBe(true);
  });

  test("a cap larger than any runner's disk is refused", () => {
    const ps = problems(gateWith(["    source_limits:", "      unpacked: 1TB"]));
    expect(ps).toEqual([expect.objectContaining({ line: 10, path: "target.bundled.source_limits.unpacked" })]);
    expect(ps[0]!.message).toMatch(/"1TB" is too large; expected at most 100GB/);
  });
});
