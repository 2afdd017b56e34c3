// The replay corpus: webhooks as they really arrive (GitHub's published payload examples, many
// ordering keys, per-key sequence numbers, redeliveries), generated from a seed or read from NDJSON.

import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { CorpusError } from "./corpus-error.js";
import { loadTemplates } from "./corpus-templates.js";

export { CorpusError };

export interface CorpusEvent {
  /** Position in send order, 0-based. */
  index: number;
  /** The webhook-id (Standard Webhooks `msg_...`); a redelivery repeats its original's id. */
  id: string;
  orderingKey: string;
  /** Per-key sequence number, 1, 2, 3 ... in send order; a redelivery repeats its original's. */
  seq: number;
  /** GitHub event name of the payload (x-github-event), e.g. "pull_request". */
  eventType: string;
  /** The JSON body, exactly as sent and signed. */
  body: string;
  /** True when this request re-sends an earlier event (same id, body and seq). */
  redelivery: boolean;
  /**
   * True for an event sent at its due time without waiting for its key's previous answer: the
   * corpus's out-of-order pairs, where the higher seq goes first and the service must still apply
   * them in seq order. Absent for every other event.
   */
  concurrent?: true;
}

export interface CorpusOptions {
  seed: string;
  /** Requests to send, redeliveries included: distinct events = requests - redeliveries. */
  requests: number;
  orderingKeys: number;
  /** Share of requests that re-send an earlier event of the same key, 0 <= share < 1. */
  redeliveryShare: number;
  /**
   * Share of distinct events that start an out-of-order pair: two events of one key, back to back,
   * the higher seq first, both sent concurrently. 0 <= share < 1; default 0 (and then the corpus is
   * byte for byte what it was before pairs existed).
   */
  outOfOrderShare?: number;
}

// Part of the PRNG seed so that a change to how corpora are built changes every corpus,
// instead of silently keeping the seed and changing the bytes.
const GENERATOR_VERSION = "release-gate corpus v1";

/**
 * Generate a corpus. Deterministic: the same options give byte-identical events on any machine
 * and at any time (nothing is read from the clock or Math.random).
 */
