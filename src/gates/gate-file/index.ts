// The gate file: read, checked against its schema, and turned into the typed Gate. The one door into
// this room; everything else here is how a part of the file is read.

export { DEFAULT_EVIDENCE_BASE } from "./schema.js";
export { referencedEnv, substituteEnv } from "./env-substitution.js";
export { PhaseSelectionError, phasesUpTo } from "./sections/phases.js";
export { formatProblem, GateDefinitionError, type GateProblem } from "./problems.js";
export { loadGate, MAX_GATE_FILE_BYTES, parseGate } from "./read-gate.js";
