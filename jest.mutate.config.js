/**
 * The jest that `npm run mutate` (Stryker) runs for each mutant: only the fast suites that pin down
 * the judge, without the browser setup. Stryker runs every suite for a mutant in code that runs at
 * import (the statistics' rank table), so the statistics are mutated against their own suites alone
 * (MUTATE_PART=statistics), and the rest of the judge against all of the judge's suites.
 */
import base from "./jest.config.js";

const STATISTICS_TESTS = [
  "test/gates/verdict/statistics.test.ts",
  "test/gates/verdict/windowed-interval.test.ts",
  "test/gates/verdict/judge-mutants.test.ts",
];
const JUDGE_TESTS = [
  ...STATISTICS_TESTS,
  "test/gates/verdict/replay-validity.test.ts",
  "test/gates/verdict/verdict.test.ts",
  "test/gates/measure/host-contention-mutants.test.ts",
  "test/gates/measure/host-contention.test.ts",
];

const tests = process.env.MUTATE_PART === "statistics" ? STATISTICS_TESTS : JUDGE_TESTS;

export default {
  preset: base.preset,
  testEnvironment: base.testEnvironment,
  extensionsToTreatAsEsm: base.extensionsToTreatAsEsm,
  moduleNameMapper: base.moduleNameMapper,
  transform: base.transform,
  testTimeout: base.testTimeout,
  rootDir: ".",
  roots: ["<rootDir>/test/gates"],
  testMatch: tests.map((f) => `<rootDir>/${f}`),
  testSequencer: "<rootDir>/test/support/fast-first-sequencer.js",
};