export function generateCorpus(o: CorpusOptions): CorpusEvent[] {
  checkOptions(o);
  const random = seededRandom(`${GENERATOR_VERSION}\0${o.seed}`);
  const templates = loadTemplates();
  const redeliveries = Math.round(o.requests * o.redeliveryShare);
  const distinct = o.requests - redeliveries;

  const width = Math.max(4, String(o.orderingKeys - 1).length);
  const keys: { name: string; repoId: number; nextSeq: number }[] = [];
  for (let k = 0; k < o.orderingKeys; k++) {
    keys.push({ name: `repo-${String(k).padStart(width, "0")}`, repoId: 100_000_000 + Math.floor(random() * 900_000_000), nextSeq: 1 });
  }

  // Webhook timestamps: a seeded day in 2024, then one event a second (GitHub's times are whole seconds).
  const epochMs = Date.UTC(2024, 0, 1) + Math.floor(random() * 365) * 86_400_000;
  const usedIds = new Set<string>();
  const originals: Omit<CorpusEvent, "index">[] = new Array(distinct);
  const pairShare = o.outOfOrderShare ?? 0;
  for (let d = 0; d < distinct; d++) {
    const key = keys[Math.floor(random() * keys.length)];
    originals[d] = original(d, key);
    // Drawn only when pairs are asked for, so a corpus without them keeps its bytes.
    if (pairShare > 0 && d + 1 < distinct && random() < pairShare) {
      const first = originals[d];
      const second = (originals[d + 1] = original(d + 1, key));
      [first.seq, second.seq] = [second.seq, first.seq];
      first.concurrent = true;
      second.concurrent = true;
      d++;
    }
  }

  function original(d: number, key: (typeof keys)[number]): Omit<CorpusEvent, "index"> {
    const template = templates[Math.floor(random() * templates.length)];
    let id: string;
    do id = messageId(random);
    while (usedIds.has(id));
    usedIds.add(id);
    const at = new Date(epochMs + d * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const body = template.render({
      EVENT_ID: String(1_000_000_000 + Math.floor(random() * 1_000_000_000)),
      AT: JSON.stringify(at),
      SHA: JSON.stringify(commitSha(random)),
      REPO_ID: String(key.repoId),
      REPO_NAME: JSON.stringify(key.name),
      REPO_FULL_NAME: JSON.stringify(`octo-org/${key.name}`),
    });
    return { id, orderingKey: key.name, seq: key.nextSeq++, eventType: template.eventType, body, redelivery: false };
  }

  // A redelivery goes out some time after its original, as a sender's retry after a timeout does:
  // after distinct event `slot`, at most 1,000 distinct events later.
  const afterSlot: number[][] = Array.from({ length: distinct }, () => []);
  for (let r = 0; r < redeliveries; r++) {
    const original = Math.floor(random() * distinct);
    const slot = original + Math.floor(random() * Math.min(distinct - original, 1000));
    afterSlot[slot].push(original);
  }

  const events: CorpusEvent[] = [];
  for (let d = 0; d < distinct; d++) {
    events.push({ index: events.length, ...originals[d] });
    for (const original of afterSlot[d]) {
      events.push({ index: events.length, ...originals[original], redelivery: true });
    }
  }
  return events;
}

function checkOptions(o: CorpusOptions): void {
  const problems: string[] = [];
  if (typeof o.seed !== "string" || o.seed.length === 0) problems.push("seed must be a non-empty string");
  if (!Number.isInteger(o.requests) || o.requests < 1) problems.push(`requests must be a whole number >= 1, got ${o.requests}`);
  if (!Number.isInteger(o.orderingKeys) || o.orderingKeys < 1)
    problems.push(`orderingKeys must be a whole number >= 1, got ${o.orderingKeys}`);
  if (o.outOfOrderShare !== undefined && !(o.outOfOrderShare >= 0 && o.outOfOrderShare < 1))
    problems.push(`outOfOrderShare must be in [0, 1), got ${o.outOfOrderShare}`);
  if (!(o.redeliveryShare >= 0 && o.redeliveryShare < 1)) problems.push(`redeliveryShare must be in [0, 1), got ${o.redeliveryShare}`);
  else if (Number.isInteger(o.requests) && o.requests - Math.round(o.requests * o.redeliveryShare) < 1) {
    problems.push(`redeliveryShare ${o.redeliveryShare} of ${o.requests} requests leaves no original event to redeliver`);
  }
  if (problems.length > 0) throw new CorpusError("corpus_options_invalid", `corpus options: ${problems.join("; ")}`);
}

// ---- Seeded randomness ------------------------------------------------------------------------

/** sfc32 over the SHA-256 of the seed: small, fast, and the same sequence everywhere. */
function seededRandom(seed: string): () => number {
  const h = createHash("sha256").update(seed).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next(); // sfc32's recommended warm-up
  return next;
}

/** 40 hex digits, like a git commit id. */
function commitSha(random: () => number): string {
  let sha = "";
  for (let i = 0; i < 5; i++)
    sha += Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return sha;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A Standard Webhooks style message id: `msg_` and 24 alphanumerics, like msg_p5jXN8AQM9LWM0D4loKWxJek. */
function messageId(random: () => number): string {
  let id = "msg_";
  for (let i = 0; i < 24; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)];
  return id;
}

// ---- NDJSON form ------------------------------------------------------------------------------

/** One corpus line, fields in a fixed order so the NDJSON form (and its digest) is canonical; `concurrent` only when true. */
export function corpusLine(e: CorpusEvent): string {
  return JSON.stringify({
    index: e.index,
    id: e.id,
    orderingKey: e.orderingKey,
    seq: e.seq,
    eventType: e.eventType,
    redelivery: e.redelivery,
    ...(e.concurrent ? { concurrent: true } : {}),
    body: e.body,
  });
}

/** SHA-256 (hex) of the NDJSON form: every line followed by "\n", as writeCorpus writes it. */
export function corpusDigest(events: CorpusEvent[]): string {
  const hash = createHash("sha256");
  for (const e of events) hash.update(corpusLine(e) + "\n");
  return hash.digest("hex");
}

/** Write events as NDJSON, one event per line (see corpusLine for the field order). */
export function writeCorpus(events: CorpusEvent[], file: string): void {
  const fd = openSync(file, "w");
  try {
    // Write in chunks: a 30k corpus is ~200 MB of text, too much to build as one string.
    let chunk = "";
    for (const e of events) {
      chunk += corpusLine(e) + "\n";
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = "";
      }
    }
    if (chunk.length > 0) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

const MAX_REPORTED_PROBLEMS = 20;

/**
 * Read and validate an NDJSON corpus. Every problem names `file:line` and the field. Besides each
 * line's shape, the corpus must make sense as a replay: indexes in order, ids unique unless the
 * line is a redelivery of an earlier event (same key, seq and body), and per-key sequence numbers
 * increasing in file order (the order events are sent).
 */
export function readCorpus(file: string): CorpusEvent[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CorpusError(
      "corpus_file_unreadable",
      `cannot read corpus ${file}: ${e.code ?? e.message}; check the corpus.file path in the gate file`,
    );
  }
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();

  const problems: string[] = [];
  const problem = (line: number, what: string) => {
    if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${file}:${line}: ${what}`);
    else if (problems.length === MAX_REPORTED_PROBLEMS) problems.push("(further problems not shown)");
  };

  const events: CorpusEvent[] = [];
  const originals = new Map<string, CorpusEvent>();
  const lastSeq = new Map<string, number>();
  const seqsUsed = new Map<string, Set<number>>();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw: unknown;
    try {
      raw = JSON.parse(lines[i]);
    } catch (err) {
      problem(lineNo, `not a JSON object (${(err as Error).message})`);
      continue;
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      problem(lineNo, "not a JSON object");
      continue;
    }
    const r = raw as Record<string, unknown>;
    const before = problems.length;
    const known = ["index", "id", "orderingKey", "seq", "eventType", "redelivery", "concurrent", "body"];
    for (const k of Object.keys(r)) if (!known.includes(k)) problem(lineNo, `unknown field "${k}" (expected ${known.join(", ")})`);
    if (r.index !== i)
      problem(lineNo, `field "index" must be ${i} (line number - 1: events are sent in file order), got ${JSON.stringify(r.index)}`);
    if (typeof r.id !== "string" || r.id.length === 0)
      problem(lineNo, `field "id" must be a non-empty string (the webhook-id), got ${JSON.stringify(r.id)}`);
    if (typeof r.orderingKey !== "string" || r.orderingKey.length === 0)
      problem(lineNo, `field "orderingKey" must be a non-empty string, got ${JSON.stringify(r.orderingKey)}`);
    if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0)
      problem(lineNo, `field "seq" must be a whole number >= 0, got ${JSON.stringify(r.seq)}`);
    if (typeof r.eventType !== "string" || r.eventType.length === 0)
      problem(lineNo, `field "eventType" must be a non-empty string, got ${JSON.stringify(r.eventType)}`);
    if (typeof r.redelivery !== "boolean") problem(lineNo, `field "redelivery" must be true or false, got ${JSON.stringify(r.redelivery)}`);
    if (r.concurrent !== undefined && r.concurrent !== true)
      problem(lineNo, `field "concurrent" must be true or left out, got ${JSON.stringify(r.concurrent)}`);
    if (typeof r.body !== "string") problem(lineNo, `field "body" must be a string holding the JSON body, got ${typeof r.body}`);
    else if (!isJsonObject(r.body)) problem(lineNo, `field "body" must hold a JSON object (the webhook payload)`);
    if (problems.length > before) continue;
    const e: CorpusEvent = {
      index: r.index as number,
      id: r.id as string,
      orderingKey: r.orderingKey as string,
      seq: r.seq as number,
      eventType: r.eventType as string,
      body: r.body as string,
      redelivery: r.redelivery as boolean,
    };
    if (r.concurrent === true) e.concurrent = true;
    const original = originals.get(e.id);
    if (e.redelivery) {
      if (!original) problem(lineNo, `"redelivery" is true but no earlier line has id ${e.id}`);
      else if (original.orderingKey !== e.orderingKey || original.seq !== e.seq || original.body !== e.body) {
        problem(lineNo, `redelivery of ${e.id} must repeat line ${original.index + 1}'s orderingKey, seq and body`);
      }
    } else {
      if (original)
        problem(lineNo, `id ${e.id} was already used on line ${original.index + 1}; set "redelivery": true if this line re-sends it`);
      const previous = lastSeq.get(e.orderingKey);
      const used = seqsUsed.get(e.orderingKey) ?? new Set<number>();
      if (used.has(e.seq)) problem(lineNo, `field "seq" ${e.seq} of key ${e.orderingKey} was already used by another event of the key`);
      else if (!e.concurrent && previous !== undefined && e.seq <= previous) {
        problem(
          lineNo,
          `field "seq" ${e.seq} of key ${e.orderingKey} must be greater than the key's previous seq ${previous} (events are sent in file order; mark an event "concurrent": true to send it out of order)`,
        );
      }
      used.add(e.seq);
      seqsUsed.set(e.orderingKey, used);
      originals.set(e.id, e);
      lastSeq.set(e.orderingKey, Math.max(previous ?? e.seq, e.seq));
    }
    events.push(e);
  }
  if (lines.length === 0) problem(1, "the corpus is empty");
  if (problems.length > 0) throw new CorpusError("corpus_file_invalid", `invalid corpus:\n${problems.join("\n")}`);
  return events;
}

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}
