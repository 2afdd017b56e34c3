// lost_events: events the service accepted that are not in the database after the drain.

import { formatCount, formatMs } from "../../model/index.js";
import { barText, COUNT_BAR, countResult, stated, unmeasured, type SloDefinition } from "./slo.js";

export const lostEvents: SloDefinition<"lost_events"> = stated("lost_events", {
  ...COUNT_BAR,
  evaluate(s, m, _gate, phase) {
    const d = m.database;
    if (!d) return unmeasured(s.name, barText(s), "no database confirmation");
    const lost = d.lostEvents.length;
    const drained = m.drainMs !== null;
    const timeout = `the queue did not drain within ${formatMs(phase.drainTimeoutMs)}`;
    if (!drained && lost <= s.bar) return unmeasured(s.name, barText(s), `${timeout}, so events still queued cannot be confirmed stored`);
    return countResult(
      s,
      lost,
      `${formatCount(lost)} accepted events not in the database${drained ? "" : `; ${timeout}`}${lost ? `; first: ${d.lostEvents[0]}` : ""}`,
    );
  },
});
