// Values as people write them in gate files ("120ms", "99.9%", "30k", "1000/s") to canonical numbers,
// and back again for verdict tables and war-room updates.

/** A value that could not be read; `message` says what was wrong and what would have been right. */
export class UnitError extends Error {
  readonly code = "UNIT_INVALID";
}

const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)`;

/** Milliseconds per duration unit. */
const DURATION_UNITS: Record<string, number> = {
  us: 0.001,
  µs: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

/** Seconds per rate unit ("/s", "/min", "/h"). */
const RATE_UNITS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600 };

const COUNT_SUFFIXES: Record<string, number> = { "": 1, k: 1_000, K: 1_000, m: 1_000_000, M: 1_000_000 };

/** Shown in errors so the fix is one glance away. */
const DURATION_EXAMPLES = `such as "250us", "120ms", "2s", "1.5s", "5min"`;

/**
 * "120 ms", "99.9 %", "1000 / s" are refused with the compact spelling as the fix: one spelling per
 * value keeps gate files uniform and their values identical to what the verdict tables print.
 */
function refuseSpaces(text: string, parse: (v: string) => number): void {
  if (!/\s/.test(text)) return;
  const compact = text.replace(/\s+/g, "");
  let fixable = true;
  try {
    parse(compact);
  } catch {
    fixable = false;
  }
  if (fixable) throw new UnitError(`${JSON.stringify(text)} contains spaces; expected "${compact}"`);
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Rounds away binary noise (99.9 / 100 = 0.9990000000000001) so bars compare as written. */
function clean(n: number): number {
  return Number(n.toPrecision(12));
}

/**
 * "120ms" -> 120, "2s" -> 2000, "250us" -> 0.25. The unit is required and written against the
 * number: "120 ms" is refused (with the fix) so every gate file spells durations one way.
 */
export function parseDuration(value: unknown): number {
  if (typeof value === "number") {
    throw new UnitError(`${value} has no unit; expected a duration ${DURATION_EXAMPLES}`);
  }
  if (typeof value !== "string") {
    throw new UnitError(`${describe(value)} is not a duration; expected ${DURATION_EXAMPLES}`);
  }
  const text = value.trim();
  refuseSpaces(text, parseDuration);
  const m = new RegExp(`^(${NUMBER})([a-zµ]*)$`).exec(text);
  if (!m) throw new UnitError(`${describe(value)} is not a duration; expected ${DURATION_EXAMPLES}`);
  const [, num, unit] = m as unknown as [string, string, string];
  if (unit === "") throw new UnitError(`${describe(value)} has no unit; expected ${DURATION_EXAMPLES}`);
  const scale = DURATION_UNITS[unit];
  if (scale === undefined) {
    throw new UnitError(`${describe(value)} has an unknown unit "${unit}"; expected one of ${Object.keys(DURATION_UNITS).join(", ")}`);
  }
  const n = Number(num);
  if (n < 0) throw new UnitError(`${describe(value)} is negative; expected a duration of 0 or more`);
  return clean(n * scale);
}

/** "99.9%" -> 0.999, "0.10%" -> 0.001. The % sign is required: a bare 0.1 could mean 10% or 0.1%. */
export function parsePercent(value: unknown): number {
  if (typeof value === "number") {
    throw new UnitError(`${value} has no % sign; expected a percentage such as "99.9%" or "0.10%"`);
  }
  if (typeof value !== "string") {
    throw new UnitError(`${describe(value)} is not a percentage; expected one such as "99.9%" or "0.10%"`);
  }
  refuseSpaces(value.trim(), parsePercent);
  const m = new RegExp(`^(${NUMBER})%$`).exec(value.trim());
  if (!m) throw new UnitError(`${describe(value)} is not a percentage; expected one such as "99.9%" or "0.10%"`);
  const n = Number(m[1]);
  if (n < 0) throw new UnitError(`${describe(value)} is negative; expected a percentage from 0% to 100%`);
  if (n > 100) throw new UnitError(`${describe(value)} is over 100%; expected a percentage from 0% to 100%`);
  return clean(n / 100);
}

/** "30k" -> 30000, "1.5k" -> 1500, "30000", "30,000", "2M". Must come out a whole number of 0 or more. */
export function parseCount(value: unknown): number {
  let n: number;
  if (typeof value === "number") {
    n = value;
  } else if (typeof value === "string") {
    const text = value.trim();
    refuseSpaces(text, parseCount);
    const grouped = /^\d{1,3}(,\d{3})+$/.test(text) ? text.replaceAll(",", "") : text;
    const m = new RegExp(`^(${NUMBER})([kKmM]?)$`).exec(grouped);
    if (!m) throw new UnitError(`${describe(value)} is not a count; expected a number such as "1000", "30k" or "1.5k"`);
    n = clean(Number(m[1]) * COUNT_SUFFIXES[m[2]!]!);
  } else {
    throw new UnitError(`${describe(value)} is not a count; expected a number such as "1000", "30k" or "1.5k"`);
  }
  if (!Number.isFinite(n)) throw new UnitError(`${describe(value)} is not a finite count`);
  if (n < 0) throw new UnitError(`${describe(value)} is negative; expected a count of 0 or more`);
  if (!Number.isInteger(n)) throw new UnitError(`${describe(value)} is not a whole number; expected a count such as "1500" or "1.5k"`);
  return n;
}

/** "64MB" -> 67108864 (binary units: KB = 1024 B). */
export function parseBytes(raw: unknown): number {
  const expected = `expected a size such as 64MB, 512KB or 2GB`;
  if (typeof raw !== "string") throw new Error(`${JSON.stringify(raw)} is not a size; ${expected}`);
  const m = /^(\d+(?:\.\d+)?)(B|KB|MB|GB|TB)$/i.exec(raw.trim());
  if (!m) throw new Error(`${JSON.stringify(raw)} is not a size; ${expected}`);
  const scale = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 }[m[2]!.toLowerCase() as "b"]!;
  return Math.round(Number(m[1]) * scale);
}

/** "1000/s" -> 1000, "1.5k/s" -> 1500, "60/min" -> 1 (per second). Must be more than 0. */
export function parseRate(value: unknown): number {
  const expected = `expected a rate such as "1000/s", "1.5k/s" or "60/min"`;
  if (typeof value === "number") throw new UnitError(`${value} has no unit; ${expected}`);
  if (typeof value !== "string") throw new UnitError(`${describe(value)} is not a rate; ${expected}`);
  refuseSpaces(value.trim(), parseRate);
  const m = new RegExp(`^(${NUMBER}[kKmM]?)/([a-z]+)$`).exec(value.trim());
  if (!m) throw new UnitError(`${describe(value)} is not a rate; ${expected}`);
  const per = RATE_UNITS[m[2]!];
  if (per === undefined) throw new UnitError(`${describe(value)} has an unknown unit "/${m[2]}"; expected /s, /min or /h`);
  const numerator = m[1]!;
  const count = new RegExp(`^(${NUMBER})([kKmM]?)$`).exec(numerator)!;
  const n = clean((Number(count[1]) * COUNT_SUFFIXES[count[2]!]!) / per);
  if (!(n > 0)) throw new UnitError(`${describe(value)} is not more than 0; ${expected}`);
  return n;
}

function trimZeros(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/** 18.4 -> "18.4ms", 131.23 -> "131.2ms", 0.25 -> "0.25ms", 120 -> "120ms". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return `${trimZeros(ms.toFixed(Math.abs(ms) < 1 ? 2 : 1))}ms`;
}

/**
 * 0.9995 -> "99.95%", 0.001 -> "0.10%". A share short of 100% (or above 0%) never shows as
 * "100.00%" (or "0.00%"): against a 99.9% bar, rounding must not hide what is missing.
 */
export function formatPercent(ratio: number, decimals = 2): string {
  if (!Number.isFinite(ratio)) return "n/a";
  let d = decimals;
  let text = (ratio * 100).toFixed(d);
  while (d < 6 && ((ratio < 1 && Number(text) >= 100) || (ratio > 0 && Number(text) === 0))) {
    d++;
    text = (ratio * 100).toFixed(d);
  }
  return `${text}%`;
}

/** 30000 -> "30,000". */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
}

/** 30000 -> "30k", 1500 -> "1.5k", 1234 -> "1,234": the short form gate files use. */
export function formatCountShort(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 100 === 0) return `${n / 1_000}k`;
  return formatCount(n);
}

/** 1000 -> "1000/s", 1500 -> "1500/s", 0.5 -> "30/min". */
export function formatRate(perSecond: number): string {
  if (perSecond > 0 && perSecond < 1) return `${trimZeros((perSecond * 60).toFixed(1))}/min`;
  return `${trimZeros(perSecond.toFixed(1))}/s`;
}

/** A span of time for people: 36000 -> "36s", 65000 -> "1m 5s", 3720000 -> "1h 2m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "n/a";
  if (ms < 1000) return formatMs(ms);
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}
