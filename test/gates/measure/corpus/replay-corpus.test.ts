import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CorpusError,
  corpusDigest,
  corpusLine,
  generateCorpus,
  readCorpus,
  writeCorpus,
} from "../../../../src/gates/measure/corpus/replay-corpus.js";
import type { CorpusEvent } from "../../../../src/gates/measure/corpus/replay-corpus.js";

const options = { seed: "gate-a", requests: 2000, orderingKeys: 50, redeliveryShare: 0.05 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "corpus-test-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("generating a corpus", () => {
  const events = generateCorpus(options);

  test("the same options give the same corpus byte for byte; another seed gives another", () => {
    const again = generateCorpus({ ...options });
    expect(corpusDigest(again)).toBe(corpusDigest(events));
    expect(again.map(corpusLine)).toEqual(events.map(corpusLine));
    expect(corpusDigest(generateCorpus({ ...options, seed: "gate-b" }))).not.toBe(corpusDigest(events));
  });

  test("a corpus does not depend on the process, the machine or the clock that made it", () => {
    // Pinned: if this digest changes, every stored gate run's corpus changed with it. Bump
    // GENERATOR_VERSION in corpus.ts (and this digest) only on purpose.
    const digest = corpusDigest(generateCorpus({ seed: "pinned", requests: 200, orderingKeys: 10, redeliveryShare: 0.1 }));
    expect(digest).toBe("4be2a2a26e8b75c9c6a195da672fbd158159f250d0be6c48311db79b1e1cb6ec");
  });

  test("requests counts redeliveries: their share is as asked, the rest are distinct events", () => {
    expect(events).toHaveLength(2000);
    const redeliveries = events.filter((e) => e.redelivery);
    expect(redeliveries).toHaveLength(100);
    const distinct = new Set(events.map((e) => e.id));
    expect(distinct.size).toBe(1900);
    expect(events.map((e) => e.index)).toEqual(events.map((_, i) => i));
  });

  test("a redelivery re-sends an earlier event of the same key: same id, body and seq, after the original", () => {
    const firstById = new Map<string, CorpusEvent>();
    for (const e of events) {
      const original = firstById.get(e.id);
      if (!e.redelivery) {
        expect(original).toBeUndefined();
        firstById.set(e.id, e);
        continue;
      }
      expect(original).toBeDefined();
      expect(original!.index).toBeLessThan(e.index);
      expect(e.orderingKey).toBe(original!.orderingKey);
      expect(e.seq).toBe(original!.seq);
      expect(e.body).toBe(original!.body);
      expect(e.eventType).toBe(original!.eventType);
    }
  });

  test("events spread over the ordering keys with sequence numbers 1, 2, 3 ... in send order", () => {
    const seqs = new Map<string, number[]>();
    for (const e of events) {
      if (e.redelivery) continue;
      seqs.set(e.orderingKey, [...(seqs.get(e.orderingKey) ?? []), e.seq]);
    }
    expect(seqs.size).toBe(50);
    for (const [key, list] of seqs) {
      expect(key).toMatch(/^repo-\d{4}$/);
      expect(list).toEqual(list.map((_, i) => i + 1));
    }
  });

  test("event ids look like Standard Webhooks ids", () => {
    for (const e of events) expect(e.id).toMatch(/^msg_[A-Za-z0-9]{24}$/);
  });

  test("bodies are real GitHub webhook payloads of 1-16 KB that differ between events", () => {
    const types = new Set(events.map((e) => e.eventType));
    expect(types.size).toBeGreaterThan(25);
    expect(types.has("pull_request")).toBe(true);
    const originals = events.filter((e) => !e.redelivery);
    expect(new Set(originals.map((e) => e.body)).size).toBe(originals.length);
    for (const e of events) {
      expect(Buffer.byteLength(e.body)).toBeLessThanOrEqual(16 * 1024);
      const payload = JSON.parse(e.body);
      expect(typeof payload).toBe("object");
      if (payload.repository) expect(payload.repository.name).toBe(e.orderingKey);
    }
    const sizes = events.map((e) => Buffer.byteLength(e.body)).sort((a, b) => a - b);
    const median = sizes[Math.floor(sizes.length / 2)];
    expect(median).toBeGreaterThan(1024);
    expect(median).toBeLessThan(8 * 1024);
  });

  test("no redeliveries when the share is 0; one key when asked", () => {
    const plain = generateCorpus({ seed: "x", requests: 30, orderingKeys: 1, redeliveryShare: 0 });
    expect(plain.some((e) => e.redelivery)).toBe(false);
    expect(plain.map((e) => e.seq)).toEqual(plain.map((_, i) => i + 1));
  });

  test("out-of-order pairs: two events of one key back to back, the higher seq first, both concurrent, from the seed", () => {
    const o = { seed: "pairs", requests: 2000, orderingKeys: 100, redeliveryShare: 0.02, outOfOrderShare: 0.01 };
    const withPairs = generateCorpus(o);
    expect(corpusDigest(generateCorpus(o))).toBe(corpusDigest(withPairs));
    const concurrent = withPairs.filter((e) => e.concurrent && !e.redelivery);
    expect(concurrent.length).toBeGreaterThanOrEqual(10);
    expect(concurrent.length % 2).toBe(0);
    for (let i = 0; i < withPairs.length; i++) {
      const first = withPairs[i];
      if (!first.concurrent || first.redelivery) continue;
      const second = withPairs.slice(i + 1).find((e) => !e.redelivery)!;
      expect(second).toMatchObject({ orderingKey: first.orderingKey, seq: first.seq - 1, concurrent: true });
      i = second.index;
    }
    // Per key, the seqs are still 1..n, each once; only the send order differs.
    const seqs = new Map<string, number[]>();
    for (const e of withPairs) if (!e.redelivery) seqs.set(e.orderingKey, [...(seqs.get(e.orderingKey) ?? []), e.seq]);
    for (const list of seqs.values()) expect([...list].sort((a, b) => a - b)).toEqual(list.map((_, i) => i + 1));
  });

  test("without outOfOrderShare the corpus has no pairs and its bytes are unchanged", () => {
    const plain = generateCorpus(options);
    expect(plain.some((e) => e.concurrent)).toBe(false);
    expect(corpusDigest(generateCorpus({ ...options, outOfOrderShare: 0 }))).toBe(corpusDigest(plain));
  });

  test("impossible options are refused with the field named", () => {
    expect(() => generateCorpus({ ...options, requests: 0 })).toThrow(/requests must be a whole number >= 1/);
    expect(() => generateCorpus({ ...options, orderingKeys: 1.5 })).toThrow(/orderingKeys/);
    expect(() => generateCorpus({ ...options, redeliveryShare: 1 })).toThrow(/redeliveryShare must be in \[0, 1\)/);
    expect(() => generateCorpus({ ...options, seed: "" })).toThrow(CorpusError);
  });
});

