// The retry rule a gate declares in advance (gate file `attempts:`), as arithmetic: the level each
// attempt on a commit is judged at, whether the rule lets a PASS become a GO, what it still allows after
// a run, and the false-GO bound it keeps. Pure: the bot, the war room and the docs all ask it.

import type { AttemptRule, Verdict } from "../model/index.js";

/** The one-sided alpha of a single run's PASS bound (the 97.5% upper bound): today's level, attempt 1's. */
export const BASE_ALPHA = 0.025;

/** The one-sided alpha attempt `j` (1-based) is judged at: alpha / 2^j when spending, the base level otherwise. */
export function alphaForAttempt(rule: AttemptRule, j: number): number {
  return rule.rule === "alpha_spending" ? rule.alpha / 2 ** j : BASE_ALPHA;
}

/** "98.75%": the confidence of the upper bound at one-sided `alpha`. */
export function levelText(alpha: number): string {
  return `${Number(((1 - alpha) * 100).toPrecision(6))}%`;
}

/**
 * The most a commit whose service truly misses its bar can be let through by the rule, over all its
 * attempts. Alpha spending: the sum of alpha / 2^j for j = 1..max, below alpha. Consecutive passes: a
 * union bound over the max - passes + 1 places a run of `passes` PASSes can start, each PASS at most
 * BASE_ALPHA; this one assumes the runs err independently (runs on one machine are not quite).
 */
export function falseGoBound(rule: AttemptRule): number {
  if (rule.rule === "alpha_spending") return rule.alpha * (1 - 2 ** -rule.max);
  return Math.max(0, rule.max - rule.passes + 1) * BASE_ALPHA ** rule.passes;
}

/** What a verdict counts as for the rule: only a full PASS. */
export interface AttemptOutcome {
  verdict: Verdict;
  full: boolean;
}

function trailingPasses(attempts: readonly AttemptOutcome[]): number {
  let n = 0;
  for (let i = attempts.length - 1; i >= 0 && attempts[i]!.verdict === "PASS" && attempts[i]!.full; i--) n++;
  return n;
}

/**
 * Why the rule withholds a GO from the last of `attempts` (every attempt on the commit, in order), or
 * null when a sign-off of its PASS may be a GO.
 */
export function goWithheld(rule: AttemptRule, attempts: readonly AttemptOutcome[]): string | null {
  const n = attempts.length;
  if (n > rule.max) return `attempt ${n} is past the ${rule.max} the gate allows on one commit (attempts: ${rule.display})`;
  if (rule.rule !== "consecutive_passes") return null;
  const streak = trailingPasses(attempts);
  if (streak >= rule.passes) return null;
  return `the gate's rule (attempts: ${rule.display}) needs ${rule.passes} consecutive full PASSes on this commit for a GO; this run makes ${streak}`;
}

/**
 * What the rule still allows after `done` attempts on the commit (this one included), in the war room's
 * words: "attempt 2 of 3 allowed, at the stricter level 98.75%", or "no attempts left on this commit".
 */
export function retryAllowance(rule: AttemptRule, done: number, attempts: readonly AttemptOutcome[] = []): string {
  if (done >= rule.max)
    return `no attempts left on this commit (${done} of ${rule.max} used): push a new commit, which starts a new ledger`;
  const next = done + 1;
  if (rule.rule === "alpha_spending")
    return `attempt ${next} of ${rule.max} allowed, at the stricter level ${levelText(alphaForAttempt(rule, next))}`;
  const needed = rule.passes - trailingPasses(attempts);
  if (needed > rule.max - done)
    return `attempt ${next} of ${rule.max} allowed, but ${rule.max - done} attempt(s) cannot make the ${rule.passes} consecutive full PASSes a GO needs: push a new commit`;
  return `attempt ${next} of ${rule.max} allowed, at the base level ${levelText(BASE_ALPHA)} (a GO needs ${rule.passes} consecutive full PASSes)`;
}

/** Why a new run on a commit with `done` attempts is refused, or null when the rule allows one. */
export function attemptRefusal(rule: AttemptRule, done: number): string | null {
  if (done < rule.max) return null;
  return `this commit has had ${done} attempt${done === 1 ? "" : "s"}, the most the gate's rule allows (attempts: ${rule.display}); every further run would add another chance of a false GO`;
}
