// The war-room comment: the latest update in the war room's format with the timeline underneath, and
// always under GitHub's 65,536-character limit, the oldest timeline rows giving way first.

import { fileURLToPath } from "node:url";
import { loadGate } from "../../../src/gates/gate-file/index.js";
import type { TimelineEntry, WarRoomUpdate } from "../../../src/gates/model/gate-run-record.js";
import {
  COMMENT_LIMIT,
  renderFinalComment,
  renderWarRoomComment,
  warRoomMarker,
  type WarRoomView,
} from "../../../src/bot/github/war-room-comment.js";
import { CHECK_SUMMARY_LIMIT, conclusionFor, fitSummary } from "../../../src/bot/github/check-run.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";

const gate = loadGate(fileURLToPath(new URL("../fixtures/gates/gate-a.yaml", import.meta.url)));

const update: WarRoomUpdate = {
  time: "2025-11-13T02:00:00.000Z",
  milestone: "Phase 2/2 started: load",
  status: "YELLOW",
  progress: "smoke PASS",
  blockers: "",
  next: "load replay",
  eta: "02:10 UTC",
  owner: "dri-alice",
};

function rows(n: number, blocker = ""): TimelineEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    time: new Date(Date.UTC(2025, 10, 13, 0, 0, i)).toISOString(),
    milestone: `milestone number ${i}`,
    owner: "dri-alice",
    status: "done" as const,
    blocker,
  }));
}

function view(timeline: TimelineEntry[], notes: string[] = []): WarRoomView {
  return {
    gate,
    runId: "gate-a-20251113-020000-abc123",
    label: "replay 5k",
    commit: "0123456789abcdef0123456789abcdef01234567",
    requestedBy: "octocat",
    update,
    timeline,
    notes,
    links: { checkRun: "http://127.0.0.1/checks/1" },
  };
}

describe("the war-room comment", () => {
  test("carries the run's marker, the update in the war room's format and the timeline", () => {
    const body = renderWarRoomComment(view(rows(3), ["⚠️ **Stale.** new commits"]));
    expect(body.startsWith(warRoomMarker("gate-a-20251113-020000-abc123"))).toBe(true);
    for (const field of [
      "TIME: 02:00 UTC",
      "MILESTONE: Phase 2/2 started: load",
      "STATUS: YELLOW",
      "PROGRESS: smoke PASS",
      "BLOCKERS: None",
      "NEXT: load replay",
      "ETA: 02:10 UTC",
      "OWNER: dri-alice",
    ]) {
      expect(body).toContain(field);
    }
    expect(body).toContain("| Time (UTC) | Milestone | Owner | Status | Blocker |");
    expect(body).toContain("milestone number 0");
    expect(body).toContain("> ⚠️ **Stale.** new commits");
    expect(body).toContain("`replay 5k` on 0123456");
    expect(body).toContain("[check run](http://127.0.0.1/checks/1)");
    expect(body).not.toContain("omitted");
  });

  test("a very long timeline stays under the limit by dropping its oldest rows, and says so", () => {
    const long = rows(5000, "x".repeat(40));
    const body = renderWarRoomComment(view(long));
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body.length).toBeGreaterThan(COMMENT_LIMIT - 500);
    expect(body).toContain("milestone number 4999");
    expect(body).not.toContain("| milestone number 0 |");
    const omitted = Number(/_(\d+) earlier timeline rows omitted/.exec(body)?.[1]);
    expect(omitted).toBeGreaterThan(0);
    // Exactly the oldest rows went: the first row kept is the one after the omitted ones.
    expect(body).toContain(`| milestone number ${omitted} |`);
    expect(body).not.toContain(`| milestone number ${omitted - 1} |`);
    expect(body).toContain("STATUS: YELLOW");
    expect(body).toContain("[check run]");
  });

  test("even an update larger than the limit is cut to fit", () => {
    const huge = renderWarRoomComment({ ...view(rows(2)), update: { ...update, progress: "p".repeat(70_000) } });
    expect(huge.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(huge).toMatch(/cut to fit GitHub's 65,536-character limit\)$/);
  });

  test("the final comment has the verdict table and links, within the limit", async () => {
    const run = await buildGateRun({ scale: 0.01 });
    const body = renderFinalComment(run, "replay all", { checkRun: "http://c", evidencePullRequest: "http://e" });
    expect(body).toContain(`${run.verdict}: \`replay all\``);
    expect(body).toContain("**Gate verdict:");
    expect(body).toContain("[evidence PR](http://e)");
    const small = renderFinalComment(run, "replay all", { evidencePullRequest: "http://e" }, [], 2000);
    expect(small.length).toBeLessThanOrEqual(2000);
    expect(small).toContain("[evidence PR](http://e)");
  });

  test("a check run's summary fits GitHub's byte limit and only a PASS is a success", () => {
    expect(fitSummary("y".repeat(100_000)).length).toBeLessThanOrEqual(CHECK_SUMMARY_LIMIT);
    expect(fitSummary("short")).toBe("short");
    // The limit is in bytes: a table full of ✅ (3 bytes each) is cut by bytes, never mid-character.
    const icons = fitSummary("| ✅ PASS ".repeat(10_000));
    expect(Buffer.byteLength(icons, "utf8")).toBeLessThanOrEqual(CHECK_SUMMARY_LIMIT);
    expect(Buffer.byteLength(icons, "utf8")).toBeGreaterThan(CHECK_SUMMARY_LIMIT - 10);
    expect(icons).not.toContain("\uFFFD");
    expect(icons).toMatch(/cut to fit GitHub's check run summary limit/);
    expect([
      conclusionFor("PASS", false),
      conclusionFor("FAIL", false),
      conclusionFor("ERROR", false),
      conclusionFor("PASS", true),
    ]).toEqual(["success", "failure", "failure", "cancelled"]);
  });
});
