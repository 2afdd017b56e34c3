/**
 * Tests run the TypeScript sources through ts-jest as ESM; type-checking happens once, in `tsc`, before jest.
 *
 * Two passes: most suites run two at a time; suites named `*.serial.test.ts` replay real traffic and
 * judge its latency, so they run afterwards one at a time (TEST_PASS=serial), on a machine that is
 * not also running other suites. A replay driver that falls behind makes its run invalid, by design.
 */
const serial = process.env.TEST_PASS === "serial";

export default {
  preset: "ts-jest/presets/default-esm",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: serial ? ["**/*.serial.test.ts"] : ["**/*.test.ts"],
  testPathIgnorePatterns: serial ? ["/node_modules/"] : ["/node_modules/", "\\.serial\\.test\\.ts$"],
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: { "^.+\\.ts$": ["ts-jest", { useESM: true, isolatedModules: true, diagnostics: false }] },
  testTimeout: 60000,
  maxWorkers: serial ? 1 : 2,
  globalSetup: "<rootDir>/test/support/browser-setup.ts",
  // After the run: how many tries each end-to-end test needed for its verdict (test/support/until-verdict.ts).
  reporters: ["default", "<rootDir>/test/support/tries-reporter.js"],
};
