// The gates the bot serves: every *.yaml / *.yml in GATES_DIR, so `/gate-a` and `/gate-b` both work.
// Read once at start; a broken gate file stops the bot with the file, line and field to fix.

import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import type { Gate } from "../../gates/model/index.js";
import { GateDefinitionError, loadGate } from "../../gates/gate-file/index.js";

export interface GateCatalog {
  gates: Gate[];
  byName(name: string): Gate | undefined;
  /** The gate file as people see it in the repository (relative to the working directory). */
  fileOf(gate: Gate): string;
}

export class GateCatalogError extends Error {
  constructor(
    readonly code: "no_gates" | "bad_gate" | "duplicate_gate",
    message: string,
  ) {
    super(message);
  }
}

export function gateCatalog(gates: Gate[]): GateCatalog {
  return {
    gates,
    byName: (name) => gates.find((g) => g.name === name),
    fileOf: (g) => relative(process.cwd(), g.source.file) || g.source.file,
  };
}

export function loadGateCatalog(dir: string): GateCatalog {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/i.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch (err) {
    throw new GateCatalogError(
      "no_gates",
      `cannot read GATES_DIR ${dir} (${(err as Error).message}); set GATES_DIR to the folder holding gate-a.yaml`,
    );
  }
  if (files.length === 0)
    throw new GateCatalogError("no_gates", `no *.yaml gate file in ${dir}; set GATES_DIR to the folder holding gate-a.yaml`);
  const gates: Gate[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try {
      gates.push(loadGate(file));
    } catch (err) {
      problems.push(err instanceof GateDefinitionError ? err.message : `${file}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new GateCatalogError("bad_gate", problems.join("\n"));
  for (const [i, g] of gates.entries()) {
    const clash = gates.slice(0, i).find((o) => o.name === g.name || o.command.prefix === g.command.prefix);
    if (clash) {
      throw new GateCatalogError(
        "duplicate_gate",
        `${g.source.file} and ${clash.source.file} both answer to ${clash.name === g.name ? `the gate name "${g.name}"` : `the command ${g.command.prefix}`}; rename one (name: / commands.prefix:)`,
      );
    }
  }
  return gateCatalog(gates);
}
