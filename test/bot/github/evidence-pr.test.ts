// The evidence PR's names: branch, title, body within GitHub's limit, and who is asked to review.

import { fileURLToPath } from "node:url";
import { loadGate } from "../../../src/gates/gate-file/index.js";
import {
  evidenceBranch,
  evidenceTitle,
  fitPullBody,
  parseEvidenceBranch,
  PULL_BODY_LIMIT,
  reviewerRequest,
} from "../../../src/bot/github/evidence-pr.js";

const gate = loadGate(fileURLToPath(new URL("../fixtures/gates/gate-a.yaml", import.meta.url)));

describe("the evidence PR", () => {
  test("lives on <gate>/evidence/<run-id>, and only such branches are evidence branches", () => {
    const branch = evidenceBranch("gate-a", "gate-a-20251113-020000-abc123");
    expect(branch).toBe("gate-a/evidence/gate-a-20251113-020000-abc123");
    expect(parseEvidenceBranch(branch)).toEqual({ gate: "gate-a", runId: "gate-a-20251113-020000-abc123" });
    expect(parseEvidenceBranch("feature/evidence")).toBeNull();
    expect(parseEvidenceBranch("gate-a/evidence/x/y")).toBeNull();
  });

  test("is titled with the verdict, the last phase's size and the day", () => {
    expect(evidenceTitle(gate, "PASS", ["smoke", "load"], "2025-11-13T02:41:00.000Z")).toBe("Gate A PASS: 5K replay evidence, 2025-11-13");
    expect(evidenceTitle(gate, "FAIL", ["smoke"], "2025-11-13T02:41:00.000Z")).toBe("Gate A FAIL: 1K replay evidence, 2025-11-13");
    expect(evidenceTitle(gate, "ERROR", ["custom"], "2025-11-14T00:00:00.000Z")).toBe("Gate A ERROR: custom replay evidence, 2025-11-14");
  });

  test("has the summary as its body, cut to GitHub's limit with a note", () => {
    expect(fitPullBody("# Gate A: PASS")).toBe("# Gate A: PASS");
    const cut = fitPullBody("x".repeat(PULL_BODY_LIMIT + 10));
    expect(cut.length).toBeLessThanOrEqual(PULL_BODY_LIMIT);
    expect(cut).toMatch(/summary cut to fit GitHub's pull request body limit/);
  });

  test("asks the policy's people and teams to review", () => {
    expect(reviewerRequest(["Agent3", "@acme/release-captains", "@bob"])).toEqual({
      reviewers: ["Agent3", "bob"],
      team_reviewers: ["release-captains"],
    });
  });
});
