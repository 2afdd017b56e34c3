// `replay:` how many runners drive each phase (shards/), e.g. `replay: { runners: 3 }`.

import type { ReplaySpec } from "../../model/index.js";
import { countIn, durationIn } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { REPLAY_KEYS } from "../schema.js";

export function readReplay(r: GateReader, entry: Entry): ReplaySpec | undefined {
  const m = r.mapping(entry, "replay", REPLAY_KEYS, "how the phases are driven, such as { runners: 3 }");
  if (!m) return undefined;
  const runners = r.value(m.entries.get("runners"), "replay.runners", countIn(1, 256));
  const leadMs = m.entries.get("lead") ? r.value(m.entries.get("lead")!, "replay.lead", durationIn(1000, 600_000)) : undefined;
  const clockBoundMs = m.entries.get("clock_bound")
    ? r.value(m.entries.get("clock_bound")!, "replay.clock_bound", durationIn(0.001, 1000))
    : undefined;
  if (
    runners === undefined ||
    (m.entries.get("lead") && leadMs === undefined) ||
    (m.entries.get("clock_bound") && clockBoundMs === undefined)
  )
    return undefined;
  return { runners, ...(leadMs !== undefined ? { leadMs } : {}), ...(clockBoundMs !== undefined ? { clockBoundMs } : {}) };
}
