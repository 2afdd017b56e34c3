import { promotionState } from "../../../src/bot/signoff/promotion.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import { signoffChainProblem } from "../../../src/bot/signoff/signoff-chain.js";
import { approvalKey, withSignedChain } from "../support/signed-signoff.js";

const KEY = approvalKey();

/** A record as the bot keeps it: its approvals backed by entries signed with KEY. */
function run(o: Partial<RunRecord> = {}): RunRecord {
  return withSignedChain(raw(o), KEY);
}

function raw(o: Partial<RunRecord> = {}): RunRecord {
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
    expect(promotionState(run({ signoff: complete }), KEY)).toBe("go");
  });
  test("a full PASS not yet signed off is pending, and so is one whose approval was withdrawn", () => {
    expect(promotionState(run(), KEY)).toBe("pending");
    expect(promotionState(run({ signoff: { status: "pending", approvals: [] } }), KEY)).toBe("pending");
    expect(promotionState(run({ signoff: { status: "withdrawn", approvals: [] } }), KEY)).toBe("pending");
  });
  test("a run that skipped phases is partial, signed off or not", () => {
    expect(promotionState(run({ full: false, scope: "smoke", signoff: complete }), KEY)).toBe("partial");
  });
  test("a FAIL, an ERROR or an aborted run is a no-go even when signed off", () => {
    expect(promotionState(run({ verdict: "FAIL", signoff: complete }), KEY)).toBe("no-go");
    expect(promotionState(run({ verdict: "ERROR", signoff: complete }), KEY)).toBe("no-go");
    expect(promotionState(run({ aborted: true, signoff: complete }), KEY)).toBe("no-go");
  });
  test("a superseded run is never a go", () => {
    expect(promotionState(run({ signoff: { ...complete, status: "superseded", supersededBy: "gate-a-run-2" } }), KEY)).toBe("superseded");
  });
  test("a run still queued, running, cancelled or lost is unfinished", () => {
    for (const phase of ["queued", "running", "cancelled", "lost"] as const)
      expect(promotionState(run({ phase, verdict: undefined }), KEY)).toBe("unfinished");
    expect(promotionState(run({ phase: "finished", verdict: undefined }), KEY)).toBe("unfinished");
  });
});

describe("a GO needs the record and its signed approval chain together", () => {
  const approvals = complete.approvals;
  test("a record saying complete with no signed entry is not a GO", () => {
    expect(promotionState(raw({ signoff: complete }), KEY)).toBe("unverified");
    expect(signoffChainProblem(raw({ signoff: complete }), KEY)).toMatch(/no signed entry backs the sign-off/);
  });
  test("entries signed with another key, or unsigned on a bot that signs, are not a GO", () => {
    expect(promotionState(withSignedChain(raw({ signoff: complete }), approvalKey()), KEY)).toBe("unverified");
    expect(signoffChainProblem(withSignedChain(raw({ signoff: complete }), undefined), KEY)).toMatch(/is unsigned/);
  });
  test("a bot without a signing key accepts its own unsigned chain, and no signed one it cannot check", () => {
    expect(promotionState(withSignedChain(raw({ signoff: complete }), undefined), undefined)).toBe("go");
    expect(promotionState(run({ signoff: complete }), undefined)).toBe("unverified");
  });
  test("approvals added to the record after the chain, or a chain of another run or commit, are not a GO", () => {
    const signed = run({ signoff: complete });
    const more = { ...signed, signoff: { ...complete, approvals: [...approvals, { ...approvals[0]!, login: "mallory", reviewId: 9 }] } };
    expect(signoffChainProblem(more, KEY)).toMatch(/are not the ones its signed entries record/);
    const other = run({ id: "gate-a-run-9", signoff: complete });
    expect(signoffChainProblem({ ...signed, signoffLog: other.signoffLog }, KEY)).toMatch(/is about run gate-a-run-9/);
    expect(promotionState({ ...signed, headSha: "c".repeat(40) }, KEY)).toBe("unverified");
  });
  test("a chain with an entry removed or reordered, or whose last outcome is not complete, is not a GO", () => {
    const two = { ...complete, approvals: [...approvals, { ...approvals[0]!, login: "carol", reviewId: 2 }] };
    const signed = run({ signoff: two });
    expect(promotionState(signed, KEY)).toBe("go");
    expect(signoffChainProblem({ ...signed, signoffLog: [...signed.signoffLog!].reverse() }, KEY)).toMatch(/does not link/);
    const pendingChain = run({ signoff: { ...complete, status: "pending" } });
    expect(signoffChainProblem({ ...pendingChain, signoff: complete }, KEY)).toMatch(/last signed entry says pending/);
  });
});
