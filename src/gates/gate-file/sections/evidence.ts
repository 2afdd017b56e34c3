// `evidence:` which items of the evidence catalogue a run's bundle holds.

import { EVIDENCE_ITEM_IDS } from "../../evidence/index.js";
import { oneOf } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";

export function readEvidence(r: GateReader, entry: Entry | undefined): string[] | undefined {
  const items = r.sequence(entry, "evidence", `a list of evidence items: ${EVIDENCE_ITEM_IDS.join(", ")}`);
  if (!items) return undefined;
  if (items.length === 0) {
    r.problem(entry!.value ?? entry!.key, "evidence", `no evidence items; expected some of ${EVIDENCE_ITEM_IDS.join(", ")}`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const path = `evidence[${i}]`;
    const v = r.value({ key: item, value: item }, path, oneOf(EVIDENCE_ITEM_IDS));
    if (v === undefined) ok = false;
    else if (out.includes(v)) {
      r.problem(item, path, `"${v}" is listed twice; expected each evidence item once`);
      ok = false;
    } else out.push(v);
  });
  return ok ? out : undefined;
}
