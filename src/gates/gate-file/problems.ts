// What a gate file got wrong: each problem with the file, line and column that would fix it.

export interface GateProblem {
  file: string;
  /** 1-based; 0 when the problem is with the file as a whole (it could not be read). */
  line: number;
  column: number;
  /** Where in the gate: "phases[2].latency_p95", "" for the file itself. */
  path: string;
  /** What is wrong; what was expected. */
  message: string;
}

/** "file:line:col: path: what is wrong; expected ..." */
export function formatProblem(p: GateProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export class GateDefinitionError extends Error {
  readonly code = "GATE_INVALID";
  readonly problems: GateProblem[];
  constructor(problems: GateProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "GateDefinitionError";
    this.problems = problems;
  }
}
