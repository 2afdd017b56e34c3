// The war room's clock: deadlines as people write them, TIME TO DEADLINE as the war room wrote it,
// STATUS turning YELLOW then RED, and the escalation list called once.

import { deadlineInstant, formatTimeLeft, onTheClock, parseDeadline, readDeadline } from "../../../src/gates/war-room/deadline.js";
import { milestoneUpdate, renderWarRoomUpdate } from "../../../src/gates/war-room/war-room-formats.js";
import { loadGate } from "../../../src/gates/gate-file/index.js";

const gateA = loadGate("gates/gate-a.yaml");

const at = (iso: string) => new Date(iso);

describe("parseDeadline", () => {
  test("a time of day with its zone, or a duration after the command", () => {
    expect(parseDeadline("02:00 UTC")).toEqual({ kind: "time_of_day", hour: 2, minute: 0, zone: "UTC", display: "02:00 UTC" });
    expect(parseDeadline("18:30 Europe/Berlin")).toMatchObject({ kind: "time_of_day", hour: 18, minute: 30, zone: "Europe/Berlin" });
    expect(parseDeadline("5h")).toEqual({ kind: "after", ms: 5 * 3600_000, display: "5h" });
    expect(parseDeadline("90min")).toMatchObject({ kind: "after", ms: 90 * 60_000 });
  });

  test("a time without a zone, an unknown zone, an impossible time and a non-deadline are refused saying what was expected", () => {
    expect(() => parseDeadline("02:00")).toThrow('"02:00" names no time zone; expected "02:00 UTC" or "02:00 Europe/Berlin"');
    expect(() => parseDeadline("02:00 Mars/Olympus")).toThrow('"Mars/Olympus" is not a time zone; expected UTC or an IANA zone');
    expect(() => parseDeadline("25:00 UTC")).toThrow("is not a time of day");
    expect(() => parseDeadline("soon")).toThrow("expected a time of day with its zone");
    expect(() => parseDeadline(42)).toThrow("42 is not a deadline");
    expect(() => parseDeadline("500ms")).toThrow("too short");
  });
});

describe("deadlineInstant", () => {
  test("the next time that wall-clock time comes round in the zone, at or after the command", () => {
    expect(deadlineInstant(parseDeadline("02:00 UTC"), at("2025-11-12T20:30:00Z")).toISOString()).toBe("2025-11-13T02:00:00.000Z");
    expect(deadlineInstant(parseDeadline("22:00 UTC"), at("2025-11-12T20:30:00Z")).toISOString()).toBe("2025-11-12T22:00:00.000Z");
    // Berlin is UTC+1 in November and UTC+2 in July.
    expect(deadlineInstant(parseDeadline("18:00 Europe/Berlin"), at("2025-11-12T12:00:00Z")).toISOString()).toBe(
      "2025-11-12T17:00:00.000Z",
    );
    expect(deadlineInstant(parseDeadline("18:00 Europe/Berlin"), at("2025-07-12T12:00:00Z")).toISOString()).toBe(
      "2025-07-12T16:00:00.000Z",
    );
    expect(deadlineInstant(parseDeadline("330min"), at("2025-11-12T20:30:00Z")).toISOString()).toBe("2025-11-13T02:00:00.000Z");
  });
});

describe("readDeadline", () => {
  const d = parseDeadline("02:00 UTC");
  const command = at("2025-11-12T20:30:00Z");

  test("five and a half hours out is GREEN, written as the war room wrote it", () => {
    expect(readDeadline(d, command, command)).toEqual({
      text: "5 hours 30 minutes (deadline 02:00 UTC)",
      status: "GREEN",
      remainingMs: 5.5 * 3600_000,
    });
    expect(formatTimeLeft(61_000)).toBe("1 minute");
    expect(formatTimeLeft(3600_000)).toBe("1 hour");
    expect(formatTimeLeft(40_000)).toBe("40 seconds");
  });

  test("YELLOW in the last 30 minutes, RED once passed", () => {
    expect(readDeadline(d, command, at("2025-11-13T01:29:00Z")).status).toBe("GREEN");
    expect(readDeadline(d, command, at("2025-11-13T01:31:00Z"))).toMatchObject({
      status: "YELLOW",
      text: "29 minutes (deadline 02:00 UTC)",
    });
    expect(readDeadline(d, command, at("2025-11-13T02:12:00Z"))).toMatchObject({
      status: "RED",
      text: "0 (deadline 02:00 UTC passed 12 minutes ago)",
    });
  });

  test("a short deadline warns in its last quarter, not from the start", () => {
    const short = parseDeadline("20min");
    expect(readDeadline(short, command, at("2025-11-12T20:40:00Z")).status).toBe("GREEN");
    expect(readDeadline(short, command, at("2025-11-12T20:46:00Z")).status).toBe("YELLOW");
  });
});

describe("onTheClock", () => {
  const gate = { ...gateA, deadline: parseDeadline("02:00 UTC"), escalation: ["Agent3", "@acme/release-captains"] };
  const command = at("2025-11-12T20:30:00Z");

  test("every update carries TIME TO DEADLINE; a GREEN milestone after the deadline is RED and calls the escalation list", () => {
    const onTime = onTheClock(gate, milestoneUpdate(gate, { kind: "deploy" }, at("2025-11-12T20:31:00Z")), command, false);
    expect(renderWarRoomUpdate(onTime)).toContain("TIME TO DEADLINE: 5 hours 29 minutes (deadline 02:00 UTC)");
    expect(onTime.status).toBe("GREEN");
    expect(onTime.escalation).toBeUndefined();

    const late = onTheClock(gate, milestoneUpdate(gate, { kind: "deploy" }, at("2025-11-13T02:05:00Z")), command, false);
    expect(late.status).toBe("RED");
    expect(late.escalation).toEqual(["Agent3", "@acme/release-captains"]);
    const text = renderWarRoomUpdate(late);
    expect(text.split("\n").slice(-3)).toEqual([
      "TIME TO DEADLINE: 0 (deadline 02:00 UTC passed 5 minutes ago)",
      "OWNER: Agent3",
      "ESCALATION: @Agent3, @acme/release-captains",
    ]);
  });

  test("once escalated, a later RED update does not call again", () => {
    const again = onTheClock(gate, milestoneUpdate(gate, { kind: "deploy", error: "boom" }, at("2025-11-12T21:00:00Z")), command, true);
    expect(again.status).toBe("RED");
    expect(again.escalation).toBeUndefined();
    expect(renderWarRoomUpdate(again)).not.toContain("ESCALATION");
  });

  test("a gate without a deadline or escalation leaves updates as they were", () => {
    const plain = gateA;
    const u = milestoneUpdate(plain, { kind: "deploy", error: "boom" }, command);
    expect(onTheClock(plain, u, command, false)).toEqual(u);
  });
});
