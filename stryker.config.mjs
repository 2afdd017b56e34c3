// Mutation testing of the judge: `npm run mutate`. Stryker changes one thing at a time in the
// judge's files (a `>` to `>=`, a rank, a branch) and runs the judge's tests against each change; a
// change no test notices is a survivor. Equivalent survivors are listed in docs/mutation-testing.md.
// Not part of `npm test`: it takes many minutes, and runs niced at concurrency 2 on a shared machine.
//
// In parts, one after the other (MUTATE_PART; `npm run mutate` runs them all), each with its own
// report: the statistics against their own suites (their rank table is computed at import, so each
// of its mutants runs every suite Stryker is given), then the validity rule, the verdict and the host
// watch, each against all of the judge's suites (Stryker picks, per mutant, the tests that reach it).

export const PARTS = {
  statistics: ["src/gates/verdict/statistics.ts"],
  // The validity rule and the P95 objective that applies it.
  validity: ["src/gates/verdict/replay-validity.ts", "src/gates/verdict/slos/latency-p95.ts"],
  // The verdict: a phase's from its objectives, and the combination into the run's.
  verdict: ["src/gates/verdict/verdict.ts"],
  // The host watch: contended seconds, and the watch of the real host.
  host: ["src/gates/measure/host-contention.ts"],
};

const part = process.env.MUTATE_PART ?? "validity";
if (!(part in PARTS)) throw new Error(`MUTATE_PART=${part}: expected one of ${Object.keys(PARTS).join(", ")}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "jest",
  jest: { projectType: "custom", configFile: "jest.mutate.config.js", enableFindRelatedTests: false },
  mutate: PARTS[part],
  // The score is about decisions: which verdict, which rank, which branch. The wording of reasons
  // (string literals) is left out; the tests that quote reasons pin the wording that matters.
  mutator: { excludedMutations: ["StringLiteral"] },
  coverageAnalysis: "perTest",
  concurrency: 2,
  // Over the dry run's time: a mutant that loops forever costs this much (and a restart of jest).
  timeoutMS: 10_000,
  // Results are kept between runs (reports/, gitignored): a rerun tests only the mutants whose code
  // or covering tests changed. `rm -rf reports/mutation` starts over.
  incremental: true,
  incrementalFile: `reports/mutation/${part}/stryker-incremental.json`,
  ignorePatterns: ["/dist", "/evidence", "bench/results", "test/artifacts", "test-results", "reports", "docs", "*.log", "scratch-tmp"],
  reporters: ["clear-text", "progress", "html", "json"],
  clearTextReporter: { allowColor: false, logTests: false },
  htmlReporter: { fileName: `reports/mutation/${part}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${part}/mutation.json` },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
