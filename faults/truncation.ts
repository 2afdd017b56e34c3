// What a fault-suite run left out of the full suite. A truncated run says so in its results file
// and on its first line, so its numbers are never read as the whole suite's.

export interface SuiteSelection {
  /** Every scenario the suite has. */
  scenarios: string[];
  /** --only: the scenarios (and "bad-input") run; null for all. */
  only: string[] | null;
  size: "full" | "ci";
  badInput: boolean;
  iterations: number;
}

/** The full suite's catalogue runs for the memory check. */
export const FULL_ITERATIONS = 100;

/** What the selection leaves out, one phrase each; empty for the full suite. */
export function truncation(a: SuiteSelection): string[] {
  const out: string[] = [];
  const missing = a.only ? a.scenarios.filter((n) => !a.only!.includes(n)) : [];
  if (missing.length) out.push(`--only: scenarios ${missing.join(", ")} not run`);
  if (a.size !== "full") out.push(`--size ${a.size}: smaller plans than the full suite`);
  if (!a.badInput || (a.only && !a.only.includes("bad-input"))) out.push("the bad-input catalogue not run");
  else if (a.iterations < FULL_ITERATIONS)
    out.push(`--iterations ${a.iterations}: the memory check ran ${a.iterations} of ${FULL_ITERATIONS} catalogue runs`);
  return out;
}
