// The ingest CLI transpiled on its own, for tests that must run it as a real process (SIGKILL, exit
// codes): independent of a possibly stale dist/ and of other people's half-finished files. Built once
// per source version into node_modules/.cache, where Node still resolves the project's packages.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SRC = join(ROOT, "src");
const SOURCE = join(SRC, "ingest-service");
/** Modules outside src/ingest-service that the service imports (shared with the gate). */
const SHARED = [join(SRC, "webhook-signatures.ts"), join(SRC, "retry.ts")];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : [join(dir, d.name)]));
}

function serviceFiles(): string[] {
  return [...sourceFiles(SOURCE), ...SHARED];
}

/** Path of a module to import in a child process: ingest-command.js exporting ingestCommand. */
export function compiledIngestCommand(): string {
  const hash = createHash("sha256");
  for (const f of serviceFiles().sort()) hash.update(f).update(readFileSync(f));
  const out = join(ROOT, "node_modules/.cache/release-gate-ingest-test", hash.digest("hex").slice(0, 16));
  const entry = join(out, "ingest-service/ingest-command.js");
  if (existsSync(join(out, "ready"))) return entry;

  const tmp = `${out}.tmp-${process.pid}`;
  try {
    build(tmp);
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(out, "ready"))) throw err; // else another test process built it first
  }
  // Builds of older sources are of no further use.
  const cache = dirname(out);
  for (const d of readdirSync(cache)) {
    if (d !== basename(out) && !d.includes(".tmp-")) rmSync(join(cache, d), { recursive: true, force: true });
  }
  return entry;
}

function build(tmp: string): void {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "ingest-service"), { recursive: true });
  // Transpile only (type-checking is tsc's job, run separately): a second instead of tsc's ten.
  for (const file of serviceFiles().filter((f) => f.endsWith(".ts"))) {
    const js = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    }).outputText;
    const target = join(tmp, relative(SRC, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  cpSync(join(SOURCE, "commands"), join(tmp, "ingest-service/commands"), { recursive: true });
  cpSync(join(SOURCE, "migrations"), join(tmp, "ingest-service/migrations"), { recursive: true });
  writeFileSync(join(tmp, "package.json"), '{"type":"module"}\n');
  writeFileSync(join(tmp, "ready"), "");
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
