// The stream entry's head: what the accept path writes, read back the two ways a worker reads it.

import { eventHead, readHead, requestIdOf } from "../../src/ingest-service/queued-event.js";

const REQUEST_ID = "4f0c2a4e-8a3e-4a51-9a35-0f3f8c1e2d7b";
const AT = "2026-12-06T19:00:00.000Z";

test("a head reads back as the details it was built from, whatever the keys hold", () => {
  for (const [key, ordering] of [
    ["delivery-1", "repo/a"],
    ['quote"and\\backslash', "tab\there"],
    ["ünïcode ☃", ""],
  ]) {
    const head = Buffer.from(eventHead(REQUEST_ID, key, ordering, ordering ? "42" : "", AT));
    expect(readHead(head)).toEqual({
      requestId: REQUEST_ID,
      idempotencyKey: key,
      orderingKey: ordering || null,
      seq: ordering ? "42" : null,
      receivedAt: AT,
    });
    expect(requestIdOf(head)).toBe(REQUEST_ID);
    // Spliced as a worker does, it is one JSON object with the payload.
    expect(JSON.parse(`${head.toString()},"p":{"x":1}}`)).toMatchObject({ k: key, p: { x: 1 } });
  }
});

test("a sequence number is a JSON number: leading zeros go, all 15 digits stay exact", () => {
  expect(readHead(Buffer.from(eventHead(REQUEST_ID, "k", "o", "007", AT)))?.seq).toBe("7");
  expect(readHead(Buffer.from(eventHead(REQUEST_ID, "k", "o", "000", AT)))?.seq).toBe("0");
  expect(readHead(Buffer.from(eventHead(REQUEST_ID, "k", "o", "999999999999999", AT)))?.seq).toBe("999999999999999");
});

test("bytes that are not a head are told apart", () => {
  for (const bad of ["", "{}", '{"r":"', '{"r":""', '{"k":"x","r":"y"', "payload"]) {
    expect(requestIdOf(Buffer.from(bad))).toBeNull();
    expect(readHead(Buffer.from(bad))).toBeNull();
  }
  // Starts as a head, but does not parse: the fast read takes it, the full read does not.
  const broken = Buffer.from('{"r":"req-1","k":"x","o":null,"s":,"t":"y"');
  expect(requestIdOf(broken)).toBe("req-1");
  expect(readHead(broken)).toBeNull();
  expect(readHead(Buffer.from('{"r":"req-1","k":"x","o":null,"s":-1,"t":"y"'))).toBeNull();
});
