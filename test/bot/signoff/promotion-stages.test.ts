// What the deployment protection rule decides from the bot's record, the order and soak between
// promotion stages, and where the App's answer may go: pure functions, no servers.

import { loadGate } from "../../../src/gates/gate-file/index.js";
import type { Gate } from "../../../src/gates/model/gate.js";
import { callbackRunId, guardsOf } from "../../../src/bot/events/deployment-protection.js";
import { decideFromRecord } from "../../../src/bot/signoff/protection-decision.js";
import { runTarget } from "../../../src/bot/runs/environment-run.js";
import { renderStages, stageProblem, type StageRow } from "../../../src/bot/signoff/promotion-stages.js";
import { promotionState } from "../../../src/bot/signoff/promotion.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import { approvalKey, withSignedChain } from "../support/signed-signoff.js";

const gateA: Gate = loadGate(new URL("../fixtures/deploy-gates/gate-a.yaml", import.meta.url).pathname);
const gateP: Gate = loadGate(new URL("../fixtures/deploy-gates/gate-p.yaml", import.meta.url).pathname, {
  CANARY_URL: "https://canary.example.com",
});
const production = gateA.environments!.find((e) => e.name === "production")!;
const staging = gateA.environments!.find((e) => e.name === "staging")!;
const SHA = "a".repeat(40);
const KEY = approvalKey();

/** A record as the bot keeps it: its approvals backed by entries signed with KEY. */
function run(patch: Partial<RunRecord>): RunRecord {
  return withSignedChain(raw(patch), KEY);
}

function raw(patch: Partial<RunRecord>): RunRecord {
  return {
    id: "gate-a-20261129-050000-abcdef",
    gate: "gate-a",
    owner: "acme",
    repo: "service",
    installationId: 1,
    pullNumber: 7,
    headSha: SHA,
    selector: "all",
    scope: "smoke",
    label: "replay all",
    requestedBy: "dri-alice",
    requestedAt: "2026-11-29T05:00:00Z",
    phase: "finished",
    verdict: "PASS",
    reason: "every phase passed",
    full: true,
    evidenceUrl: "https://github.com/acme/service/pull/8",
    ...patch,
  };
}

const complete = {
  status: "complete" as const,
  approvals: [{ login: "dri-alice", at: "2026-11-29T05:10:00Z", reviewId: 3, commitId: "b".repeat(40) }],
};

describe("a deployment decided from the bot's record", () => {
  test("promotion state: GO only for a finished, full, signed-off PASS", () => {
    expect(promotionState(run({ signoff: complete }), KEY)).toBe("go");
    expect(promotionState(run({}), KEY)).toBe("pending");
    expect(promotionState(run({ full: false, signoff: complete }), KEY)).toBe("partial");
    expect(promotionState(run({ verdict: "FAIL", signoff: complete }), KEY)).toBe("no-go");
    expect(promotionState(run({ aborted: true, signoff: complete }), KEY)).toBe("no-go");
    expect(promotionState(run({ phase: "running", verdict: undefined }), KEY)).toBe("unfinished");
    expect(promotionState(run({ signoff: { ...complete, status: "superseded" } }), KEY)).toBe("superseded");
  });

  test("signoff approves a signed-off full PASS, naming the run and who signed off", () => {
    const d = decideFromRecord(gateA, production, SHA, [run({ signoff: complete })], "gates/gate-a.yaml", {
      approvalKey: KEY,
      pullNumber: 7,
    });
    expect(d).toMatchObject({ approved: true, evidenceUrl: "https://github.com/acme/service/pull/8" });
    expect(d.line).toBe("Gate A: run `gate-a-20261129-050000-abcdef` on aaaaaaa PASSed every phase and was signed off by @dri-alice.");
  });

  test("signoff rejects every shortfall with what is missing and how to get it", () => {
    const none = decideFromRecord(gateA, production, SHA, [], "gates/gate-a.yaml", { approvalKey: KEY, pullNumber: 7 });
    expect(none.approved).toBe(false);
    expect(none.line).toBe(
      "Gate A: no signed-off full PASS of aaaaaaa: no run measured this commit. To get one, comment `/gate-a replay all` on pull request #7, then dri-alice approves its evidence PR (signoff: in gates/gate-a.yaml), then re-run this deployment.",
    );
    expect(decideFromRecord(gateA, production, SHA, [run({})], "gates/gate-a.yaml", { approvalKey: KEY }).line).toContain(
      "PASSed every phase of aaaaaaa, but its sign-off is missing: 1 approval(s) from dri-alice on evidence PR https://github.com/acme/service/pull/8",
    );
    expect(
      decideFromRecord(gateA, production, SHA, [run({ signoff: { ...complete, status: "withdrawn" } })], "g.yaml", { approvalKey: KEY })
        .line,
    ).toContain("its sign-off is withdrawn");
    expect(decideFromRecord(gateA, production, SHA, [run({ full: false, scope: "smoke" })], "g.yaml", { approvalKey: KEY }).line).toContain(
      "PASSed only smoke, not every phase",
    );
    expect(
      decideFromRecord(gateA, production, SHA, [run({ verdict: "FAIL", reason: "latency_p95 over its bar" })], "g.yaml", {
        approvalKey: KEY,
      }).line,
    ).toContain("the latest run of aaaaaaa, `gate-a-20261129-050000-abcdef`, is FAIL (latency_p95 over its bar)");
    expect(
      decideFromRecord(gateA, production, SHA, [run({ phase: "running", verdict: undefined })], "g.yaml", { approvalKey: KEY }).line,
    ).toContain("has not finished");
  });

  test("a newer failed run of the same commit outweighs an older signed-off PASS; an aborted one does not; pass needs no sign-off", () => {
    const older = run({ id: "older", signoff: complete });
    const newer = run({ id: "newer", verdict: "FAIL", reason: "ordering_violations 3" });
    const refused = decideFromRecord(gateA, production, SHA, [newer, older], "g.yaml", { approvalKey: KEY });
    expect(refused.approved).toBe(false);
    expect(refused.line).toContain(
      "run `older` of aaaaaaa PASSed, but the newer run `newer` of the same commit is FAIL (ordering_violations 3)",
    );
    expect(
      decideFromRecord(gateA, production, SHA, [run({ id: "stopped", verdict: "ERROR", aborted: true }), older], "g.yaml", {
        approvalKey: KEY,
      }),
    ).toMatchObject({ approved: true, backing: older });
    expect(decideFromRecord(gateA, staging, SHA, [run({})], "g.yaml", { approvalKey: KEY })).toMatchObject({ approved: true });
    expect(decideFromRecord(gateA, staging, SHA, [run({ full: false })], "g.yaml", { approvalKey: KEY }).approved).toBe(false);
  });

  test("only gates that name the environment guard it", () => {
    expect(guardsOf([gateA, gateP], "production").map((g) => g.gate.name)).toEqual(["gate-a"]);
    expect(guardsOf([gateA, gateP], "canary-10").map((g) => g.gate.name)).toEqual(["gate-p"]);
    expect(guardsOf([gateA, gateP], "qa")).toEqual([]);
  });
});

