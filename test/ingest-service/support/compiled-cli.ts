// The ingest CLI compiled on its own, for tests that must run it as a real process (SIGKILL, exit
// codes): independent of a possibly stale dist/ and of other people's half-finished files. Built once
// per source version into node_modules/.cache, where Node still resolves the project's packages.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SOURCE = join(ROOT, "src/ingest-service");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : [join(dir, d.name)],
  );
}

/** Path of a module to import in a child process: command.js exporting ingestCommand. */
export function compiledIngestCommand(): string {
  const hash = createHash("sha256");
  for (const f of sourceFiles(SOURCE).sort()) hash.update(f).update(readFileSync(f));
  const out = join(ROOT, "node_modules/.cache/release-gate-ingest-test", hash.digest("hex").slice(0, 16));
  const entry = join(out, "ingest-service/command.js");
  if (existsSync(join(out, "ready"))) return entry;

  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync(
    process.execPath,
    [
      join(ROOT, "node_modules/typescript/bin/tsc"),
      "--outDir", tmp, "--rootDir", join(ROOT, "src"),
      "--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022",
      "--strict", "--skipLibCheck", "--esModuleInterop", "--types", "node",
      join(SOURCE, "command.ts"),
    ],
    { stdio: "pipe" },
  );
  cpSync(join(SOURCE, "commands"), join(tmp, "ingest-service/commands"), { recursive: true });
  cpSync(join(SOURCE, "migrations"), join(tmp, "ingest-service/migrations"), { recursive: true });
  writeFileSync(join(tmp, "package.json"), '{"type":"module"}\n');
  writeFileSync(join(tmp, "ready"), "");
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // Another test process built it first.
  }
  return entry;
}

/** Runs `gate ingest <args>` as its own process, the way bin/gate.js does. */
export function spawnIngest(args: string[], env: Record<string, string | undefined>): ChildProcess {
  const entry = compiledIngestCommand();
  const script = `import(${JSON.stringify(entry)}).then((m) => m.ingestCommand(${JSON.stringify(args)})).then((code) => { process.exitCode = code; })`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function collect(child: ChildProcess): Promise<Exit> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  return new Promise((done) => child.on("close", (code, signal) => done({ code, signal, stdout, stderr })));
}
