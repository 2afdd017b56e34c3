// End-to-end tests that replay real traffic on a shared 2-core machine: a replay that cannot prove
// either way is INCONCLUSIVE by design, so such a test may try again, but only a bounded number of
// times, and only the verdict it expects passes it. Three INCONCLUSIVEs are a failure, not a pass:
// a judge that went soft (never deciding) must not keep these tests green. Every call records how
// many tries it took (a line on stderr, and test-results/tries.jsonl, which the tries reporter sums
// up after the run), so a rising INCONCLUSIVE rate shows in the test output.

import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Where each call appends one JSON line; the tries reporter (tries-reporter.js) reads it. TRIES_FILE overrides (the helper's own test). */
export const TRIES_FILE = fileURLToPath(new URL("../../test-results/tries.jsonl", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** One call of untilVerdict, as recorded. */
export interface TriesRecord {
  /** The test's file (relative to the repository) and full name. */
  file: string;
  test: string;
  expected: string;
  /** Each try's verdict, in order. */
  verdicts: string[];
  tries: number;
  /** The most tries allowed. */
  of: number;
  /** Whether one of the tries ended in the expected verdict. */
  ok: boolean;
  /** When the call ended, ISO 8601. */
  at: string;
}

export interface UntilVerdictOptions<T> {
  /** The verdict of one try's result; by default its `verdict` field. */
  verdictOf?: (result: T) => string | undefined;
  /** Why a try ended as it did, for the failure message; by default its `reason` field. */
  reasonOf?: (result: T) => string | undefined;
  /** Verdicts that say the machine, not the service, decided: tried again. Default: INCONCLUSIVE only. */
  retryOn?: string[];
  /** What the record calls the call; by default the current test's name (there is none in a beforeAll). */
  name?: string;
  /** Cleans up after a try that is tried again (a namespace, a fake GitHub). */
  discard?: (result: T) => Promise<void> | void;
}

const field = (key: string) => (r: unknown) => {
  const v = (r as Record<string, unknown> | undefined)?.[key];
  return typeof v === "string" ? v : undefined;
};

/**
 * Runs `run` until it ends in `expected`, at most `tries` times. A try that ends in a verdict of
 * `retryOn` (INCONCLUSIVE) is tried again; any other verdict ends the loop. Throws, naming every
 * try's verdict and reason, unless the last try ended in `expected`.
 */
export async function untilVerdict<T>(
  expected: string,
  tries: number,
  run: (attempt: number) => Promise<T>,
  options: UntilVerdictOptions<T> = {},
): Promise<{ result: T; tries: number }> {
  const verdictOf = options.verdictOf ?? field("verdict");
  const reasonOf = options.reasonOf ?? ((r: T) => [field("reason")(r), runContext(r)].filter(Boolean).join("\n    "));
  const retryOn = options.retryOn ?? ["INCONCLUSIVE"];
  const seen: { verdict: string; reason: string }[] = [];
  for (let attempt = 1; attempt <= tries; attempt++) {
    const result = await run(attempt);
    const verdict = verdictOf(result) ?? "(no verdict)";
    seen.push({ verdict, reason: reasonOf(result) ?? "" });
    if (verdict === expected) {
      recordTries(options.name, expected, seen, tries, true);
      return { result, tries: attempt };
    }
    if (!retryOn.includes(verdict) || attempt === tries) break;
    await options.discard?.(result);
  }
  recordTries(options.name, expected, seen, tries, false);
  const list = seen.map((s, i) => `  try ${i + 1}: ${s.verdict}${s.reason ? `: ${s.reason}` : ""}`).join("\n");
  throw new Error(`expected ${expected} within ${tries} tries, got ${seen.map((s) => s.verdict).join(", ")}:\n${list}`);
}

interface RunLike {
  machine?: { summary?: string };
  phases?: {
    name?: string;
    resources?: { cpu?: { driverUsPerRequest: number | null; serverUsPerRequest: number | null; workersUsPerEvent: number | null } };
    contention?: { peakForeignCores: number; meanForeignCores: number; topForeign: { command: string; cpuSeconds: number }[] };
  }[];
}

/**
 * For a gate run: the machine it measured on and, per phase, the CPU per request and the other work on the
 * host, so that a try that ended otherwise shows whether the host or the service was slow.
 */
function runContext(r: unknown): string | undefined {
  const run = r as RunLike | undefined;
  if (!run?.machine && !run?.phases?.length) return undefined;
  const us = (x: number | null | undefined) => (x == null ? "-" : `${Math.round(x)} µs`);
  const phases = (run.phases ?? []).map((p) => {
    const cpu = p.resources?.cpu;
    const c = p.contention;
    const other = c
      ? `other work peak ${c.peakForeignCores} cores, mean ${c.meanForeignCores}${c.topForeign.length ? ` (${c.topForeign.map((f) => `${f.command} ${f.cpuSeconds} CPU-s`).join(", ")})` : ""}`
      : "other work not read";
    return `${p.name}: CPU per request driver ${us(cpu?.driverUsPerRequest)}, server ${us(cpu?.serverUsPerRequest)}, workers ${us(cpu?.workersUsPerEvent)}; ${other}`;
  });
  return [run.machine?.summary ? `machine: ${run.machine.summary}` : "", ...phases].filter(Boolean).join("\n    ");
}

function recordTries(
  name: string | undefined,
  expected: string,
  seen: { verdict: string; reason: string }[],
  of: number,
  ok: boolean,
): void {
  const state = expect.getState();
  const record: TriesRecord = {
    file: state.testPath ? relative(ROOT, state.testPath) : "(unknown)",
    test: name ?? state.currentTestName ?? "(outside a test)",
    expected,
    verdicts: seen.map((s) => s.verdict),
    tries: seen.length,
    of,
    ok,
    at: new Date().toISOString(),
  };
  // A try tried again is a verdict the machine, not the service, decided: why, on stderr, so that a run that passed
  // on its second try still says what held up its first (the thrown error says it for a call that failed).
  const retried = ok ? seen.slice(0, -1) : [];
  process.stderr.write(`${triesLine(record)}\n${retried.map((s, i) => `  try ${i + 1}: ${s.verdict}: ${s.reason}\n`).join("")}`);
  const file = process.env.TRIES_FILE ?? TRIES_FILE;
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** "tries: 2 of 3 for FAIL (INCONCLUSIVE, FAIL): test name". */
export function triesLine(r: Pick<TriesRecord, "tries" | "of" | "expected" | "verdicts" | "ok" | "test">): string {
  return `tries: ${r.tries} of ${r.of} for ${r.expected} (${r.verdicts.join(", ")})${r.ok ? "" : " NOT REACHED"}: ${r.test}`;
}
