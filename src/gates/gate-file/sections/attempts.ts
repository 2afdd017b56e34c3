// `attempts:` in a gate file: how many runs one commit may have and how they combine into a GO, declared
// before any run. `{ max: 3, rule: alpha_spending }` (the default) or `{ max: 4, rule: consecutive_passes, passes: 2 }`.

import type { AttemptRule } from "../../model/index.js";
import { countIn, oneOf } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";

export const ATTEMPT_KEYS = { required: ["max", "rule"], optional: ["passes", "alpha"] } as const;
export const ATTEMPT_RULES = ["alpha_spending", "consecutive_passes"] as const;

/** The total one-sided alpha an alpha_spending rule spends: a share strictly between 0 and 0.5. */
function totalAlpha(raw: unknown): number {
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*[0-9.]+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(n > 0 && n < 0.5))
    throw new Error(`${JSON.stringify(raw)} is not a total alpha; expected a number between 0 and 0.5, such as 0.05`);
  return n;
}

export function readAttempts(r: GateReader, entry: Entry): AttemptRule | undefined {
  const m = r.mapping(entry, "attempts", ATTEMPT_KEYS, "the retry rule");
  if (!m) return undefined;
  const max = r.value(m.entries.get("max"), "attempts.max", countIn(1, 20));
  const rule = r.value(m.entries.get("rule"), "attempts.rule", oneOf(ATTEMPT_RULES));
  if (max === undefined || rule === undefined) return undefined;
  const passesEntry = m.entries.get("passes");
  const alphaEntry = m.entries.get("alpha");
  if (rule === "alpha_spending") {
    if (passesEntry) {
      r.problem(
        passesEntry.key,
        "attempts.passes",
        "only a consecutive_passes rule counts passes; remove it, or set rule: consecutive_passes",
      );
      return undefined;
    }
    const alpha = alphaEntry ? r.value(alphaEntry, "attempts.alpha", totalAlpha) : 0.05;
    if (alpha === undefined) return undefined;
    return { rule, max, alpha, display: `max ${max}, alpha_spending (total alpha ${alpha})` };
  }
  if (alphaEntry) {
    r.problem(
      alphaEntry.key,
      "attempts.alpha",
      "only an alpha_spending rule spends alpha; consecutive PASSes are each judged at the base level",
    );
    return undefined;
  }
  if (!passesEntry) {
    r.problem(
      entry.key,
      "attempts.passes",
      "a consecutive_passes rule needs `passes`: how many consecutive full PASSes make a GO, such as 2",
    );
    return undefined;
  }
  const passes = r.value(passesEntry, "attempts.passes", countIn(1, 20));
  if (passes === undefined) return undefined;
  if (passes > max) {
    r.problem(
      passesEntry.key,
      "attempts.passes",
      `${passes} consecutive PASSes can never happen within max ${max} attempts; expected at most ${max}`,
    );
    return undefined;
  }
  return { rule, max, passes, display: `max ${max}, consecutive_passes (${passes})` };
}
