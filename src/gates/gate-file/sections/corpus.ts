// `corpus:` the webhooks a run replays: generated from a seed, or a recorded NDJSON file beside the gate file.

import { type CorpusSpec, parsePercent } from "../../model/index.js";
import { countIn } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { CORPUS_KEYS } from "../schema.js";

export function readCorpus(r: GateReader, entry: Entry | undefined): CorpusSpec | undefined {
  const m = r.mapping(entry, "corpus", CORPUS_KEYS, "the corpus");
  if (!m) return undefined;
  const at = (k: string) => m.entries.get(k);
  const fileEntry = at("file");
  if (fileEntry) {
    let ok = true;
    for (const k of ["seed", "ordering_keys", "redelivery_share"]) {
      const e = at(k);
      if (e) {
        r.problem(
          e.key,
          `corpus.${k}`,
          `applies only to the generated corpus, not to a recorded file; expected either file or seed/ordering_keys/redelivery_share`,
        );
        ok = false;
      }
    }
    const file = r.text(fileEntry, "corpus.file", /\S/, "a path to an NDJSON corpus, relative to the gate file");
    if (file !== undefined && r.fileExists && !r.fileExists(file)) {
      r.problem(fileEntry.value, "corpus.file", `"${file}" does not exist; expected a path to an NDJSON corpus, relative to the gate file`);
      ok = false;
    }
    if (!ok || file === undefined) return undefined;
    return { seed: "", orderingKeys: 0, redeliveryShare: 0, file };
  }
  let complete = true;
  for (const k of ["seed", "ordering_keys", "redelivery_share"]) {
    if (!at(k)) {
      r.problem(entry!.key, `corpus.${k}`, `missing required key "${k}"; expected it in the corpus, or "file:" for a recorded corpus`);
      complete = false;
    }
  }
  const seed = r.value(at("seed"), "corpus.seed", (raw) => {
    if ((typeof raw === "string" && raw.trim() !== "") || typeof raw === "number") return String(raw);
    throw new Error(`${JSON.stringify(raw)} is not a seed; expected a word or number such as gate-a-2025-11-13`);
  });
  const orderingKeys = r.value(at("ordering_keys"), "corpus.ordering_keys", countIn(1, 1_000_000));
  const redeliveryShare = r.value(at("redelivery_share"), "corpus.redelivery_share", (raw) => {
    const share = parsePercent(raw);
    if (share >= 1) throw new Error(`${JSON.stringify(raw)} leaves no first deliveries to redeliver; expected under 100%, such as 2%`);
    return share;
  });
  if (!complete || seed === undefined || orderingKeys === undefined || redeliveryShare === undefined) return undefined;
  return { seed, orderingKeys, redeliveryShare };
}
