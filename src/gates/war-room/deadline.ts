// The war room's clock: a gate's deadline ("18:00 Europe/Berlin", or "5h" after the command), the
// "TIME TO DEADLINE" every update carries, and the STATUS it forces as the deadline nears and passes.
// Pure: the anchor (when the command was given) and "now" are passed in.

import { type Status, type WarRoomUpdate, parseDuration, type Deadline } from "../model/index.js";
export type { Deadline, WarRoomCadence } from "../model/index.js";

/** A YELLOW warning this long before the deadline at most (or a quarter of the window, if shorter). */
export const DEADLINE_WARNING_MS = 30 * 60_000;

const EXPECTED = `expected a time of day with its zone such as "18:00 UTC" or "18:00 Europe/Berlin", or a duration after the command such as 5h or 90min`;

/** `"18:00 UTC"`, `"09:30 Europe/Berlin"`, `5h`, `90min`: throws with what was expected. */
export function parseDeadline(raw: unknown): Deadline {
  if (typeof raw !== "string" || raw.trim() === "") throw new Error(`${JSON.stringify(raw)} is not a deadline; ${EXPECTED}`);
  const text = raw.trim();
  const tod = /^(\d{1,2}):(\d{2})\s+(\S+)$/.exec(text);
  if (tod) {
    const hour = Number(tod[1]);
    const minute = Number(tod[2]);
    const zone = tod[3]!;
    if (hour > 23 || minute > 59) throw new Error(`"${text}" is not a time of day; ${EXPECTED}`);
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
    } catch {
      throw new Error(`"${zone}" is not a time zone; expected UTC or an IANA zone such as Europe/Berlin or America/New_York`);
    }
    return { kind: "time_of_day", hour, minute, zone, display: text };
  }
  if (/^\d{1,2}:\d{2}$/.test(text)) throw new Error(`"${text}" names no time zone; expected "${text} UTC" or "${text} Europe/Berlin"`);
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new Error(`${(err as Error).message}; or ${EXPECTED}`, { cause: err });
  }
  if (ms < 1000) throw new Error(`"${text}" is too short; ${EXPECTED}`);
  if (ms > 7 * 24 * 3600_000) throw new Error(`"${text}" is more than a week away; ${EXPECTED}`);
  return { kind: "after", ms, display: text };
}

/** Milliseconds `zone` is ahead of UTC at instant `at`. */
function zoneOffsetMs(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant of the deadline for a command given at `anchor`. */
export function deadlineInstant(d: Deadline, anchor: Date): Date {
  if (d.kind === "after") return new Date(anchor.getTime() + d.ms);
  const local = new Date(anchor.getTime() + zoneOffsetMs(d.zone, anchor));
  for (let day = 0; day <= 2; day++) {
    const wall = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + day, d.hour, d.minute);
    // Two passes settle the offset across a daylight-saving change.
    let t = wall - zoneOffsetMs(d.zone, new Date(wall));
    t = wall - zoneOffsetMs(d.zone, new Date(t));
    if (t >= anchor.getTime()) return new Date(t);
  }
  throw new Error(`no ${d.display} after ${anchor.toISOString()}`);
}

/** "5 hours 30 minutes", "12 minutes", "40 seconds": how the war room writes time left. */
export function formatTimeLeft(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const totalMinutes = Math.floor(s / 60);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  const hours = h ? `${h} hour${h === 1 ? "" : "s"}` : "";
  const minutes = m || !h ? `${m} minute${m === 1 ? "" : "s"}` : "";
  return [hours, minutes].filter(Boolean).join(" ");
}

export interface DeadlineReading {
  /** What TIME TO DEADLINE says. */
  text: string;
  /** GREEN with time to spare, YELLOW near it, RED past it. */
  status: Status;
  remainingMs: number;
}

/**
 * Where a run stands against its deadline. YELLOW within the warning window: the last 30 minutes, or the
 * last quarter of the time from command to deadline when that is shorter (a 20-minute deadline warns
 * with 5 minutes left, not from the start). RED once it has passed.
 */
export function readDeadline(d: Deadline, anchor: Date, now: Date): DeadlineReading {
  const at = deadlineInstant(d, anchor);
  const remainingMs = at.getTime() - now.getTime();
  const window = Math.min(DEADLINE_WARNING_MS, (at.getTime() - anchor.getTime()) / 4);
  const when = `${String(at.getUTCHours()).padStart(2, "0")}:${String(at.getUTCMinutes()).padStart(2, "0")} UTC`;
  if (remainingMs <= 0) return { text: `0 (deadline ${when} passed ${formatTimeLeft(-remainingMs)} ago)`, status: "RED", remainingMs };
  return { text: `${formatTimeLeft(remainingMs)} (deadline ${when})`, status: remainingMs <= window ? "YELLOW" : "GREEN", remainingMs };
}

const SEVERITY: Record<Status, number> = { GREEN: 0, YELLOW: 1, RED: 2 };

/** The graver of two statuses: a run on track but past its deadline is RED. */
export function worstStatus(a: Status, b: Status): Status {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/**
 * An update as the war room's clock sees it: TIME TO DEADLINE added, STATUS no better than the deadline
 * allows, and the escalation list on the first RED update of a run (`escalated` says one went out).
 */
export function onTheClock(
  gate: { deadline?: Deadline; escalation?: string[] },
  u: WarRoomUpdate,
  anchor: Date,
  escalated: boolean,
): WarRoomUpdate {
  let out = u;
  if (gate.deadline) {
    const reading = readDeadline(gate.deadline, anchor, new Date(u.time));
    out = { ...out, timeToDeadline: reading.text, status: worstStatus(out.status, reading.status) };
  }
  if (out.status === "RED" && gate.escalation?.length && !escalated) out = { ...out, escalation: [...gate.escalation] };
  return out;
}