describe("the NDJSON form", () => {
  test("written and read back, a corpus is unchanged and keeps its digest", () => {
    const events = generateCorpus({ ...options, requests: 300 });
    const file = join(dir, "roundtrip.ndjson");
    writeCorpus(events, file);
    const text = readFileSync(file, "utf8");
    expect(text.split("\n")).toHaveLength(301);
    expect(text.endsWith("\n")).toBe(true);
    const back = readCorpus(file);
    expect(back).toEqual(events);
    expect(corpusDigest(back)).toBe(corpusDigest(events));
  });

  test("a recorded corpus written by hand is accepted", () => {
    const file = join(dir, "recorded.ndjson");
    const lines = [
      {
        index: 0,
        id: "delivery-1",
        orderingKey: "acme/api",
        seq: 7,
        eventType: "push",
        redelivery: false,
        body: '{"ref":"refs/heads/main"}',
      },
      {
        index: 1,
        id: "delivery-2",
        orderingKey: "acme/api",
        seq: 8,
        eventType: "push",
        redelivery: false,
        body: '{"ref":"refs/heads/dev"}',
      },
      {
        index: 2,
        id: "delivery-1",
        orderingKey: "acme/api",
        seq: 7,
        eventType: "push",
        redelivery: true,
        body: '{"ref":"refs/heads/main"}',
      },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    expect(readCorpus(file).map((e) => e.seq)).toEqual([7, 8, 7]);
  });

  test("an event marked concurrent may go out of seq order; it keeps the mark written and read back", () => {
    const file = join(dir, "pairs.ndjson");
    const lines = [
      { index: 0, id: "d1", orderingKey: "k", seq: 1, eventType: "push", redelivery: false, body: "{}" },
      { index: 1, id: "d3", orderingKey: "k", seq: 3, eventType: "push", redelivery: false, concurrent: true, body: "{}" },
      { index: 2, id: "d2", orderingKey: "k", seq: 2, eventType: "push", redelivery: false, concurrent: true, body: "{}" },
      { index: 3, id: "d4", orderingKey: "k", seq: 4, eventType: "push", redelivery: false, body: "{}" },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const read = readCorpus(file);
    expect(read.map((e) => [e.seq, e.concurrent ?? false])).toEqual([
      [1, false],
      [3, true],
      [2, true],
      [4, false],
    ]);
    expect(read.map(corpusLine)).toEqual(lines.map((l) => JSON.stringify(l)));
  });

  test("a seq used twice by one key, or a concurrent mark that is not true, is refused", () => {
    const file = join(dir, "bad-pairs.ndjson");
    const good = { index: 0, id: "a", orderingKey: "k", seq: 1, eventType: "push", redelivery: false, body: "{}" };
    writeFileSync(
      file,
      [
        JSON.stringify(good),
        JSON.stringify({ ...good, index: 1, id: "b", seq: 1, concurrent: true }),
        JSON.stringify({ ...good, index: 2, id: "c", seq: 2, concurrent: "yes" }),
      ].join("\n") + "\n",
    );
    expect(() => readCorpus(file)).toThrow(
      /:2: field "seq" 1 of key k was already used by another event of the key[\s\S]*:3: field "concurrent" must be true or left out, got "yes"/,
    );
  });

  test("each problem names the file, the line and the field", () => {
    const file = join(dir, "broken.ndjson");
    const good = { index: 0, id: "a", orderingKey: "k", seq: 1, eventType: "push", redelivery: false, body: "{}" };
    writeFileSync(
      file,
      [
        JSON.stringify(good),
        "{not json",
        JSON.stringify({ ...good, index: 2, id: "b", seq: "2" }),
        JSON.stringify({ ...good, index: 3, id: "c", body: "[1]", seq: 3 }),
        JSON.stringify({ ...good, index: 4, id: "a", seq: 4 }),
        JSON.stringify({ ...good, index: 5, id: "zz", redelivery: true, seq: 5 }),
        JSON.stringify({ ...good, index: 6, id: "d", seq: 0 }),
        JSON.stringify({ ...good, index: 7, id: "e", seq: 9, colour: "red" }),
      ].join("\n") + "\n",
    );
    let error: CorpusError | undefined;
    try {
      readCorpus(file);
    } catch (err) {
      error = err as CorpusError;
    }
    expect(error).toBeInstanceOf(CorpusError);
    expect(error!.code).toBe("corpus_file_invalid");
    const m = error!.message;
    expect(m).toContain(`${file}:2: not a JSON object`);
    expect(m).toContain(`${file}:3: field "seq" must be a whole number >= 0, got "2"`);
    expect(m).toContain(`${file}:4: field "body" must hold a JSON object`);
    expect(m).toContain(`${file}:5: id a was already used on line 1`);
    expect(m).toContain(`${file}:6: "redelivery" is true but no earlier line has id zz`);
    expect(m).toContain(`${file}:7: field "seq" 0 of key k must be greater than the key's previous seq`);
    expect(m).toContain(`${file}:8: unknown field "colour"`);
    expect(m).not.toContain(`${file}:1:`);
  });

  test("a missing file says which path to fix", () => {
    expect(() => readCorpus(join(dir, "nope.ndjson"))).toThrow(/cannot read corpus .*nope\.ndjson: ENOENT; check the corpus\.file path/);
  });
});
