// Checks a webhook body in one pass over its bytes, without building it: valid JSON (RFC 8259), a
// top-level object, and storable as PostgreSQL jsonb exactly as sent (no \u0000, no lone surrogates,
// bounded nesting and numbers, no duplicate keys whose meaning depends on the parser). Anything that
// would fail in a worker's batch later is refused here, with a 400, instead.

export interface JsonProblem {
  code: "malformed_json" | "not_an_object" | "unsupported_json";
  message: string;
}

/** Deeper nesting overflows PostgreSQL's parser stack (it fails somewhere past 6,000 levels). */
export const MAX_JSON_DEPTH = 1000;
/** Digits of one number; jsonb stores numeric, which has limits, and no webhook needs more. */
export const MAX_NUMBER_DIGITS = 100;
/** Exponent magnitude of one number (numeric overflows beyond 131,072 / below 16,383 digits). */
export const MAX_EXPONENT = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/** 1 for the bytes a string value's fast scan stops at: the quote, the backslash and control characters. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;

// Results of scanString, kept outside so the hot loop allocates nothing (JavaScript is single-threaded).
let scannedHash = 0;
let scannedPlain = true;
let found: JsonProblem | null = null;

const malformed = (what: string): -1 => {
  found = { code: "malformed_json", message: `the body is not valid JSON: ${what}` };
  return -1;
};
const unsupported = (what: string): -1 => {
  found = { code: "unsupported_json", message: `the body cannot be stored as PostgreSQL jsonb: ${what}` };
  return -1;
};
const unexpected = (b: Buffer, i: number): -1 =>
  i >= b.length ? malformed("it ends too early") : malformed(`unexpected ${JSON.stringify(String.fromCharCode(b[i]))} at byte ${i}`);

function hex4(b: Buffer, at: number): number {
  if (at + 4 > b.length) return -1;
  let v = 0;
  for (let k = at; k < at + 4; k++) {
    const c = b[k];
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Scans the string whose opening quote is at `i`; returns the index after its closing quote, or -1.
 * With `hash`, leaves an FNV-1a hash of its bytes in scannedHash (meaningful when scannedPlain: ASCII, no escapes).
 */
function scanString(b: Buffer, i: number, hash: boolean): number {
  const n = b.length;
  let h = FNV_OFFSET;
  let plain = true;
  i++;
  if (!hash) {
    // Values (most of a webhook's bytes): one pass to the first byte that ends or escapes the string
    // or is a control character (one table lookup per byte); the loop below handles the rest.
    let k = i;
    while (k < n && STRING_STOP[b[k]] === 0) k++;
    if (k < n && b[k] === QUOTE) {
      scannedPlain = false;
      return k + 1;
    }
    i = k;
    plain = false;
  }
  while (i < n) {
    const c = b[i];
    if (c === QUOTE) {
      scannedHash = h;
      scannedPlain = plain;
      return i + 1;
    }
    if (c === BACKSLASH) {
      plain = false;
      const e = b[i + 1];
      if (e === 0x75 /* u */) {
        const unit = hex4(b, i + 2);
        if (unit < 0) return malformed(`bad \\u escape at byte ${i}`);
        if (unit === 0) return unsupported(`\\u0000 at byte ${i} (jsonb cannot hold U+0000)`);
        if (unit >= 0xdc00 && unit <= 0xdfff) return unsupported(`lone low surrogate \\u${unit.toString(16)} at byte ${i}`);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = b[i + 6] === BACKSLASH && b[i + 7] === 0x75 ? hex4(b, i + 8) : -1;
          if (low < 0xdc00 || low > 0xdfff) return unsupported(`lone high surrogate \\u${unit.toString(16)} at byte ${i}`);
          i += 12;
        } else {
          i += 6;
        }
        continue;
      }
      if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
        continue;
      }
      return i + 1 >= n ? malformed("it ends inside a string") : malformed(`bad escape at byte ${i}`);
    }
    if (c < 0x20) return malformed(`control character 0x${c.toString(16).padStart(2, "0")} inside a string at byte ${i}`);
    if (c >= 0x80) plain = false;
    if (hash) h = Math.imul(h ^ c, FNV_PRIME);
    i++;
  }
  return malformed("it ends inside a string");
}

/** Scans the number starting at `i`; returns the index after it, or -1. */
function scanNumber(b: Buffer, i: number): number {
  const n = b.length;
  const start = i;
  if (b[i] === 0x2d /* - */) i++;
  let digits = 0;
  if (b[i] === 0x30) {
    i++;
    digits = 1;
  } else {
    while (i < n && b[i] >= 0x30 && b[i] <= 0x39) {
      i++;
      digits++;
    }
    if (digits === 0) return unexpected(b, i);
  }
  if (b[i] === 0x2e /* . */) {
    i++;
    const before = digits;
    while (i < n && b[i] >= 0x30 && b[i] <= 0x39) {
      i++;
      digits++;
    }
    if (digits === before) return unexpected(b, i);
  }
  if (b[i] === 0x65 || b[i] === 0x45 /* e E */) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    let magnitude = 0;
    const expStart = i;
    while (i < n && b[i] >= 0x30 && b[i] <= 0x39) {
      if (magnitude <= MAX_EXPONENT) magnitude = magnitude * 10 + (b[i] - 0x30);
      i++;
    }
    if (i === expStart) return unexpected(b, i);
    if (magnitude > MAX_EXPONENT) return unsupported(`the number at byte ${start} has an exponent beyond ±${MAX_EXPONENT}`);
  }
  if (digits > MAX_NUMBER_DIGITS) return unsupported(`the number at byte ${start} has more than ${MAX_NUMBER_DIGITS} digits`);
  return i;
}

