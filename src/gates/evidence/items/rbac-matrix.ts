// Evidence item 8: the service probed with each credential case, expected and actual status.

import type { GateRun } from "../../model/index.js";
import { markdownTable } from "../report/report-format.js";
import { reportItem } from "./report-item.js";

export const rbacMatrix = reportItem({
  id: "rbac_matrix",
  number: 8,
  title: "RBAC test matrix",
  path: "08-rbac",
  file: "matrix",
  render: (run) => ({ json: rbacDocument(run), markdown: rbacMarkdown(run) }),
});

function rbacDocument(run: GateRun): unknown {
  return {
    item: "rbac",
    cases: run.rbac.length,
    passed: run.rbac.filter((c) => c.verdict === "PASS").length,
    failed: run.rbac.filter((c) => c.verdict !== "PASS").length,
    matrix: run.rbac.map((c) => ({
      name: c.name,
      description: c.description,
      expectedStatus: c.expectedStatus,
      actualStatus: c.actualStatus,
      verdict: c.verdict,
    })),
  };
}

function rbacMarkdown(run: GateRun): string {
  const failed = run.rbac.filter((c) => c.verdict !== "PASS").length;
  return [
    "# RBAC test matrix",
    "",
    run.rbac.length === 0
      ? "NO CASE: the run probed no credential case, so there is no matrix to show."
      : `The service probed with ${run.rbac.length} credential cases: ${run.rbac.length - failed} PASS, ${failed} FAIL.`,
    "",
    markdownTable(
      ["Case", "Description", "Expected status", "Actual status", "Verdict"],
      run.rbac.map((c) => [c.name, c.description, c.expectedStatus, c.actualStatus, c.verdict]),
    ),
    "",
  ].join("\n");
}
