// `promotion:` the environments a GO promotes through, in order; `merge_queue:` the phases a merge group runs.

import type { GuardedEnvironment, MergeQueuePolicy, Phase } from "../../model/index.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { nearest } from "../suggestions.js";

export function readPromotion(r: GateReader, entry: Entry, environments: GuardedEnvironment[] | undefined): string[] | undefined {
  const items = r.sequence(
    entry,
    "promotion",
    "the promotion stages after GO, in order: environment names such as [canary-10, production]",
  );
  if (!items) return undefined;
  if (items.length === 0) {
    r.problem(entry.value ?? entry.key, "promotion", "no stages; expected at least one environment name");
    return undefined;
  }
  const names = (environments ?? []).map((e) => e.name);
  const out: string[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const path = `promotion[${i}]`;
    const stage = r.value({ key: item, value: item }, path, (raw) => {
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
      r.problem(item, path, `"${stage}" is listed twice; expected each stage once`);
      ok = false;
    } else out.push(stage);
  });
  if (!ok) return undefined;
  const first = environments?.find((e) => e.name === out[0]);
  if (first?.soakMs !== undefined) {
    r.problem(
      items[0],
      "promotion[0]",
      `the first stage, ${first.name}, has a soak but no stage before it to soak after; expected soak only on later stages`,
    );
    return undefined;
  }
  return out;
}

export function readMergeQueue(r: GateReader, entry: Entry, phases: Phase[]): MergeQueuePolicy | undefined {
  const words = [...phases.flatMap((p) => [p.name, ...p.aliases]), "all"];
  const selector = r.value(entry, "merge_queue", (raw) => {
    const s = typeof raw === "number" ? String(raw) : raw;
    if (s === "not_required") return null;
    if (typeof s === "string" && words.some((w) => w.toLowerCase() === s.toLowerCase())) return s;
    throw new Error(
      `${JSON.stringify(raw)} is not a phase; expected one of ${words.join(", ")} (what a merge group runs), or not_required`,
    );
  });
  return selector === undefined ? undefined : { selector };
}
