// Reads a gate file (gates/gate-a.yaml) into the typed Gate, checking it against the schema and
// reporting every problem with the file, line and column that would fix it.

import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument, type Node } from "yaml";
import type { Gate, Slo } from "../model/index.js";
import { comparison, SLO_NAMES } from "../verdict/index.js";
import { readBaseline } from "./sections/baseline.js";
import { readCommands } from "./sections/commands.js";
import { oneOf } from "./converters.js";
import { readCorpus } from "./sections/corpus.js";
import { cron } from "./cron.js";
import { readEnvironments } from "./sections/environments.js";
import { readEvidence } from "./sections/evidence.js";
import { GateReader, type Entry } from "./gate-reader.js";
import { readPhases } from "./sections/phases.js";
import { GateDefinitionError, type GateProblem } from "./problems.js";
import { readMergeQueue, readPromotion } from "./sections/promotion.js";
import { TOP_KEYS } from "./schema.js";
import { readReplay } from "./sections/replay.js";
import { readSignoff } from "./sections/signoff.js";
import { readTarget } from "./sections/target.js";
import { readWarRoomSettings } from "./sections/war-room.js";
import { readAttempts } from "./sections/attempts.js";

/** Gate files are a page or two; anything bigger is a mistake or an attack. */
export const MAX_GATE_FILE_BYTES = 256 * 1024;

/** Parses and validates gate text. `env` feeds `${VAR}` substitution (process.env when omitted). */
export function parseGate(text: string, file: string, env?: Record<string, string | undefined>): Gate {
  return readGate(text, file, env ?? process.env, undefined);
}

/** Reads a gate file; source.sha256 is over its bytes, so an attestation names exactly this file. */
export function loadGate(file: string, env?: Record<string, string | undefined>): Gate {
  let bytes: Buffer;
  try {
    const size = statSync(file).size;
    if (size > MAX_GATE_FILE_BYTES) throw new GateDefinitionError([tooBig(file, size)]);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof GateDefinitionError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a directory" : e.message;
    throw new GateDefinitionError([
      { file, line: 0, column: 0, path: "", message: `cannot read the gate file (${why}); expected a path such as gates/gate-a.yaml` },
    ]);
  }
  const base = dirname(resolve(file));
  const gate = readGate(bytes.toString("utf8"), file, env ?? process.env, (p) => existsSync(resolve(base, p)));
  gate.source = { file, sha256: createHash("sha256").update(bytes).digest("hex") };
  return gate;
}

function tooBig(file: string, size: number): GateProblem {
  return {
    file,
    line: 1,
    column: 1,
    path: "",
    message: `the file is ${size} bytes; expected a gate file of at most ${MAX_GATE_FILE_BYTES} bytes`,
  };
}

