// Jest reporter: after a run, how many tries the end-to-end tests that replay real traffic needed
// (test/support/until-verdict.ts appends one line per test to test-results/tries.jsonl). A rising
// share of INCONCLUSIVE tries is the judge, or the machine, deciding less often: it shows here.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const TRIES_FILE = fileURLToPath(new URL("../../test-results/tries.jsonl", import.meta.url));

export default class TriesReporter {
  onRunStart() {
    this.startedAt = new Date().toISOString();
  }

  onRunComplete() {
    if (!existsSync(TRIES_FILE)) return;
    const records = readFileSync(TRIES_FILE, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((r) => r.at >= this.startedAt);
    if (records.length === 0) return;
    const tries = records.reduce((n, r) => n + r.tries, 0);
    const inconclusive = records.reduce((n, r) => n + r.verdicts.filter((v) => v === "INCONCLUSIVE").length, 0);
    const lines = records.map(
      (r) => `  ${r.tries} of ${r.of} for ${r.expected} (${r.verdicts.join(", ")})${r.ok ? "" : " NOT REACHED"}: ${r.test}`,
    );
    const share = ((100 * inconclusive) / tries).toFixed(0);
    process.stderr.write(
      `\nTries of the tests that replay real traffic: ${records.length} tests, ${tries} tries, ` +
        `${inconclusive} INCONCLUSIVE (${share}%); ${records.filter((r) => r.tries > 1).length} needed more than one ` +
        `(all of them in ${TRIES_FILE.replace(/^.*\/(test-results\/)/, "$1")})\n${lines.join("\n")}\n`,
    );
  }
}
