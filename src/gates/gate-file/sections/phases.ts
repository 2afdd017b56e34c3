// `phases:` the load steps in order, each with its own latency bar; and choosing which of them a run runs.

import type { Gate, Phase } from "../../model/index.js";
import {
  comparison,
  MIN_P95_WINDOWS,
  MIN_SAMPLES_FOR_P95_BOUND,
  MIN_SAMPLES_FOR_WINDOWED_P95,
  MIN_WINDOW_SAMPLES,
} from "../../verdict/index.js";
import { countIn, durationIn, rateIn } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { DEFAULT_DRAIN_TIMEOUT_MS, PHASE_KEYS } from "../schema.js";

/** A phase selector that names no phase of the gate. */
export class PhaseSelectionError extends Error {
  readonly code = "PHASE_UNKNOWN";
}

/**
 * The given phase and every phase before it, since a phase runs only when the earlier ones passed.
 * `selector` is a phase name, an alias ("1k") or "all"; case does not matter.
 */
export function phasesUpTo(gate: Gate, selector: string): Phase[] {
  const wanted = selector.trim().toLowerCase();
  if (wanted === "all") return [...gate.phases];
  const index = gate.phases.findIndex((p) => p.name.toLowerCase() === wanted || p.aliases.some((a) => a.toLowerCase() === wanted));
  if (index < 0) {
    const choices = gate.phases.map((p) => (p.aliases.length ? `${p.name} (${p.aliases.join(", ")})` : p.name));
    throw new PhaseSelectionError(
      `unknown phase "${selector}" for gate ${gate.name}; expected one of ${[...choices, "all"].join(", ")} (in ${gate.source.file})`,
    );
  }
  return gate.phases.slice(0, index + 1);
}

export function readPhases(r: GateReader, entry: Entry | undefined): Phase[] | undefined {
  const items = r.sequence(entry, "phases", "phases in order, each a mapping with name, requests, rate, latency_p95");
  if (!items) return undefined;
  if (items.length === 0) {
    r.problem(entry!.value ?? entry!.key, "phases", "no phases; expected at least one phase");
    return undefined;
  }
  const phases: Phase[] = [];
  const words = new Map<string, string>(); // selector word -> path of the phase that owns it
  let ok = true;
  items.forEach((item, i) => {
    const path = `phases[${i}]`;
    const m = r.mapping({ key: item, value: item }, path, PHASE_KEYS, "a phase");
    if (!m) {
      ok = false;
      return;
    }
    const at = (k: string) => m.entries.get(k);
    const name = r.text(at("name"), `${path}.name`, /^[a-z][a-z0-9_-]{0,31}$/, "a lowercase name such as smoke");
    const aliases = at("aliases") ? readAliases(r, at("aliases")!, `${path}.aliases`) : [];
    const requests = r.value(at("requests"), `${path}.requests`, countIn(1, 10_000_000));
    // A PASS needs both upper bounds: the exact one (72 samples) and the windowed one (200).
    if (requests !== undefined && requests < MIN_SAMPLES_FOR_P95_BOUND) {
      r.problem(
        at("requests")!.value,
        `${path}.requests`,
        `${requests} requests can never PASS latency_p95: under ${MIN_SAMPLES_FOR_P95_BOUND} samples there is no 95% upper bound on P95; expected at least ${MIN_SAMPLES_FOR_WINDOWED_P95}`,
      );
    } else if (requests !== undefined && requests < MIN_SAMPLES_FOR_WINDOWED_P95) {
      r.problem(
        at("requests")!.value,
        `${path}.requests`,
        `${requests} requests can never PASS latency_p95: under ${MIN_SAMPLES_FOR_WINDOWED_P95} samples there is no windowed interval on P95 (${MIN_P95_WINDOWS} windows of ${MIN_WINDOW_SAMPLES}); expected at least ${MIN_SAMPLES_FOR_WINDOWED_P95}`,
      );
    }
    const rate = r.value(at("rate"), `${path}.rate`, rateIn(100_000));
    const bar = r.value(at("latency_p95"), `${path}.latency_p95`, comparison("latency_p95"));
    const drainTimeoutMs = at("drain_timeout")
      ? r.value(at("drain_timeout")!, `${path}.drain_timeout`, durationIn(1, 3_600_000))
      : DEFAULT_DRAIN_TIMEOUT_MS;
    for (const [word, node, wordPath] of [
      [name, at("name")?.value, `${path}.name`],
      ...(aliases ?? []).map((a, j) => [a, r.seqItem(at("aliases")!, j), `${path}.aliases[${j}]`] as const),
    ] as const) {
      if (word === undefined) continue;
      const lower = word.toLowerCase();
      if (lower === "all") {
        r.problem(node, wordPath, `"all" is reserved (it selects every phase); expected another word`);
        ok = false;
      } else if (words.has(lower)) {
        r.problem(node, wordPath, `"${word}" already selects ${words.get(lower)}; expected names and aliases unique across phases`);
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

function readAliases(r: GateReader, entry: Entry, path: string): string[] | undefined {
  const items = r.sequence(entry, path, `a list such as [1k]`);
  if (!items) return undefined;
  const out: string[] = [];
  let ok = true;
  items.forEach((item, j) => {
    const a = r.value({ key: item, value: item }, `${path}[${j}]`, (raw) => {
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
