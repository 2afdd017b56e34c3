// `gate validate FILE...`: checks gate files against the schema without running anything, so a
// broken gate is caught in review (or CI) rather than at 02:00 when the replay should start.

import { formatProblem, GateDefinitionError, loadGate } from "../gates/gate-file/index.js";
import { type Gate, formatCountShort, formatRate } from "../gates/model/index.js";

const HELP = `gate validate FILE...: check gate files against the schema without running anything

Usage:
  gate validate gates/gate-a.yaml [gates/gate-b.yaml ...]

Prints "FILE: valid (...)" for a valid file, or every problem as "FILE:LINE:COL: path: message".
\${NAME} references are read from the environment, as "gate run" would read them.
Exit codes: 0 every file is valid, 2 a file is invalid or unreadable.`;

export interface ValidateOutput {
  log(line: string): void;
  error(line: string): void;
}

/** "gate gate-a, 3 phases: smoke 1k@500/s, load 5k@1000/s, final 30k@1000/s" */
export function describeGate(gate: Gate): string {
  const phases = gate.phases.map((p) => `${p.name} ${formatCountShort(p.requests)}@${formatRate(p.rate)}`).join(", ");
  return `gate ${gate.name}, ${gate.phases.length} phase${gate.phases.length === 1 ? "" : "s"}: ${phases}`;
}

export async function validateCommand(
  args: string[],
  out: ValidateOutput = { log: (l) => console.log(l), error: (l) => console.error(l) },
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    out.log(HELP);
    return 0;
  }
  const unknown = args.filter((a) => a.startsWith("-"));
  if (unknown.length) {
    out.error(`gate validate: unknown option ${unknown[0]}. Run "gate validate --help" for usage.`);
    return 2;
  }
  if (args.length === 0) {
    out.error(`gate validate: no gate file given; expected e.g. "gate validate gates/gate-a.yaml".`);
    return 2;
  }
  let code = 0;
  for (const file of args) {
    try {
      out.log(`${file}: valid (${describeGate(loadGate(file, env))})`);
    } catch (err) {
      if (!(err instanceof GateDefinitionError)) throw err;
      for (const p of err.problems) out.error(formatProblem(p));
      out.error(`${file}: invalid (${err.problems.length} problem${err.problems.length === 1 ? "" : "s"})`);
      code = 2;
    }
  }
  return code;
}
