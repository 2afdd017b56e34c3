// Converters: a raw YAML scalar in, a typed value out, or an Error saying what was expected instead.

import { formatCountShort, formatRate, parseCount, parseRate, parseDuration } from "../model/index.js";
import { nearest } from "./suggestions.js";

/** A GitHub login or an @org/team. */
export function githubHandle(raw: unknown): string {
  if (typeof raw === "string" && /^(@[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+|@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/.test(raw))
    return raw.replace(/^@(?!.*\/)/, "");
  throw new Error(
    `${JSON.stringify(raw)} is not a GitHub login or team; expected a login such as Agent3 or a team such as @acme/release-captains`,
  );
}

/** `">= 64MB"`: a lower bar, the value parsed by `parse`, kept as written. */
export function atLeast(parse: (raw: unknown) => number, example: string): (raw: unknown) => { value: number; display: string } {
  return (raw) => {
    const m = typeof raw === "string" ? /^\s*>=\s*(\S+)\s*$/.exec(raw) : null;
    if (!m) throw new Error(`${JSON.stringify(raw)} is not a lower bar; expected ">=" and a value, such as ${example}`);
    return { value: parse(m[1]), display: m[1]! };
  };
}

export function oneOf<T extends string>(choices: readonly T[]): (raw: unknown) => T {
  return (raw) => {
    if (typeof raw === "string" && (choices as readonly string[]).includes(raw)) return raw as T;
    const near = typeof raw === "string" ? nearest(raw, choices) : undefined;
    throw new Error(
      `${JSON.stringify(raw)} is not allowed; expected one of ${choices.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
    );
  };
}

export function yesNo(raw: unknown): boolean {
  if (typeof raw === "boolean") return raw;
  throw new Error(`${JSON.stringify(raw)} is not true or false; expected true or false`);
}

export function countIn(min: number, max: number): (raw: unknown) => number {
  return (raw) => {
    const n = parseCount(raw);
    if (n < min) throw new Error(`${JSON.stringify(raw)} is too small; expected at least ${min}`);
    if (n > max) throw new Error(`${JSON.stringify(raw)} is too large; expected at most ${formatCountShort(max)}`);
    return n;
  };
}

export function rateIn(maxPerSecond: number): (raw: unknown) => number {
  return (raw) => {
    const r = parseRate(raw);
    if (r > maxPerSecond)
      throw new Error(`${JSON.stringify(raw)} is more than one driver can offer; expected at most ${formatRate(maxPerSecond)}`);
    return r;
  };
}

export function durationIn(minMs: number, maxMs: number): (raw: unknown) => number {
  return (raw) => {
    const ms = parseDuration(raw);
    if (ms < minMs) throw new Error(`${JSON.stringify(raw)} is too short; expected at least ${minMs}ms`);
    if (ms > maxMs) throw new Error(`${JSON.stringify(raw)} is too long; expected at most ${maxMs / 1000}s`);
    return ms;
  };
}

export function url(protocols: string[], example: string): (raw: unknown) => string {
  return (raw) => {
    const expected = `expected a ${protocols.map((p) => `${p}//`).join(" or ")} URL such as ${example}`;
    if (typeof raw !== "string") throw new Error(`${JSON.stringify(raw)} is not a URL; ${expected}`);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`${JSON.stringify(raw)} is not a URL; ${expected}`);
    }
    if (!protocols.includes(parsed.protocol)) throw new Error(`"${parsed.protocol}//" is the wrong kind of URL; ${expected}`);
    if (!parsed.hostname) throw new Error(`${JSON.stringify(raw)} names no host; ${expected}`);
    return raw;
  };
}