function readGate(
  text: string,
  file: string,
  env: Record<string, string | undefined>,
  fileExists: ((relative: string) => boolean) | undefined,
): Gate {
  const size = Buffer.byteLength(text, "utf8");
  if (size > MAX_GATE_FILE_BYTES) throw new GateDefinitionError([tooBig(file, size)]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    keepSourceTokens: true,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const reader = new GateReader(file, lineCounter, doc, env, fileExists);
  for (const e of doc.errors) reader.problemAt(e.pos[0], "", yamlMessage(e.code, e.message));
  // After a syntax error the tree is a guess; reading it would bury the real problem under echoes.
  const structural = doc.errors.some((e) => e.code !== "DUPLICATE_KEY");
  const gate = structural ? undefined : readTop(reader, doc.contents as Node | null);
  if (reader.problems.length || !gate) throw new GateDefinitionError(reader.sorted());
  gate.source = { file, sha256: createHash("sha256").update(text, "utf8").digest("hex") };
  return gate;
}

function yamlMessage(code: string, message: string): string {
  const msg = message.replace(/ at line \d+, column \d+[\s\S]*$/, "");
  if (code === "DUPLICATE_KEY") return `this key appears twice in the same mapping; expected each key once`;
  if (/header includes extra characters: [<>]=/.test(msg)) {
    return `YAML syntax: ${msg}; expected a quoted comparison such as ">= 99.9%" (a leading ">" starts a block of text in YAML)`;
  }
  return `YAML syntax: ${msg}`;
}

/** The gate from the document's root, or undefined when the reader recorded why not. */
function readTop(r: GateReader, root: Node | null): Gate | undefined {
  if (r.isEmpty(root)) {
    r.problemAt(
      0,
      "",
      `the file is empty; expected a gate: a mapping with keys ${[...TOP_KEYS.required, ...TOP_KEYS.optional].join(", ")}`,
    );
    return undefined;
  }
  const top = r.mapping({ key: root!, value: root }, "", TOP_KEYS, "the gate file");
  if (!top) return undefined;
  const get = (k: string) => top.entries.get(k);
  const str = (k: string, pattern?: RegExp, expected?: string) => r.text(get(k), k, pattern, expected);
  r.allowedEnv = r.envAllowList(get("env"));

  const name = str("gate", /^[a-z][a-z0-9-]{0,62}$/, "a lowercase name such as gate-a");
  const title = str("title");
  const application = str("application");
  const dri = str("dri");
  const statusOwner = get("status_owner") ? str("status_owner") : dri;
  const target = readTarget(r, get("target"));
  const slos = readObjectives(r, get("objectives"));
  const baseline = readBaseline(r, get("baseline"), slos, get("objectives"));
  const phases = readPhases(r, get("phases"));
  const corpus = readCorpus(r, get("corpus"));
  const evidence = readEvidence(r, get("evidence"));
  const signoff = readSignoff(r, get("signoff"));
  const command = readCommands(r, get("commands"), name);
  const schedule = get("schedule") ? r.value(get("schedule")!, "schedule", cron) : undefined;
  const partialRuns = get("partial_runs") ? r.value(get("partial_runs")!, "partial_runs", oneOf(["PARTIAL", "PASS"] as const)) : undefined;
  const warRoom = readWarRoomSettings(r, top.entries, target);
  const attempts = get("attempts") ? readAttempts(r, get("attempts")!) : undefined;

  if (
    name === undefined ||
    title === undefined ||
    application === undefined ||
    dri === undefined ||
    statusOwner === undefined ||
    !target ||
    !slos ||
    !phases ||
    !corpus ||
    !evidence ||
    !signoff ||
    !command ||
    (get("schedule") && schedule === undefined) ||
    (get("partial_runs") && partialRuns === undefined) ||
    (get("attempts") && attempts === undefined) ||
    (get("baseline") && baseline === undefined) ||
    !warRoom
  ) {
    return undefined;
  }
  const gate: Gate = {
    name,
    title,
    application,
    dri,
    statusOwner,
    target,
    slos,
    phases,
    corpus,
    evidence,
    signoff,
    command,
    source: { file: r.file, sha256: "" },
  };
  if (schedule !== undefined) gate.schedule = schedule;
  if (partialRuns !== undefined) gate.partialRuns = partialRuns;
  if (attempts) gate.attempts = attempts;
  if (baseline !== undefined) gate.baseline = baseline;
  const environments = get("environments") ? readEnvironments(r, get("environments")!, target) : undefined;
  const promotion = get("promotion") ? readPromotion(r, get("promotion")!, environments) : undefined;
  const mergeQueue = get("merge_queue") ? readMergeQueue(r, get("merge_queue")!, phases) : undefined;
  const replay = get("replay") ? readReplay(r, get("replay")!) : undefined;
  if (
    (get("environments") && !environments) ||
    (get("promotion") && !promotion) ||
    (get("merge_queue") && !mergeQueue) ||
    (get("replay") && !replay)
  )
    return undefined;
  if (replay) gate.replay = replay;
  if (environments) gate.environments = environments;
  if (promotion) gate.promotion = promotion;
  if (mergeQueue) gate.mergeQueue = mergeQueue;
  Object.assign(gate, warRoom);
  return gate;
}

/** The objectives the gate states, each optional, in the catalogue's order; an unknown name is refused by mapping(). */
function readObjectives(r: GateReader, entry: Entry | undefined): Slo[] | undefined {
  const m = r.mapping(entry, "objectives", { required: [], optional: SLO_NAMES }, "the objectives");
  if (!m) return undefined;
  const stated = SLO_NAMES.filter((name) => m.entries.has(name));
  const slos = stated.flatMap((name) => {
    const slo = r.value(m.entries.get(name), `objectives.${name}`, comparison(name));
    return slo ? [{ name, ...slo }] : [];
  });
  return slos.length === stated.length ? slos : undefined;
}
