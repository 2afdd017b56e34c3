// The pre-flight checks' results as a bundle shows them (00-preflight/, before item 1) and the one line
// that names what failed; pure, so the run and the bundle read the results alike.

import type { PreflightResult } from "../../model/index.js";

/** Where a bundle keeps the results (before item 1, as the checks came before the phases). */
export const PREFLIGHT_FILES = { json: "00-preflight/preflight.json", md: "00-preflight/preflight.md" } as const;

/** "pre-flight failed: redis_aof (expected appendonly yes (AOF on), found appendonly no)" or null. */
export function preflightFailure(results: readonly PreflightResult[]): string | null {
  const failed = results.filter((r) => r.verdict === "FAIL");
  if (!failed.length) return null;
  return `pre-flight failed: ${failed.map((r) => `${r.check} (expected ${r.expected}, found ${r.actual})`).join("; ")}`;
}

/** The evidence file's Markdown form. */
export function preflightMarkdown(results: readonly PreflightResult[]): string {
  const rows = results.map(
    (r) => `| ${r.check} | ${r.expected} | ${r.actual} | **${r.verdict}** | ${(r.detail ?? "").replace(/\|/g, "\\|")} |`,
  );
  return [
    "# Pre-flight checks",
    "",
    "Run after deploy, before the first phase. A failed check stops the run as FAIL.",
    "",
    "| Check | Expected | Found | Verdict | Detail |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}