describe("where the App answers, and what a run measures", () => {
  const where = { owner: "acme", repo: "service" };
  test("the callback must be this repository's deployment_protection_rule URL", () => {
    expect(callbackRunId("https://api.github.com/repos/acme/service/actions/runs/42/deployment_protection_rule", where)).toEqual({
      runId: 42,
    });
    expect(callbackRunId("https://ghe.example.com/api/v3/repos/Acme/Service/actions/runs/7/deployment_protection_rule", where)).toEqual({
      runId: 7,
    });
    expect(callbackRunId("https://api.github.com/repos/mallory/trap/actions/runs/42/deployment_protection_rule", where)).toMatchObject({
      code: "bad_callback",
      message: expect.stringContaining("belongs to mallory/trap, not to acme/service"),
    });
    expect(callbackRunId("https://api.github.com/repos/acme/service/issues/1/comments", where)).toMatchObject({ code: "bad_callback" });
    expect(callbackRunId(undefined, where)).toMatchObject({ code: "bad_callback", message: expect.stringContaining("is missing") });
  });

  test("a deployment's environment_url is used only when it is the configured service", () => {
    const canary = gateP.environments!.find((e) => e.name === "canary-10")!;
    expect(runTarget(canary, {})).toEqual({ target: canary.target });
    expect(runTarget(canary, { environment_url: "https://canary.example.com/v2" })).toEqual({
      target: { ...canary.target, url: "https://canary.example.com/v2" },
    });
    expect(runTarget(canary, { environment_url: "https://evil.example.com" })).toMatchObject({
      problem: expect.stringContaining("a deployment cannot choose what its gate measures"),
    });
  });
});

describe("promotion stages", () => {
  const live = gateP.environments!.find((e) => e.name === "live")!;
  const canaryApproved: StageRow = {
    stage: "canary-10",
    state: "approved",
    at: "2026-11-29T05:00:00.000Z",
    who: "octocat",
    basis: "run PASS",
    deploymentId: 1,
  };

  test("a stage waits for the one before it to approve the same commit, then for its soak", () => {
    const soaking = { ...live, soakMs: 30 * 60_000 };
    expect(stageProblem(gateP, live, [], SHA, new Date())).toBe(
      "live comes after canary-10 in the promotion (canary-10 → live), and canary-10 has not approved aaaaaaa: deploy aaaaaaa to canary-10 first",
    );
    expect(stageProblem(gateP, live, [{ ...canaryApproved, state: "rejected" }], SHA, new Date())).toContain("canary-10 has not approved");
    expect(stageProblem(gateP, soaking, [canaryApproved], SHA, new Date("2026-11-29T05:10:00Z"))).toBe(
      "canary-10 approved aaaaaaa at 2026-11-29 05:00 UTC and live soaks 30m after it: re-run this deployment from 2026-11-29 05:30 UTC",
    );
    expect(stageProblem(gateP, soaking, [canaryApproved], SHA, new Date("2026-11-29T05:30:00Z"))).toBeNull();
    expect(stageProblem(gateP, gateP.environments![0]!, [], SHA, new Date())).toBeNull();
  });

  test("the stage table shows each stage's latest decision in promotion order; the log has one line per decision", () => {
    const text = renderStages(gateP, [
      canaryApproved,
      { ...canaryApproved, stage: "live", state: "rejected", at: "2026-11-29T05:40:00.000Z", basis: "sign-off missing", deploymentId: 2 },
    ]);
    expect(text).toContain("| canary-10 | run | ✅ approved | 2026-11-29 05:00 UTC | @octocat |");
    expect(text).toContain("| live | signoff | ❌ rejected | 2026-11-29 05:40 UTC | @octocat |");
    expect(text.split("\n").filter((l) => l.startsWith("- "))).toEqual([
      "- 2026-11-29 05:00 UTC **canary-10** APPROVED (deployment 1 by @octocat): run PASS",
      "- 2026-11-29 05:40 UTC **live** REJECTED (deployment 2 by @octocat): sign-off missing",
    ]);
    expect(renderStages(gateP, [])).toContain("| live | signoff | ⏳ not yet | | |");
  });
});