/** The key whose opening quote is at `start`, decoded (so "\u0061" and "a" are the same key). */
function keyAt(b: Buffer, start: number): string {
  const end = scanString(b, start, false);
  return JSON.parse(b.toString("utf8", start, end)) as string;
}

function hashOf(s: string): number {
  let h = FNV_OFFSET;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), FNV_PRIME);
  return h;
}

// The keys of the open objects, innermost last: their hashes and where each key starts. Objects
// are small, so a linear scan of their own slice beats a Map; one with many keys gets a Map too.
let keyHashes = new Int32Array(256);
let keyStarts = new Int32Array(256);
/** Keys an object has before it gets a Map (a linear scan of its own keys until then). */
export const LINEAR_KEYS = 32;

function growKeys(): void {
  const h = new Int32Array(keyHashes.length * 2);
  h.set(keyHashes);
  keyHashes = h;
  const st = new Int32Array(keyStarts.length * 2);
  st.set(keyStarts);
  keyStarts = st;
}

const VALUE = 0; // a value must come next
const AFTER = 1; // a value just ended
const FIRST_KEY = 2; // just after "{": a key or "}"
const KEY = 3; // after "," in an object: a key

/** The body's problem, or null when it is a JSON object PostgreSQL will store as sent. Assumes valid UTF-8. */
export function checkJsonObject(b: Buffer): JsonProblem | null {
  const n = b.length;
  let i = 0;
  found = null;
  // Per open container: 1 object, 0 array; where its keys begin in keyHashes; a Map once it has many.
  const kinds: number[] = [];
  const firstKey: number[] = [];
  const bigObjects: (Map<number, number> | null)[] = [];
  let keyCount = 0;
  let mode = VALUE;

  while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (i >= n) return { code: "malformed_json", message: "the body is not valid JSON: it is empty or only whitespace" };
  const first = b[i];

  for (;;) {
    while (i < n) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    const c = b[i];
    if (mode === VALUE) {
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (kinds.length >= MAX_JSON_DEPTH) return (unsupported(`it is nested deeper than ${MAX_JSON_DEPTH} levels`), found);
        i++;
        kinds.push(c === 0x7b ? 1 : 0);
        firstKey.push(keyCount);
        bigObjects.push(null);
        mode = c === 0x7b ? FIRST_KEY : VALUE;
        if (c === 0x5b) {
          // An empty array: the "]" closes it as it closes any container, below.
          while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
          if (b[i] === 0x5d /* ] */) mode = AFTER;
        }
        continue;
      }
      if (c === QUOTE) i = scanString(b, i, false);
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = scanNumber(b, i);
      else if (c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) i += 4;
      else if (c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) i += 5;
      else if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) i += 4;
      else return (unexpected(b, i), found);
      if (i < 0) return found;
      mode = AFTER;
      continue;
    }
    if (mode === FIRST_KEY || mode === KEY) {
      if (mode === FIRST_KEY && c === 0x7d /* } */) {
        // An empty object: the "}" closes it as it closes any container, below.
        mode = AFTER;
        continue;
      }
      if (c !== QUOTE) return (unexpected(b, i), found);
      const start = i;
      i = scanString(b, i, true);
      if (i < 0) return found;
      const hash = scannedPlain ? scannedHash : hashOf(keyAt(b, start));
      const depth = kinds.length - 1;
      const from = firstKey[depth];
      let big = bigObjects[depth];
      // Equal hashes are checked exactly; a collision between different keys merely forgets the older one.
      let other = -1;
      if (big) {
        other = big.get(hash) ?? -1;
      } else {
        for (let k = from; k < keyCount; k++) {
          if (keyHashes[k] === hash) {
            other = keyStarts[k];
            break;
          }
        }
      }
      if (other >= 0 && keyAt(b, other) === keyAt(b, start)) {
        const key = keyAt(b, start);
        return (
          unsupported(`the key ${JSON.stringify(key)} appears twice in one object (byte ${start}); parsers disagree on which value wins`),
          found
        );
      }
      if (keyCount === keyHashes.length) growKeys();
      keyHashes[keyCount] = hash;
      keyStarts[keyCount] = start;
      keyCount++;
      if (big) {
        big.set(hash, start);
      } else if (keyCount - from > LINEAR_KEYS) {
        big = bigObjects[depth] = new Map();
        for (let k = from; k < keyCount; k++) big.set(keyHashes[k], keyStarts[k]);
      }
      while (i < n && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
      if (b[i] !== 0x3a /* : */) return (unexpected(b, i), found);
      i++;
      mode = VALUE;
      continue;
    }
    // AFTER
    if (kinds.length === 0) {
      if (i < n) return (unexpected(b, i), found);
      break;
    }
    const inObject = kinds[kinds.length - 1] === 1;
    if (c === 0x2c /* , */) {
      i++;
      mode = inObject ? KEY : VALUE;
      continue;
    }
    if ((inObject && c === 0x7d) || (!inObject && c === 0x5d)) {
      i++;
      kinds.pop();
      keyCount = firstKey.pop()!;
      bigObjects.pop();
      continue;
    }
    return (unexpected(b, i), found);
  }
  if (first !== 0x7b) {
    const kind =
      first === 0x5b
        ? "an array"
        : first === QUOTE
          ? "a string"
          : first === 0x6e
            ? "null"
            : first === 0x74 || first === 0x66
              ? "a boolean"
              : "a number";
    return { code: "not_an_object", message: `the body must be a JSON object, got ${kind}` };
  }
  return null;
}
