// The run as an in-toto Statement v1 with the test-result predicate, so the bundle plugs into supply-chain
// tooling: the subject is the commit under test (and, when the service was built from it, the archive's
// digest), the configuration the gate file's digest (and its blob SHA on the default branch).

import type { GateRun } from "../model/index.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const TEST_RESULT_PREDICATE = "https://in-toto.io/attestation/test-result/v0.1";

export interface TestResultStatement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { gitCommit: string; gitTree?: string } | { sha256: string } }[];
  predicateType: typeof TEST_RESULT_PREDICATE;
  predicate: {
    result: "PASSED" | "FAILED";
    configuration: { name: string; digest: { sha256: string; gitBlob?: string } }[];
    /** "<phase>/<slo>" and "rbac/<case>". */
    passedTests: string[];
    warnedTests: string[];
    failedTests: string[];
  };
}

/**
 * Tests are the SLOs of each phase and the RBAC cases. An SLO whose verdict is ERROR failed (fail closed); the SLOs
 * of a phase that did not run were not tested, so they are listed as warned. Only a PASS run is PASSED.
 */
export function attestationStatement(run: GateRun): TestResultStatement {
  const passed: string[] = [];
  const warned: string[] = [];
  const failed: string[] = [];
  for (const phase of run.phases) {
    const names = phase.slos.length > 0 ? phase.slos.map((s) => s.name) : run.gate.slos.map((s) => s.name);
    if (!phase.ran) {
      for (const name of names) warned.push(`${phase.name}/${name}`);
      continue;
    }
    for (const slo of phase.slos) (slo.verdict === "PASS" ? passed : failed).push(`${phase.name}/${slo.name}`);
  }
  for (const c of run.rbac) (c.verdict === "PASS" ? passed : failed).push(`rbac/${c.name}`);
  return {
    _type: STATEMENT_TYPE,
    subject: subjectOf(run),
    predicateType: TEST_RESULT_PREDICATE,
    predicate: {
      result: run.verdict === "PASS" ? "PASSED" : "FAILED",
      configuration: [
        {
          name: run.gate.source.file,
          digest: run.gate.source.blobSha
            ? { sha256: run.gate.source.sha256, gitBlob: run.gate.source.blobSha }
            : { sha256: run.gate.source.sha256 },
        },
      ],
      passedTests: passed,
      warnedTests: warned,
      failedTests: failed,
    },
  };
}

/**
 * The commit under test; when the service was built from it, also the tree that was built and the
 * archive it came from, so the subject names the bytes that ran, not only a commit id.
 */
function subjectOf(run: GateRun): TestResultStatement["subject"] {
  if (!run.source) return [{ name: run.gate.application, digest: { gitCommit: run.commit } }];
  return [
    { name: run.gate.application, digest: { gitCommit: run.source.commit, gitTree: run.source.treeSha } },
    { name: `${run.gate.application}@${run.source.commit.slice(0, 7)}.tar.gz`, digest: { sha256: run.source.tarballSha256 } },
  ];
}
