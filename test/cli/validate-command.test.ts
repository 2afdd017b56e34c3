import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateCommand } from "../../src/cli/validate-command.js";

function capture() {
  const out = { logs: [] as string[], errors: [] as string[] };
  return { out, io: { log: (l: string) => out.logs.push(l), error: (l: string) => out.errors.push(l) } };
}

describe("gate validate", () => {
  it("a valid gate file is summarised and exits 0", async () => {
    const { out, io } = capture();
    expect(await validateCommand(["gates/gate-a.yaml", "gates/gate-b.yaml"], io, {})).toBe(0);
    expect(out.logs).toEqual([
      "gates/gate-a.yaml: valid (gate gate-a, 3 phases: smoke 1k@500/s, load 5k@1000/s, final 30k@1000/s)",
      "gates/gate-b.yaml: valid (gate gate-b, 2 phases: smoke 500@250/s, canary 2k@500/s)",
    ]);
    expect(out.errors).toEqual([]);
  });

  it("an invalid gate file prints each problem as file:line:col and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-validate-"));
    try {
      const file = join(dir, "broken.yaml");
      const text = readFileSync("gates/gate-a.yaml", "utf8")
        .replace("    workers: 2", "    worker: 2")
        .replace('latency_p95: "<= 20ms"', 'latency_p95: "<= -3ms"');
      writeFileSync(file, text);
      const lines = text.split("\n");
      const workerLine = lines.findIndex((l) => l === "    worker: 2") + 1;
      const barLine = lines.findIndex((l) => l.includes('"<= -3ms"')) + 1;
      const { out, io } = capture();
      expect(await validateCommand([file], io, {})).toBe(2);
      expect(out.errors).toHaveLength(3);
      expect(out.errors[0]).toMatch(
        new RegExp(`^${file}:${workerLine}:5: target\\.bundled\\.worker: unknown key; .*did you mean "workers"`),
      );
      expect(out.errors[1]).toBe(`${file}:${barLine}:18: phases[0].latency_p95: "-3ms" is negative; expected a duration of 0 or more`);
      expect(out.errors[2]).toBe(`${file}: invalid (2 problems)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing file or no file at all exits 2 with what to do", async () => {
    const a = capture();
    expect(await validateCommand(["gates/nope.yaml"], a.io, {})).toBe(2);
    expect(a.out.errors[0]).toBe("gates/nope.yaml: cannot read the gate file (no such file); expected a path such as gates/gate-a.yaml");
    const b = capture();
    expect(await validateCommand([], b.io, {})).toBe(2);
    expect(b.out.errors[0]).toMatch(/no gate file given/);
    const c = capture();
    expect(await validateCommand(["--strict", "gates/gate-a.yaml"], c.io, {})).toBe(2);
    expect(c.out.errors[0]).toMatch(/unknown option --strict/);
  });

  it("--help explains usage and exits 0", async () => {
    const { out, io } = capture();
    expect(await validateCommand(["--help"], io, {})).toBe(0);
    expect(out.logs[0]).toMatch(/^gate validate FILE\.\.\.:/);
  });
});
