// Reads a gate file (gates/gate-a.yaml) into the typed Gate, checking it against the schema and
// reporting every problem with the file, line and column that would fix it.

import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type {
  BundledTarget,
  CommandPolicy,
  CorpusSpec,
  DeployedTarget,
  Gate,
  GuardedEnvironment,
  MergeQueuePolicy,
  Phase,
  SignoffPolicy,
  Slo,
  Target,
} from "./gate.js";
import { formatCountShort, formatRate, parseCount, parseDuration, parsePercent, parseRate } from "./units.js";
import { MIN_SAMPLES_FOR_P95_BOUND } from "./statistics.js";
import { parseDeadline } from "./deadline.js";
import { comparison, SLO_NAMES } from "./slos/index.js";
import { parseBytes, type PreflightSpec } from "./preflight.js";
import { EVIDENCE_ITEM_IDS } from "./evidence-items/index.js";
import { SERVER_POSTGRES_POOL, WORKER_POSTGRES_POOL } from "../ingest-service/postgres-pools.js";

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

/** A phase selector that names no phase of the gate. */
export class PhaseSelectionError extends Error {
  readonly code = "PHASE_UNKNOWN";
}

/** Gate files are a page or two; anything bigger is a mistake or an attack. */
export const MAX_GATE_FILE_BYTES = 256 * 1024;
/** Alias dereferences allowed while reading one file: enough for sharing, too few for a "billion laughs". */
const MAX_ALIAS_DEREFS = 100;


const PERMISSIONS = ["admin", "write", "read"] as const;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

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

/**
 * The given phase and every phase before it, since a phase runs only when the earlier ones passed.
 * `selector` is a phase name, an alias ("1k") or "all"; case does not matter.
 */
