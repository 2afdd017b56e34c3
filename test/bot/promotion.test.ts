import { promotionState } from "../../src/bot/promotion.js";
import type { RunRecord } from "../../src/bot/run-state.js";

function run(o: Partial<RunRecord> = {}): RunRecord {
  return {
    id: "gate-a-run-1",
    gate: "gate-a",
    owner: "acme",
    repo: "service",
    installationId: 1,
    pullNumber: 1,
    headSha: "a".repeat(40),
    selector: "all",
    scope: "smoke+load+final",
    label: "replay all",
    requestedBy: "alice",
    requestedAt: "2026-01-01T00:00:00Z",
    phase: "finished",
    verdict: "PASS",
    full: true,
    ...o,
  };
}

const complete = {
  status: "complete" as const,
  approvals: [{ login: "bob", at: "2026-01-01T01:00:00Z", reviewId: 1, commitId: "b".repeat(40) }],
};

describe("promotion state of a run", () => {
  test("a finished full PASS that was signed off is a go", () => {
    expect(promotionState(run({ signoff: complete }))).toBe("go");
  });
  test("a full PASS not yet signed off is pending, and so is one whose approval was withdrawn", () => {
    expect(promotionState(run())).toBe("pending");
    expect(promotionState(run({ signoff: { status: "pending", approvals: [] } }))).toBe("pending");
    expect(promotionState(run({ signoff: { status: "withdrawn", approvals: [] } }))).toBe("pending");
  });
  test("a run that skipped phases is partial, signed off or not", () => {
    expect(promotionState(run({ full: false, scope: "smoke", signoff: complete }))).toBe("partial");
  });
  test("a FAIL, an ERROR or an aborted run is a no-go even when signed off", () => {
    expect(promotionState(run({ verdict: "FAIL", signoff: complete }))).toBe("no-go");
    expect(promotionState(run({ verdict: "ERROR", signoff: complete }))).toBe("no-go");
    expect(promotionState(run({ aborted: true, signoff: complete }))).toBe("no-go");
  });
  test("a superseded run is never a go", () => {
    expect(promotionState(run({ signoff: { ...complete, status: "superseded", supersededBy: "gate-a-run-2" } }))).toBe("superseded");
  });
  test("a run still queued, running, cancelled or lost is unfinished", () => {
    for (const phase of ["queued", "running", "cancelled", "lost"] as const)
      expect(promotionState(run({ phase, verdict: undefined }))).toBe("unfinished");
    expect(promotionState(run({ phase: "finished", verdict: undefined }))).toBe("unfinished");
  });
});
