import { checkJsonObject, LINEAR_KEYS, MAX_JSON_DEPTH } from "../../src/ingest-service/json-check.js";
import { shuffled } from "./support/ingest-fixture.js";

const check = (s: string) => checkJsonObject(Buffer.from(s, "utf8"));
const code = (s: string) => check(s)?.code ?? "ok";

test("ordinary webhook JSON passes", () => {
  for (const s of [
    "{}",
    ' \n{ "a" : 1 }\t',
    '{"action":"opened","number":-12.5e-3,"ok":true,"no":false,"x":null,"list":[1,"two",{"three":[]}],"emoji":"😀 \\ud83d\\ude00","esc":"\\"\\\\\\/\\b\\f\\n\\r\\t"}',
    '{"":0,"0":-0,"big":12345678901234567890123}',
  ]) {
    expect([s, code(s)]).toEqual([s, "ok"]);
  }
});

test("malformed JSON is told apart from valid JSON that is not an object", () => {
  for (const s of [
    "{",
    '{"a":}',
    '{"a":1,}',
    "{'a':1}",
    '{"a":01}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":tru}',
    '{"a":"x\ny"}',
    '{"a":"\\x"}',
    '{"a":1} {}',
    '{"a" 1}',
    "   ",
  ]) {
    expect([s, code(s)]).toEqual([s, "malformed_json"]);
  }
  for (const s of ["[]", "[1,2]", '"text"', "1", "null", "true"]) {
    expect([s, code(s)]).toEqual([s, "not_an_object"]);
  }
  expect(check("[1]")?.message).toContain("got an array");
});

test("what jsonb cannot store as sent is refused as unsupported_json", () => {
  const cases = [
    '{"a":"\\u0000"}',
    '{"a":"\\ud800"}',
    '{"a":"\\udc00x"}',
    '{"a":"\\ud800\\u0041"}',
    '{"a":1e1000000}',
    '{"a":1e-1000000}',
    `{"a":${"9".repeat(200000)}}`,
    `{"a":${"[".repeat(100000)}${"]".repeat(100000)}}`,
    '{"a":1,"b":2,"a":3}',
    '{"a":1,"\\u0061":2}',
  ];
  for (const s of cases) expect([s.slice(0, 40), code(s)]).toEqual([s.slice(0, 40), "unsupported_json"]);
  expect(check('{"k":{"x":1,"x":1}}')?.message).toContain('"x" appears twice');
  expect(check(`{"a":${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}}`)).toBeNull();
  expect(code('{"a":1,"b":{"a":2}}')).toBe("ok"); // the same key in different objects is fine
});

test("a duplicate key is found in an object of any size, with or without its Map, and only within its own object", () => {
  const keys = (n: number, prefix = "k") => Array.from({ length: n }, (_, i) => `"${prefix}${i}":${i}`);
  for (const n of [2, LINEAR_KEYS - 1, LINEAR_KEYS, LINEAR_KEYS + 1, 5 * LINEAR_KEYS]) {
    for (const at of [0, n >> 1, n - 1]) {
      // The key at `at` again, at the end of the object: found, and named.
      const dup = `{"outer":{${[...keys(n), `"k${at}":"again"`].join(",")}}}`;
      expect([n, at, check(dup)?.message]).toEqual([n, at, expect.stringContaining(`"k${at}" appears twice`)]);
    }
    // Sibling objects with the same keys, and the parent with a key of the same name: all fine.
    expect([n, code(`{"k0":0,"a":[{${keys(n).join(",")}},{${keys(n).join(",")}}],"b":{${keys(n).join(",")}}}`)]).toEqual([n, "ok"]);
    // A large object nested in another: the inner one's keys do not leak into the outer one's, or back.
    expect([n, code(`{${keys(n).join(",")},"in":{${keys(n).join(",")}},"z":1}`)]).toEqual([n, "ok"]);
    expect([n, code(`{${keys(n).join(",")},"in":{${keys(n, "j").join(",")}},"k1":1}`)]).toEqual([n, "unsupported_json"]);
  }
});

test("on ten thousand mutated documents it agrees with JSON.parse about what is JSON", () => {
  const seeds = [
    '{"a":[1,2.5,-3e2,{"b":"c\\"d"}],"t":true,"f":false,"n":null,"s":"x\\u00e9y"}',
    '{"nested":{"deep":[[],{}],"num":0.001E+5},"str":"\\\\/"}',
  ];
  const alphabet = '{}[],:"\\ 0123456789eE+-.tfnulrsa\t\n';
  let s = 1;
  const rnd = (m: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % m;
  let disagreements: string[] = [];
  for (let k = 0; k < 10000; k++) {
    let doc = seeds[k % seeds.length];
    for (let m = 0, times = 1 + rnd(3); m < times; m++) {
      const at = rnd(doc.length + 1);
      const op = rnd(3);
      if (op === 0) doc = doc.slice(0, at) + doc.slice(at + 1);
      else if (op === 1) doc = doc.slice(0, at) + alphabet[rnd(alphabet.length)] + doc.slice(at);
      else doc = doc.slice(0, at) + doc.slice(rnd(doc.length), rnd(doc.length)) + doc.slice(at);
    }
    let parsed: unknown;
    let valid = true;
    try {
      parsed = JSON.parse(doc);
    } catch {
      valid = false;
    }
    const ours = code(doc);
    if (ours === "unsupported_json") continue; // stopped early on a jsonb limit: says nothing of the rest
    const expected = !valid
      ? "malformed_json"
      : typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
        ? "ok"
        : "not_an_object";
    if (ours !== expected) disagreements.push(`${JSON.stringify(doc)}: ours ${ours}, JSON.parse ${expected}`);
  }
  disagreements = shuffled(disagreements, 1).slice(0, 5);
  expect(disagreements).toEqual([]);
});
