// A queued event as the accept path writes it to the stream, read back the two ways a worker reads it.

import { eventHead, readEvent, requestIdOf } from "../../src/ingest-service/queued-event.js";

const REQUEST_ID = "4f0c2a4e-8a3e-4a51-9a35-0f3f8c1e2d7b";
const AT = "2026-12-06T19:00:00.000Z";
const queued = (key: string, ordering: string, seq: string, payload: string) =>
  Buffer.concat([Buffer.from(eventHead(REQUEST_ID, key, ordering, seq, AT)), Buffer.from(payload)]);

test("an event reads back as the details and payload it was built from, whatever the keys hold", () => {
  for (const [key, ordering] of [
    ["delivery-1", "repo/a"],
    ['quote"and\\backslash', "tab\there"],
    ['looks like a key: ,"p":{}', ',"p":'],
    ["ünïcode ☃", ""],
  ]) {
    const payload = '{"x":1,"p":"not the key"}';
    const event = queued(key, ordering, ordering ? "42" : "", payload);
    expect(readEvent(event)).toEqual({
      details: { requestId: REQUEST_ID, idempotencyKey: key, orderingKey: ordering || null, seq: ordering ? "42" : null, receivedAt: AT },
      payload: Buffer.from(payload),
    });
    expect(requestIdOf(event)).toBe(REQUEST_ID);
    // With a closing brace, as a worker splices it, it is one JSON object.
    expect(JSON.parse(`${event.toString()}}`)).toMatchObject({ k: key, p: { x: 1 } });
  }
});

test("a sequence number is a JSON number: leading zeros go, all 15 digits stay exact", () => {
  expect(readEvent(queued("k", "o", "007", "{}"))?.details.seq).toBe("7");
  expect(readEvent(queued("k", "o", "000", "{}"))?.details.seq).toBe("0");
  expect(readEvent(queued("k", "o", "999999999999999", "{}"))?.details.seq).toBe("999999999999999");
});

test("bytes that are not a queued event are told apart", () => {
  for (const bad of ["", "{}", '{"r":"', '{"r":""', '{"k":"x","r":"y","p":{}', "payload"]) {
    expect(requestIdOf(Buffer.from(bad))).toBeNull();
    expect(readEvent(Buffer.from(bad))).toBeNull();
  }
  // Starts as an event, but its head does not parse: the fast read takes it, the full read does not.
  const broken = Buffer.from('{"r":"req-1","k":"x","o":null,"s":,"t":"y","p":{}');
  expect(requestIdOf(broken)).toBe("req-1");
  expect(readEvent(broken)).toBeNull();
  expect(readEvent(Buffer.from('{"r":"req-1","k":"x","o":null,"s":-1,"t":"y","p":{}'))).toBeNull();
  expect(readEvent(Buffer.from('{"r":"req-1","k":"x","o":null,"s":1,"t":"y"}'))).toBeNull();
});
