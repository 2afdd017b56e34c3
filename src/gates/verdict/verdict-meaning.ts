// What each verdict means wherever it is shown or acted on: its icon, its colour, its exit code.
// A catalogue checked for completeness, so a new verdict cannot be forgotten by a renderer.

import type { Verdict } from "../model/index.js";

export interface VerdictMeaning {
  icon: string;
  /** For charts and HTML. */
  color: string;
  /** `gate run` and `gate ci` exit with this. */
  exitCode: number;
  /** One line for help texts and reports. */
  means: string;
}

export const VERDICT_MEANING = {
  PASS: { icon: "✅", color: "#2b8a3e", exitCode: 0, means: "every objective held, and the replay proves it" },
  FAIL: {
    icon: "❌",
    color: "#c92a2a",
    exitCode: 1,
    means: "an objective was missed, and the replay proves it (or the RBAC probe failed)",
  },
  ERROR: { icon: "⚠️", color: "#e67700", exitCode: 2, means: "could not run or measure something" },
  INCONCLUSIVE: {
    icon: "❔",
    color: "#e67700",
    exitCode: 2,
    means: "could not tell: measured, but the replay proves neither PASS nor FAIL",
  },
  PARTIAL: { icon: "🔷", color: "#1971c2", exitCode: 3, means: "the phases run passed, but the run left phases out: no GO" },
} satisfies Record<Verdict, VerdictMeaning>;

export function exitCodeFor(verdict: Verdict): number {
  return VERDICT_MEANING[verdict].exitCode;
}

export function verdictIcon(verdict: Verdict): string {
  return VERDICT_MEANING[verdict].icon;
}
