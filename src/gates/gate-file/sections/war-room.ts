// The war-room clock and the checks around the phases: `updates`, `deadline`, `escalation`, `preflight`, `capacity`.

import type { Gate, Target } from "../../model/index.js";
import { parseDeadline } from "../../war-room/index.js";
import { countIn, durationIn, githubHandle } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { readPreflight } from "./preflight.js";

/** The war-room clock and the checks around the phases: updates, deadline, escalation, preflight, capacity. */
export function readWarRoomSettings(r: GateReader, top: Map<string, Entry>, target: Target | undefined): Partial<Gate> | undefined {
  const out: Partial<Gate> = {};
  let ok = true;
  const updates = top.get("updates");
  if (updates) {
    const m = r.mapping(updates, "updates", { required: ["every"], optional: [] }, "the update cadence");
    const everyMs = m ? r.value(m.entries.get("every"), "updates.every", durationIn(1000, 24 * 3_600_000)) : undefined;
    if (everyMs === undefined) ok = false;
    else out.updates = { everyMs, display: String((r.deref(m!.entries.get("every")!.value) as { value?: unknown })?.value) };
  }
  const deadline = top.get("deadline");
  if (deadline) {
    const d = r.value(deadline, "deadline", parseDeadline);
    if (d === undefined) ok = false;
    else out.deadline = d;
  }
  const escalation = top.get("escalation");
  if (escalation) {
    const items = r.sequence(escalation, "escalation", "a list of GitHub logins or @org/team names to mention when the run turns RED");
    const who: string[] = [];
    items?.forEach((item, i) => {
      const w = r.value({ key: item, value: item }, `escalation[${i}]`, githubHandle);
      if (w === undefined) ok = false;
      else who.push(w);
    });
    if (!items) ok = false;
    else if (!items.length) {
      r.problem(escalation.key, "escalation", "the list is empty; expected at least one login or @org/team");
      ok = false;
    } else out.escalation = who;
  }
  const preflight = top.get("preflight");
  if (preflight) {
    const p = readPreflight(r, preflight, target);
    if (!p) ok = false;
    else out.preflight = p;
  }
  const capacity = top.get("capacity");
  if (capacity) {
    const m = r.mapping(capacity, "capacity", { required: ["duration", "connections"], optional: [] }, "the capacity probe");
    const durationMs = m ? r.value(m.entries.get("duration"), "capacity.duration", durationIn(1000, 600_000)) : undefined;
    const connections = m ? r.value(m.entries.get("connections"), "capacity.connections", countIn(1, 1000)) : undefined;
    if (durationMs === undefined || connections === undefined) ok = false;
    else
      out.capacity = {
        durationMs,
        connections,
        display: { duration: String((r.deref(m!.entries.get("duration")!.value) as { value?: unknown })?.value) },
      };
  }
  return ok ? out : undefined;
}