export function phasesUpTo(gate: Gate, selector: string): Phase[] {
  const wanted = selector.trim().toLowerCase();
  if (wanted === "all") return [...gate.phases];
  const index = gate.phases.findIndex(
    (p) => p.name.toLowerCase() === wanted || p.aliases.some((a) => a.toLowerCase() === wanted),
  );
  if (index < 0) {
    const choices = gate.phases.map((p) => (p.aliases.length ? `${p.name} (${p.aliases.join(", ")})` : p.name));
    throw new PhaseSelectionError(
      `unknown phase "${selector}" for gate ${gate.name}; expected one of ${[...choices, "all"].join(", ")} (in ${gate.source.file})`,
    );
  }
  return gate.phases.slice(0, index + 1);
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
  const gate = structural ? undefined : reader.gate(doc.contents as Node | null);
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

interface Entry {
  key: Node;
  value: Node | null;
}

interface Mapping {
  node: Node;
  entries: Map<string, Entry>;
}

/** Walks the YAML tree, converting as it goes and collecting every problem with its position. */
class GateReader {
  readonly problems: GateProblem[] = [];
  private aliasDerefs = 0;
  /** The variables the file's `env:` allow-list names: the only ones `${VAR}` may read. */
  private allowedEnv = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
    private readonly doc: Document,
    private readonly env: Record<string, string | undefined>,
    private readonly fileExists: ((relative: string) => boolean) | undefined,
  ) {}

  problemAt(offset: number, path: string, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, column: col, path, message });
  }

  problem(node: Node | null | undefined, path: string, message: string): void {
    this.problemAt(node?.range?.[0] ?? 0, path, message);
  }

  sorted(): GateProblem[] {
    return [...this.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  gate(root: Node | null): Gate | undefined {
    if (this.isEmpty(root)) {
      this.problemAt(0, "", `the file is empty; expected a gate: a mapping with keys ${[...TOP_KEYS.required, ...TOP_KEYS.optional].join(", ")}`);
      return undefined;
    }
    const top = this.mapping({ key: root!, value: root }, "", TOP_KEYS, "the gate file");
    if (!top) return undefined;
    const get = (k: string) => top.entries.get(k);
    const str = (k: string, pattern?: RegExp, expected?: string) => this.text(get(k), k, pattern, expected);
    this.allowedEnv = this.envAllowList(get("env"));

    const name = str("gate", /^[a-z][a-z0-9-]{0,62}$/, "a lowercase name such as gate-a");
    const title = str("title");
    const application = str("application");
    const dri = str("dri");
    const statusOwner = get("status_owner") ? str("status_owner") : dri;
    const target = this.target(get("target"));
    const slos = this.objectives(get("objectives"));
    const phases = this.phases(get("phases"));
    const corpus = this.corpus(get("corpus"));
    const evidence = this.evidence(get("evidence"));
    const signoff = this.signoff(get("signoff"));
    const command = this.commands(get("commands"), name);
    const schedule = get("schedule") ? this.value(get("schedule")!, "schedule", cron) : undefined;
    const partialRuns = get("partial_runs") ? this.value(get("partial_runs")!, "partial_runs", oneOf(["PARTIAL", "PASS"] as const)) : undefined;
    const warRoom = this.warRoomSettings(top.entries, target);

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
      source: { file: this.file, sha256: "" },
    };
    if (schedule !== undefined) gate.schedule = schedule;
    if (partialRuns !== undefined) gate.partialRuns = partialRuns;
    const environments = get("environments") ? this.environments(get("environments")!, target) : undefined;
    const promotion = get("promotion") ? this.promotion(get("promotion")!, environments) : undefined;
    const mergeQueue = get("merge_queue") ? this.mergeQueue(get("merge_queue")!, phases) : undefined;
    if ((get("environments") && !environments) || (get("promotion") && !promotion) || (get("merge_queue") && !mergeQueue)) return undefined;
    if (environments) gate.environments = environments;
    if (promotion) gate.promotion = promotion;
    if (mergeQueue) gate.mergeQueue = mergeQueue;
    Object.assign(gate, warRoom);
    return gate;
  }

  // ---- environments, promotion stages, merge queue (the gate as a deployment protection rule) ----

  private environments(entry: Entry, gateTarget: Target): GuardedEnvironment[] | undefined {
    const node = this.deref(entry.value);
    const expected = `a mapping from environment name to its rule, such as production: { requires: signoff }`;
    if (this.isEmpty(node)) {
      this.problem(entry.key, "environments", `no environments; expected ${expected}`);
      return undefined;
    }
    if (!isMap(node!)) {
      this.problem(node, "environments", `${this.kindOf(node!)} is not a mapping; expected ${expected}`);
      return undefined;
    }
    const out: GuardedEnvironment[] = [];
    let ok = true;
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const name = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(name)) {
        this.problem(keyNode, "environments", `${JSON.stringify(name)} is not an environment name; expected a GitHub environment name such as production or canary-10`);
        ok = false;
        continue;
      }
      const env = this.environment({ key: keyNode!, value: (pair.value as Node | null) ?? null }, name, gateTarget);
      if (env) out.push(env);
      else ok = false;
    }
    return ok ? out : undefined;
  }

  private environment(entry: Entry, name: string, gateTarget: Target): GuardedEnvironment | undefined {
    const path = `environments.${name}`;
    const m = this.mapping(entry, path, ENVIRONMENT_KEYS, `the environment ${name}`);
    if (!m) return undefined;
    const at = (k: string) => m.entries.get(k);
    const requires = this.value(at("requires"), `${path}.requires`, oneOf(["signoff", "pass", "run"] as const));
    const soakMs = at("soak") ? this.value(at("soak")!, `${path}.soak`, durationIn(0, 7 * 24 * 3_600_000)) : undefined;
    if (requires === undefined || (at("soak") && soakMs === undefined)) return undefined;
    const env: GuardedEnvironment = { name, requires };
    if (soakMs !== undefined) env.soakMs = soakMs;
    if (requires !== "run") {
      let ok = true;
      for (const k of ["target", "credentials", "phase"]) {
        const e = at(k);
        if (!e) continue;
        this.problem(e.key, `${path}.${k}`, `applies only to requires: run (a run of the gate against the environment); expected no ${k} with requires: ${requires}`);
        ok = false;
      }
      return ok ? env : undefined;
    }
    const target = at("target") ? this.environmentTarget(at("target")!, `${path}.target`) : gateTarget.kind === "deployed" ? gateTarget : undefined;
    if (!target) {
      if (!at("target")) {
        this.problem(
          at("requires")!.value,
          `${path}.requires`,
          `requires: run measures the environment's own service, and neither this environment nor the gate names one; expected target: { deployed: { url, database_url } } under ${path}`,
        );
      }
      return undefined;
    }
    env.target = target;
    if (at("credentials")) {
      const c = this.mapping(at("credentials"), `${path}.credentials`, { required: [], optional: ["signing_secret", "bearer_key"] }, "the credentials");
      if (!c) return undefined;
      // Secrets come from ${VARS}; one that is empty where the gate file is read (e.g. by `gate validate`)
      // is simply not there, and a run without the environment's credentials is refused when it is asked for.
      const secret = (pattern: RegExp, expected: string) => (raw: unknown) => {
        if (raw === "" || raw === null) return "";
        if (typeof raw !== "string" || !pattern.test(raw)) throw new Error(`this is not ${expected}`);
        return raw;
      };
      const signingSecret = c.entries.get("signing_secret")
        ? this.value(c.entries.get("signing_secret"), `${path}.credentials.signing_secret`, secret(/^whsec_/, 'a Standard Webhooks secret (whsec_...); expected e.g. "${CANARY_SIGNING_SECRET:-}"'))
        : "";
      const bearerKey = c.entries.get("bearer_key") ? this.value(c.entries.get("bearer_key"), `${path}.credentials.bearer_key`, secret(/^\S+$/, "a bearer key")) : "";
      if (signingSecret === undefined || bearerKey === undefined) return undefined;
      env.credentials = { ...(signingSecret ? { signingSecret } : {}), ...(bearerKey ? { bearerKey } : {}) };
    }
    if (at("phase")) {
      const p = this.mapping(at("phase"), `${path}.phase`, { required: ["requests", "rate", "latency_p95"], optional: ["drain_timeout"] }, "the environment's phase");
      if (!p) return undefined;
      const pat = (k: string) => p.entries.get(k);
      const requests = this.value(pat("requests"), `${path}.phase.requests`, countIn(1, 10_000_000));
      const rate = this.value(pat("rate"), `${path}.phase.rate`, rateIn(100_000));
      const bar = this.value(pat("latency_p95"), `${path}.phase.latency_p95`, comparison("latency_p95"));
      const drainTimeoutMs = pat("drain_timeout") ? this.value(pat("drain_timeout")!, `${path}.phase.drain_timeout`, durationIn(1, 3_600_000)) : DEFAULT_DRAIN_TIMEOUT_MS;
      if (requests === undefined || rate === undefined || bar === undefined || drainTimeoutMs === undefined) return undefined;
      const phaseName = name.toLowerCase().replace(/[^a-z0-9_-]/g, "-").replace(/^[^a-z]+/, "") || "environment";
      env.phase = { name: phaseName.slice(0, 32), aliases: [], requests, rate, latencyP95Ms: bar.bar, drainTimeoutMs };
    }
    return env;
  }

  private environmentTarget(entry: Entry, path: string): DeployedTarget | undefined {
    const m = this.mapping(entry, path, { required: ["deployed"], optional: [] }, "the environment's target");
    if (!m) return undefined;
    const d = this.mapping(m.entries.get("deployed"), `${path}.deployed`, DEPLOYED_KEYS, "the deployed target");
    if (!d) return undefined;
    const at = (k: string) => d.entries.get(k);
    const serviceUrl = this.value(at("url"), `${path}.deployed.url`, url(["http:", "https:"], "https://ingest.example.com"));
    const databaseUrl = this.value(at("database_url"), `${path}.deployed.database_url`, url(["postgres:", "postgresql:"], "postgres://gate@db.example.com:5432/ingest"));
    const schema = at("schema") ? this.text(at("schema"), `${path}.deployed.schema`, /^[a-z_][a-z0-9_]{0,62}$/, "a PostgreSQL schema name such as public") : "public";
    if (serviceUrl === undefined || databaseUrl === undefined || schema === undefined) return undefined;
    return { kind: "deployed", url: serviceUrl, databaseUrl, schema };
  }

  private promotion(entry: Entry, environments: GuardedEnvironment[] | undefined): string[] | undefined {
    const items = this.sequence(entry, "promotion", "the promotion stages after GO, in order: environment names such as [canary-10, production]");
    if (!items) return undefined;
    if (items.length === 0) {
      this.problem(entry.value ?? entry.key, "promotion", "no stages; expected at least one environment name");
      return undefined;
    }
    const names = (environments ?? []).map((e) => e.name);
    const out: string[] = [];
    let ok = true;
    items.forEach((item, i) => {
      const path = `promotion[${i}]`;
      const stage = this.value({ key: item, value: item }, path, (raw) => {
        if (typeof raw !== "string" || !names.includes(raw)) {
          const near = typeof raw === "string" ? nearest(raw, names) : undefined;
          throw new Error(
            `${JSON.stringify(raw)} is not an environment of this gate; expected one of ${names.join(", ") || "(none: add environments: first)"}${near ? ` (did you mean "${near}"?)` : ""}`,
          );
        }
        return raw;
      });
      if (stage === undefined) ok = false;
      else if (out.includes(stage)) {
        this.problem(item, path, `"${stage}" is listed twice; expected each stage once`);
        ok = false;
      } else out.push(stage);
    });
    if (!ok) return undefined;
    const first = environments?.find((e) => e.name === out[0]);
    if (first?.soakMs !== undefined) {
      this.problem(items[0], "promotion[0]", `the first stage, ${first.name}, has a soak but no stage before it to soak after; expected soak only on later stages`);
      return undefined;
    }
    return out;
  }

  private mergeQueue(entry: Entry, phases: Phase[]): MergeQueuePolicy | undefined {
    const words = [...phases.flatMap((p) => [p.name, ...p.aliases]), "all"];
    const selector = this.value(entry, "merge_queue", (raw) => {
      const s = typeof raw === "number" ? String(raw) : raw;
      if (s === "not_required") return null;
      if (typeof s === "string" && words.some((w) => w.toLowerCase() === s.toLowerCase())) return s;
      throw new Error(`${JSON.stringify(raw)} is not a phase; expected one of ${words.join(", ")} (what a merge group runs), or not_required`);
    });
    return selector === undefined ? undefined : { selector };
  }

  private target(entry: Entry | undefined): Target | undefined {
    const m = this.mapping(entry, "target", { required: [], optional: ["bundled", "deployed"] }, "the target");
    if (!m) return undefined;
    const bundled = m.entries.get("bundled");
    const deployed = m.entries.get("deployed");
    if (bundled && deployed) {
      this.problem(deployed.key, "target", `both bundled and deployed are set; expected exactly one of them`);
      return undefined;
    }
    if (!bundled && !deployed) {
      this.problem(
        entry!.key,
        "target",
        `no target; expected "bundled:" (start the bundled ingest service locally) or "deployed:" (the url of a running service)`,
      );
      return undefined;
    }
    if (bundled) {
      const b = this.mapping(bundled, "target.bundled", BUNDLED_KEYS, "the bundled target");
      if (!b) return undefined;
      const at = (k: string) => b.entries.get(k);
      const p = (k: string) => `target.bundled.${k}`;
      const mode = at("mode") ? this.value(at("mode")!, p("mode"), oneOf(["queue", "sync"] as const)) : "queue";
      const workers = at("workers") ? this.value(at("workers")!, p("workers"), countIn(1, 64)) : 2;
      const batchSize = at("batch_size") ? this.value(at("batch_size")!, p("batch_size"), countIn(1, 10_000)) : 50;
      const batchLingerMs = at("batch_linger") ? this.value(at("batch_linger")!, p("batch_linger"), durationIn(0, 10_000)) : 5;
      const redisUrl = this.value(at("redis_url"), p("redis_url"), url(["redis:", "rediss:"], "redis://127.0.0.1:6379"));
      const databaseUrl = this.value(
        at("database_url"),
        p("database_url"),
        url(["postgres:", "postgresql:"], "postgres://postgres@127.0.0.1:5432/postgres"),
      );
      if (
        mode === undefined ||
        workers === undefined ||
        batchSize === undefined ||
        batchLingerMs === undefined ||
        redisUrl === undefined ||
        databaseUrl === undefined
      ) {
        return undefined;
      }
      const t: BundledTarget = { kind: "bundled", mode, workers, batchSize, batchLingerMs, redisUrl, databaseUrl };
      if (at("source")) {
        const source = this.value(at("source")!, p("source"), oneOf(["commit", "installed"] as const));
        if (source === undefined) return undefined;
        t.source = source;
      }
      if (at("build")) {
        const build = this.text(at("build"), p("build"), undefined, "a shell command such as npm ci && npm run build");
        if (build === undefined) return undefined;
        t.build = build;
      }
      return t;
    }
    const d = this.mapping(deployed, "target.deployed", DEPLOYED_KEYS, "the deployed target");
    if (!d) return undefined;
    const at = (k: string) => d.entries.get(k);
    const serviceUrl = this.value(at("url"), "target.deployed.url", url(["http:", "https:"], "https://ingest.example.com"));
    const databaseUrl = this.value(
      at("database_url"),
      "target.deployed.database_url",
      url(["postgres:", "postgresql:"], "postgres://gate@db.example.com:5432/ingest"),
    );
    const schema = at("schema")
      ? this.text(at("schema"), "target.deployed.schema", /^[a-z_][a-z0-9_]{0,62}$/, "a PostgreSQL schema name such as public")
      : "public";
    if (serviceUrl === undefined || databaseUrl === undefined || schema === undefined) return undefined;
    const t: DeployedTarget = { kind: "deployed", url: serviceUrl, databaseUrl, schema };
    return t;
  }

  /** The objectives the gate states, each optional, in the catalogue's order; an unknown name is refused by mapping(). */
  private objectives(entry: Entry | undefined): Slo[] | undefined {
    const m = this.mapping(entry, "objectives", { required: [], optional: SLO_NAMES }, "the objectives");
    if (!m) return undefined;
    const stated = SLO_NAMES.filter((name) => m.entries.has(name));
    const slos = stated.flatMap((name) => {
      const slo = this.value(m.entries.get(name), `objectives.${name}`, comparison(name));
      return slo ? [{ name, ...slo }] : [];
    });
    return slos.length === stated.length ? slos : undefined;
  }

  private phases(entry: Entry | undefined): Phase[] | undefined {
    const items = this.sequence(entry, "phases", "phases in order, each a mapping with name, requests, rate, latency_p95");
    if (!items) return undefined;
    if (items.length === 0) {
      this.problem(entry!.value ?? entry!.key, "phases", "no phases; expected at least one phase");
      return undefined;
    }
    const phases: Phase[] = [];
    const words = new Map<string, string>(); // selector word -> path of the phase that owns it
    let ok = true;
    items.forEach((item, i) => {
      const path = `phases[${i}]`;
      const m = this.mapping({ key: item, value: item }, path, PHASE_KEYS, "a phase");
      if (!m) {
        ok = false;
        return;
      }
      const at = (k: string) => m.entries.get(k);
      const name = this.text(at("name"), `${path}.name`, /^[a-z][a-z0-9_-]{0,31}$/, "a lowercase name such as smoke");
      const aliases = at("aliases") ? this.aliases(at("aliases")!, `${path}.aliases`) : [];
      const requests = this.value(at("requests"), `${path}.requests`, countIn(1, 10_000_000));
      if (requests !== undefined && requests < MIN_SAMPLES_FOR_P95_BOUND) {
        this.problem(
          at("requests")!.value,
          `${path}.requests`,
          `${requests} requests can never PASS latency_p95: under ${MIN_SAMPLES_FOR_P95_BOUND} samples there is no 95% upper bound on P95; expected at least ${MIN_SAMPLES_FOR_P95_BOUND}`,
        );
      }
      const rate = this.value(at("rate"), `${path}.rate`, rateIn(100_000));
      const bar = this.value(at("latency_p95"), `${path}.latency_p95`, comparison("latency_p95"));
      const drainTimeoutMs = at("drain_timeout")
        ? this.value(at("drain_timeout")!, `${path}.drain_timeout`, durationIn(1, 3_600_000))
        : DEFAULT_DRAIN_TIMEOUT_MS;
      for (const [word, node, wordPath] of [
        [name, at("name")?.value, `${path}.name`],
        ...(aliases ?? []).map((a, j) => [a, this.seqItem(at("aliases")!, j), `${path}.aliases[${j}]`] as const),
      ] as const) {
        if (word === undefined) continue;
        const lower = word.toLowerCase();
        if (lower === "all") {
          this.problem(node, wordPath, `"all" is reserved (it selects every phase); expected another word`);
          ok = false;
        } else if (words.has(lower)) {
          this.problem(node, wordPath, `"${word}" already selects ${words.get(lower)}; expected names and aliases unique across phases`);
          ok = false;
        } else {
          words.set(lower, path);
        }
      }
      if (
        name === undefined ||
        aliases === undefined ||
        requests === undefined ||
        rate === undefined ||
        bar === undefined ||
        drainTimeoutMs === undefined
      ) {
        ok = false;
        return;
      }
      phases.push({ name, aliases, requests, rate, latencyP95Ms: bar.bar, drainTimeoutMs });
    });
    return ok ? phases : undefined;
  }

  private aliases(entry: Entry, path: string): string[] | undefined {
    const items = this.sequence(entry, path, `a list such as [1k]`);
    if (!items) return undefined;
    const out: string[] = [];
    let ok = true;
    items.forEach((item, j) => {
      const a = this.value({ key: item, value: item }, `${path}[${j}]`, (raw) => {
        const s = typeof raw === "number" ? String(raw) : raw;
        if (typeof s !== "string" || !/^[a-z0-9][a-z0-9_.-]{0,31}$/i.test(s)) {
          throw new Error(`${JSON.stringify(raw)} is not a usable alias; expected a short word such as 1k`);
        }
        return s;
      });
      if (a === undefined) ok = false;
      else out.push(a);
    });
    return ok ? out : undefined;
  }

  private corpus(entry: Entry | undefined): CorpusSpec | undefined {
    const m = this.mapping(entry, "corpus", CORPUS_KEYS, "the corpus");
    if (!m) return undefined;
    const at = (k: string) => m.entries.get(k);
    const fileEntry = at("file");
    if (fileEntry) {
      let ok = true;
      for (const k of ["seed", "ordering_keys", "redelivery_share"]) {
        const e = at(k);
        if (e) {
          this.problem(e.key, `corpus.${k}`, `applies only to the generated corpus, not to a recorded file; expected either file or seed/ordering_keys/redelivery_share`);
          ok = false;
        }
      }
      const file = this.text(fileEntry, "corpus.file", /\S/, "a path to an NDJSON corpus, relative to the gate file");
      if (file !== undefined && this.fileExists && !this.fileExists(file)) {
        this.problem(fileEntry.value, "corpus.file", `"${file}" does not exist; expected a path to an NDJSON corpus, relative to the gate file`);
        ok = false;
      }
      if (!ok || file === undefined) return undefined;
      return { seed: "", orderingKeys: 0, redeliveryShare: 0, file };
    }
    let complete = true;
    for (const k of ["seed", "ordering_keys", "redelivery_share"]) {
      if (!at(k)) {
        this.problem(entry!.key, `corpus.${k}`, `missing required key "${k}"; expected it in the corpus, or "file:" for a recorded corpus`);
        complete = false;
      }
    }
    const seed = this.value(at("seed"), "corpus.seed", (raw) => {
      if ((typeof raw === "string" && raw.trim() !== "") || typeof raw === "number") return String(raw);
      throw new Error(`${JSON.stringify(raw)} is not a seed; expected a word or number such as gate-a-2025-11-13`);
    });
    const orderingKeys = this.value(at("ordering_keys"), "corpus.ordering_keys", countIn(1, 1_000_000));
    const redeliveryShare = this.value(at("redelivery_share"), "corpus.redelivery_share", (raw) => {
      const share = parsePercent(raw);
      if (share >= 1) throw new Error(`${JSON.stringify(raw)} leaves no first deliveries to redeliver; expected under 100%, such as 2%`);
      return share;
    });
    if (!complete || seed === undefined || orderingKeys === undefined || redeliveryShare === undefined) return undefined;
    return { seed, orderingKeys, redeliveryShare };
  }

  private evidence(entry: Entry | undefined): string[] | undefined {
    const items = this.sequence(entry, "evidence", `a list of evidence items: ${EVIDENCE_ITEM_IDS.join(", ")}`);
    if (!items) return undefined;
    if (items.length === 0) {
      this.problem(entry!.value ?? entry!.key, "evidence", `no evidence items; expected some of ${EVIDENCE_ITEM_IDS.join(", ")}`);
      return undefined;
    }
    const out: string[] = [];
    let ok = true;
    items.forEach((item, i) => {
      const path = `evidence[${i}]`;
      const v = this.value({ key: item, value: item }, path, oneOf(EVIDENCE_ITEM_IDS));
      if (v === undefined) ok = false;
      else if (out.includes(v)) {
        this.problem(item, path, `"${v}" is listed twice; expected each evidence item once`);
        ok = false;
      } else out.push(v);
    });
    return ok ? out : undefined;
  }

  private signoff(entry: Entry | undefined): SignoffPolicy | undefined {
    if (!entry) return { approvals: 1, approvers: [], permission: "write", allowSelf: false, evidenceBase: DEFAULT_EVIDENCE_BASE };
    const m = this.mapping(entry, "signoff", SIGNOFF_KEYS, "the sign-off policy");
    if (!m) return undefined;
    const at = (k: string) => m.entries.get(k);
    // A GO needs at least one person: a policy of zero approvals would let a run sign itself off.
    const approvals = at("approvals") ? this.value(at("approvals")!, "signoff.approvals", countIn(1, 20)) : 1;
    const allowSelf = at("allow_self")
      ? this.value(at("allow_self")!, "signoff.allow_self", (raw) => {
          if (typeof raw === "boolean") return raw;
          throw new Error(`${JSON.stringify(raw)} is not true or false; expected false (the requester and the PR's authors may not sign off) or true`);
        })
      : false;
    const evidenceBase = at("evidence_base")
      ? this.text(at("evidence_base"), "signoff.evidence_base", /^(?!\/)(?!.*\.\.)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/, "a branch name such as release-gate/evidence")
      : DEFAULT_EVIDENCE_BASE;
    const permission = at("permission") ? this.value(at("permission")!, "signoff.permission", oneOf(PERMISSIONS)) : "write";
    let approvers: string[] | undefined = [];
    const listEntry = at("approvers");
    if (listEntry) {
      const items = this.sequence(listEntry, "signoff.approvers", `a list of GitHub logins or @org/team names`);
      if (!items) approvers = undefined;
      else {
        items.forEach((item, i) => {
          const who = this.value({ key: item, value: item }, `signoff.approvers[${i}]`, (raw) => {
            if (typeof raw === "string" && /^(@[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+|[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/.test(raw)) return raw;
            throw new Error(`${JSON.stringify(raw)} is not a GitHub login or team; expected a login such as Agent3 or a team such as @acme/release-captains`);
          });
          if (who === undefined) approvers = undefined;
          else approvers?.push(who);
        });
      }
    }
    if (approvals === undefined || permission === undefined || approvers === undefined || allowSelf === undefined || evidenceBase === undefined) return undefined;
    const list: string[] = approvers;
    if (list.length > 0 && !list.some((a) => a.startsWith("@")) && approvals > list.length) {
      this.problem(at("approvals")?.value, "signoff.approvals", `${approvals} approvals can never come from ${list.length} approver(s); expected at most ${list.length}, or more approvers`);
      return undefined;
    }
    return { approvals, approvers: list, permission, allowSelf, evidenceBase };
  }

  private commands(entry: Entry | undefined, gateName: string | undefined): CommandPolicy | undefined {
    if (!entry) return gateName === undefined ? undefined : { prefix: `/${gateName}`, permission: "write" };
    const m = this.mapping(entry, "commands", COMMAND_KEYS, "the command policy");
    if (!m) return undefined;
    const at = (k: string) => m.entries.get(k);
    const prefix = at("prefix")
      ? this.text(at("prefix"), "commands.prefix", /^\/[a-z0-9][a-z0-9-]{0,38}$/, "a slash command such as /gate-a")
      : gateName && `/${gateName}`;
    const permission = at("permission") ? this.value(at("permission")!, "commands.permission", oneOf(PERMISSIONS)) : "write";
    const allowForks = at("allow_forks") ? this.value(at("allow_forks")!, "commands.allow_forks", yesNo) : false;
    if (prefix === undefined || permission === undefined || allowForks === undefined) return undefined;
    return allowForks ? { prefix, permission, allowForks } : { prefix, permission };
  }

  /** The war-room clock and the checks around the phases: updates, deadline, escalation, preflight, capacity. */
  private warRoomSettings(top: Map<string, Entry>, target: Target | undefined): Partial<Gate> | undefined {
    const out: Partial<Gate> = {};
    let ok = true;
    const updates = top.get("updates");
    if (updates) {
      const m = this.mapping(updates, "updates", { required: ["every"], optional: [] }, "the update cadence");
      const everyMs = m ? this.value(m.entries.get("every"), "updates.every", durationIn(1000, 24 * 3_600_000)) : undefined;
      if (everyMs === undefined) ok = false;
      else out.updates = { everyMs, display: String((this.deref(m!.entries.get("every")!.value) as { value?: unknown })?.value) };
    }
    const deadline = top.get("deadline");
    if (deadline) {
      const d = this.value(deadline, "deadline", parseDeadline);
      if (d === undefined) ok = false;
      else out.deadline = d;
    }
    const escalation = top.get("escalation");
    if (escalation) {
      const items = this.sequence(escalation, "escalation", "a list of GitHub logins or @org/team names to mention when the run turns RED");
      const who: string[] = [];
      items?.forEach((item, i) => {
        const w = this.value({ key: item, value: item }, `escalation[${i}]`, githubHandle);
        if (w === undefined) ok = false;
        else who.push(w);
      });
      if (!items) ok = false;
      else if (!items.length) {
        this.problem(escalation.key, "escalation", "the list is empty; expected at least one login or @org/team");
        ok = false;
      } else out.escalation = who;
    }
    const preflight = top.get("preflight");
    if (preflight) {
      const p = this.preflight(preflight, target);
      if (!p) ok = false;
      else out.preflight = p;
    }
    const capacity = top.get("capacity");
    if (capacity) {
      const m = this.mapping(capacity, "capacity", { required: ["duration", "connections"], optional: [] }, "the capacity probe");
      const durationMs = m ? this.value(m.entries.get("duration"), "capacity.duration", durationIn(1000, 600_000)) : undefined;
      const connections = m ? this.value(m.entries.get("connections"), "capacity.connections", countIn(1, 1000)) : undefined;
      if (durationMs === undefined || connections === undefined) ok = false;
      else out.capacity = { durationMs, connections, display: { duration: String((this.deref(m!.entries.get("duration")!.value) as { value?: unknown })?.value) } };
    }
    return ok ? out : undefined;
  }

  private preflight(entry: Entry, target: Target | undefined): PreflightSpec | undefined {
    const m = this.mapping(entry, "preflight", PREFLIGHT_KEYS, "the pre-flight checks");
    if (!m) return undefined;
    const at = (k: string) => m.entries.get(k);
    const spec: PreflightSpec = {};
    let ok = true;
    const redisEntry = at("redis");
    if (redisEntry) {
      const r = this.mapping(redisEntry, "preflight.redis", PREFLIGHT_REDIS_KEYS, "the Redis checks");
      if (!r) ok = false;
      else {
        const got = (k: string) => r.entries.get(k);
        const url_ = got("url") ? this.value(got("url"), "preflight.redis.url", url(["redis:", "rediss:"], "redis://queue.example.com:6379")) : target?.kind === "bundled" ? target.redisUrl : undefined;
        if (!got("url") && target?.kind === "deployed") {
          this.problem(redisEntry.key, "preflight.redis.url", `a deployed target names no Redis; expected url: the Redis the service queues in`);
          ok = false;
        }
        const policy = got("maxmemory_policy")
          ? this.value(got("maxmemory_policy"), "preflight.redis.maxmemory_policy", oneOf(["noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"] as const))
          : undefined;
        const aof = got("aof") ? this.value(got("aof"), "preflight.redis.aof", oneOf(["required", "any"] as const)) : undefined;
        const free = got("free_memory") ? this.value(got("free_memory"), "preflight.redis.free_memory", atLeast(parseBytes, `">= 64MB"`)) : undefined;
        if ((got("url") && url_ === undefined) || (got("maxmemory_policy") && !policy) || (got("aof") && !aof) || (got("free_memory") && !free)) ok = false;
        spec.redis = {
          url: url_,
          ...(policy ? { maxmemoryPolicy: policy } : {}),
          ...(aof ? { aof } : {}),
          ...(free ? { freeMemory: { bytes: free.value, display: free.display } } : {}),
        };
      }
    }
    const pgEntry = at("postgres");
    if (pgEntry) {
      const p = this.mapping(pgEntry, "preflight.postgres", PREFLIGHT_POSTGRES_KEYS, "the PostgreSQL checks");
      if (!p) ok = false;
      else {
        const got = (k: string) => p.entries.get(k);
        const max = got("max_connections") ? this.value(got("max_connections"), "preflight.postgres.max_connections", atLeast((raw) => countIn(1, 1_000_000)(raw), `">= 100"`)) : undefined;
        let poolSize = got("pool_size") ? this.value(got("pool_size"), "preflight.postgres.pool_size", countIn(1, 100_000)) : undefined;
        if (poolSize === undefined && !got("pool_size") && target?.kind === "bundled") poolSize = SERVER_POSTGRES_POOL + target.workers * WORKER_POSTGRES_POOL;
        if (!got("pool_size") && target?.kind === "deployed") {
          this.problem(pgEntry.key, "preflight.postgres.pool_size", `a deployed target's pool is unknown; expected pool_size: the PostgreSQL connections the service opens`);
          ok = false;
        }
        if ((got("max_connections") && !max) || poolSize === undefined) ok = false;
        else spec.postgres = { ...(max ? { maxConnections: { min: max.value, display: max.display } } : {}), poolSize };
      }
    }
    const secretsEntry = at("secrets");
    if (secretsEntry) {
      const items = this.sequence(secretsEntry, "preflight.secrets", "a list of environment variable names such as [WEBHOOK_SIGNING_SECRET]");
      if (!items) ok = false;
      spec.secrets = [];
      items?.forEach((item, i) => {
        const name = this.value({ key: item, value: item }, `preflight.secrets[${i}]`, (raw) => {
          if (typeof raw === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) return raw;
          throw new Error(`${JSON.stringify(raw)} is not an environment variable name; expected a name such as WEBHOOK_SIGNING_SECRET (the name, never the value)`);
        });
        if (name === undefined) ok = false;
        else spec.secrets!.push(name);
      });
    }
    if (at("service_ready")) {
      const ready = this.value(at("service_ready"), "preflight.service_ready", (raw) => {
        if (typeof raw === "boolean") return raw;
        throw new Error(`${JSON.stringify(raw)} is not true or false; expected service_ready: true`);
      });
      if (ready === undefined) ok = false;
      else spec.serviceReady = ready;
    }
    return ok ? spec : undefined;
  }

  // ---- the tree -------------------------------------------------------------------------------

  /** Follows aliases, counting them: one anchor referenced from a referenced anchor is a bomb. */
  private deref(node: Node | null | undefined): Node | null {
    let n = node ?? null;
    while (n && isAlias(n)) {
      if (++this.aliasDerefs > MAX_ALIAS_DEREFS) {
        if (this.aliasDerefs === MAX_ALIAS_DEREFS + 1) {
          this.problem(n, "", `more than ${MAX_ALIAS_DEREFS} alias references; expected a gate file that writes its values out`);
        }
        return null;
      }
      n = (n.resolve(this.doc) as Node | undefined) ?? null;
    }
    return n;
  }

  private isEmpty(node: Node | null): boolean {
    return !node || (isScalar(node) && (node.value === null || node.value === undefined));
  }

  private kindOf(node: Node): string {
    if (isMap(node)) return "a mapping";
    if (isSeq(node)) return "a list";
    if (isScalar(node)) return typeof node.value === "string" ? `the text ${JSON.stringify(node.value)}` : `the ${typeof node.value} ${String(node.value)}`;
    return "something else";
  }

  private mapping(
    entry: Entry | undefined,
    path: string,
    keys: { required: readonly string[]; optional: readonly string[] },
    what: string,
  ): Mapping | undefined {
    if (!entry) return undefined; // reported as missing by the parent mapping
    const allowed = [...keys.required, ...keys.optional];
    const node = this.deref(entry.value);
    if (this.aliasDerefs > MAX_ALIAS_DEREFS) return undefined;
    if (this.isEmpty(node)) {
      this.problem(entry.key, path, `${what} is empty; expected a mapping with keys ${allowed.join(", ")}`);
      return undefined;
    }
    if (!isMap(node!)) {
      this.problem(node, path, `${what} is ${this.kindOf(node!)}; expected a mapping with keys ${allowed.join(", ")}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      const keyPath = (k: string) => (path ? `${path}.${k}` : k);
      if (typeof key !== "string") {
        this.problem(keyNode, path, `a key must be a word; expected one of ${allowed.join(", ")}`);
        continue;
      }
      if (!allowed.includes(key)) {
        const near = nearest(key, allowed);
        this.problem(
          keyNode,
          keyPath(key),
          `unknown key; expected one of ${allowed.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
        );
        continue;
      }
      if (!entries.has(key)) entries.set(key, { key: keyNode!, value: (pair.value as Node | null) ?? null });
    }
    for (const k of keys.required) {
      if (!entries.has(k)) this.problem(path ? entry.key : node, path ? `${path}.${k}` : k, `missing required key "${k}"; expected it in ${what}`);
    }
    return { node, entries };
  }

  private sequence(entry: Entry | undefined, path: string, expected: string): Node[] | undefined {
    if (!entry) return undefined; // reported as missing by the parent mapping
    const node = this.deref(entry.value);
    if (this.aliasDerefs > MAX_ALIAS_DEREFS) return undefined;
    if (this.isEmpty(node)) {
      this.problem(entry.key, path, `no value; expected ${expected}`);
      return undefined;
    }
    if (!isSeq(node!)) {
      this.problem(node, path, `${this.kindOf(node!)} is not a list; expected ${expected}`);
      return undefined;
    }
    return node.items as Node[];
  }

  private seqItem(entry: Entry, index: number): Node | null {
    const node = this.deref(entry.value);
    return node && isSeq(node) ? ((node.items[index] as Node) ?? null) : null;
  }

  /** One scalar, `${VAR}`-substituted if text, converted; undefined (with the problem recorded) if not. */
  private value<T>(entry: Entry | undefined, path: string, convert: (raw: unknown) => T): T | undefined {
    if (!entry) return undefined; // reported as missing by the parent mapping
    const node = this.deref(entry.value);
    if (this.aliasDerefs > MAX_ALIAS_DEREFS) return undefined;
    if (this.isEmpty(node)) {
      this.problem(entry.key, path, `no value; expected one (see the comments at the top of the gate file)`);
      return undefined;
    }
    if (!isScalar(node!)) {
      this.problem(node, path, `found ${this.kindOf(node!)}; expected a single value`);
      return undefined;
    }
    let raw: unknown = node.value;
    if (typeof raw === "string") {
      const names = referencedEnv(raw);
      if (names.length && !ENV_FIELD.test(path)) {
        this.problem(node, path, `\${${names[0]}} is allowed only in URL, schema and credential fields (url, *_url, schema, *secret, *token, *password, *key); write the value itself here`);
        return undefined;
      }
      const unlisted = names.filter((n) => !this.allowedEnv.has(n));
      if (unlisted.length) {
        this.problem(node, path, `\${${unlisted[0]}} is not in the gate file's env: allow-list; add ${unlisted[0]} to env: (a list of variable names at the top level) or write the value itself`);
        return undefined;
      }
      const sub = substituteEnv(raw, Object.fromEntries([...this.allowedEnv].map((n) => [n, this.env[n]])));
      if ("errors" in sub) {
        for (const e of sub.errors) this.problem(node, path, e);
        return undefined;
      }
      raw = sub.value;
    }
    try {
      return convert(raw);
    } catch (err) {
      this.problem(node, path, (err as Error).message);
      return undefined;
    }
  }

  /** `env: [REDIS_URL, DATABASE_URL]`: the variables the file may read; none when absent. */
  private envAllowList(entry: Entry | undefined): Set<string> {
    const names = new Set<string>();
    if (!entry) return names;
    const items = this.sequence(entry, "env", "a list of environment variable names such as REDIS_URL");
    items?.forEach((item, i) => {
      const node = this.deref(item);
      const v = node && isScalar(node) ? node.value : undefined;
      if (typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) names.add(v);
      else this.problem(item, `env[${i}]`, `${JSON.stringify(v ?? null)} is not a variable name; expected a name such as REDIS_URL`);
    });
    return names;
  }

  private text(entry: Entry | undefined, path: string, pattern?: RegExp, expected?: string): string | undefined {
    return this.value(entry, path, (raw) => {
      if (typeof raw !== "string" || raw.trim() === "") {
        throw new Error(`${JSON.stringify(raw)} is not text; expected ${expected ?? "some text"}`);
      }
      if (pattern && !pattern.test(raw)) throw new Error(`${JSON.stringify(raw)} is not valid; expected ${expected}`);
      return raw;
    });
  }
}

const TOP_KEYS = {
  required: ["gate", "title", "application", "dri", "target", "objectives", "phases", "corpus", "evidence"],
  optional: ["status_owner", "signoff", "commands", "schedule", "partial_runs", "environments", "promotion", "merge_queue", "updates", "deadline", "escalation", "preflight", "capacity", "env"],
} as const;

/** Fields where `${VAR}` may appear: URLs, a deployed target's schema and credentials, nothing that decides what PASS means. */
const ENV_FIELD = /(^|\.)(url|schema|[a-z0-9_]*_url|[a-z0-9_]*(secret|token|password|key))$/;
const ENVIRONMENT_KEYS = { required: ["requires"], optional: ["target", "credentials", "phase", "soak"] } as const;
const BUNDLED_KEYS = { required: ["redis_url", "database_url"], optional: ["mode", "workers", "batch_size", "batch_linger", "source", "build"] } as const;
const DEPLOYED_KEYS = { required: ["url", "database_url"], optional: ["schema"] } as const;
const PHASE_KEYS = { required: ["name", "requests", "rate", "latency_p95"], optional: ["aliases", "drain_timeout"] } as const;
const CORPUS_KEYS = { required: [], optional: ["seed", "ordering_keys", "redelivery_share", "file"] } as const;
/** Where evidence PRs go when the gate file names no branch: never the default branch, so approving evidence merges no code. */
export const DEFAULT_EVIDENCE_BASE = "release-gate/evidence";

const SIGNOFF_KEYS = { required: [], optional: ["approvals", "approvers", "permission", "allow_self", "evidence_base"] } as const;
const COMMAND_KEYS = { required: [], optional: ["prefix", "permission", "allow_forks"] } as const;
const PREFLIGHT_KEYS = { required: [], optional: ["redis", "postgres", "secrets", "service_ready"] } as const;
const PREFLIGHT_REDIS_KEYS = { required: [], optional: ["url", "maxmemory_policy", "aof", "free_memory"] } as const;
const PREFLIGHT_POSTGRES_KEYS = { required: [], optional: ["max_connections", "pool_size"] } as const;

/** A GitHub login or an @org/team. */
function githubHandle(raw: unknown): string {
  if (typeof raw === "string" && /^(@[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+|@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/.test(raw)) return raw.replace(/^@(?!.*\/)/, "");
  throw new Error(`${JSON.stringify(raw)} is not a GitHub login or team; expected a login such as Agent3 or a team such as @acme/release-captains`);
}

/** `">= 64MB"`: a lower bar, the value parsed by `parse`, kept as written. */
function atLeast(parse: (raw: unknown) => number, example: string): (raw: unknown) => { value: number; display: string } {
  return (raw) => {
    const m = typeof raw === "string" ? /^\s*>=\s*(\S+)\s*$/.exec(raw) : null;
    if (!m) throw new Error(`${JSON.stringify(raw)} is not a lower bar; expected ">=" and a value, such as ${example}`);
    return { value: parse(m[1]), display: m[1]! };
  };
}

// ---- converters: raw scalar -> value, or throw with what was expected --------------------------

function oneOf<T extends string>(choices: readonly T[]): (raw: unknown) => T {
  return (raw) => {
    if (typeof raw === "string" && (choices as readonly string[]).includes(raw)) return raw as T;
    const near = typeof raw === "string" ? nearest(raw, choices) : undefined;
    throw new Error(`${JSON.stringify(raw)} is not allowed; expected one of ${choices.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`);
  };
}

function yesNo(raw: unknown): boolean {
  if (typeof raw === "boolean") return raw;
  throw new Error(`${JSON.stringify(raw)} is not true or false; expected true or false`);
}

function countIn(min: number, max: number): (raw: unknown) => number {
  return (raw) => {
    const n = parseCount(raw);
    if (n < min) throw new Error(`${JSON.stringify(raw)} is too small; expected at least ${min}`);
    if (n > max) throw new Error(`${JSON.stringify(raw)} is too large; expected at most ${formatCountShort(max)}`);
    return n;
  };
}

function rateIn(maxPerSecond: number): (raw: unknown) => number {
  return (raw) => {
    const r = parseRate(raw);
    if (r > maxPerSecond) throw new Error(`${JSON.stringify(raw)} is more than one driver can offer; expected at most ${formatRate(maxPerSecond)}`);
    return r;
  };
}

function durationIn(minMs: number, maxMs: number): (raw: unknown) => number {
  return (raw) => {
    const ms = parseDuration(raw);
    if (ms < minMs) throw new Error(`${JSON.stringify(raw)} is too short; expected at least ${minMs}ms`);
    if (ms > maxMs) throw new Error(`${JSON.stringify(raw)} is too long; expected at most ${maxMs / 1000}s`);
    return ms;
  };
}

function url(protocols: string[], example: string): (raw: unknown) => string {
  return (raw) => {
    const expected = `expected a ${protocols.map((p) => `${p}//`).join(" or ")} URL such as ${example}`;
    if (typeof raw !== "string") throw new Error(`${JSON.stringify(raw)} is not a URL; ${expected}`);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`${JSON.stringify(raw)} is not a URL; ${expected}`);
    }
    if (!protocols.includes(parsed.protocol)) throw new Error(`"${parsed.protocol}//" is the wrong kind of URL; ${expected}`);
    if (!parsed.hostname) throw new Error(`${JSON.stringify(raw)} names no host; ${expected}`);
    return raw;
  };
}

const CRON_FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

/** Five numeric cron fields, as GitHub Actions' on.schedule takes them (UTC). */
function cron(raw: unknown): string {
  const expected = `expected five cron fields in UTC such as "0 2 * * *" (02:00 every day)`;
  if (typeof raw !== "string") throw new Error(`${JSON.stringify(raw)} is not a schedule; ${expected}`);
  const fields = raw.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`${JSON.stringify(raw)} has ${fields.length} fields; ${expected}`);
  fields.forEach((field, i) => {
    const spec = CRON_FIELDS[i]!;
    for (const part of field.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      const nums = m ? [m[2], m[3]].filter((x): x is string => x !== undefined).map(Number) : [];
      const bad = !m || nums.some((n) => n < spec.min || n > spec.max) || (m[4] !== undefined && Number(m[4]) < 1);
      if (bad) {
        throw new Error(`${JSON.stringify(raw)}: the ${spec.name} field "${part}" is not valid; expected *, */N, N, N-M or lists of them, with N from ${spec.min} to ${spec.max}`);
      }
    }
  });
  return raw.trim();
}

/** The variables a text reads with `${NAME}` or `${NAME:-default}` (a `$${` is a literal, not a reference). */
export function referencedEnv(text: string): string[] {
  const names: string[] = [];
  for (const m of text.replace(/\$\$\{/g, "").matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) if (!names.includes(m[1]!)) names.push(m[1]!);
  return names;
}

/**
 * `${NAME}` and `${NAME:-default}` (default when unset or empty, as in the shell); `$${` is a literal
 * `${`. Substitution happens on parsed values, never on the raw text, so a variable cannot inject YAML.
 */
export function substituteEnv(text: string, env: Record<string, string | undefined>): { value: string } | { errors: string[] } {
  let out = "";
  const errors: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf("}", i + 2);
    if (end < 0) {
      errors.push(`"${text}" has a "\${" with no closing "}"; expected \${NAME} or \${NAME:-default}`);
      break;
    }
    const inner = text.slice(i + 2, end);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
    if (!m) {
      errors.push(`"\${${inner}}" is not a variable reference; expected \${NAME} or \${NAME:-default}`);
    } else {
      const [, name, fallback] = m as unknown as [string, string, string | undefined];
      const v = env[name];
      if (fallback !== undefined) out += v === undefined || v === "" ? fallback : v;
      else if (v === undefined) errors.push(`environment variable ${name} is not set and has no default; set ${name}, or write \${${name}:-default}`);
      else out += v;
    }
    i = end + 1;
  }
  return errors.length ? { errors } : { value: out };
}

/** The allowed word closest to a typo, if it is close enough to be what was meant. */
function nearest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of choices) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
