// A run's attempt on its commit, as the bot decides it from the ledger (attempt-store.ts) and the gate's
// retry rule: refused past `max`, numbered and given its alpha when it starts, recorded with its verdict
// when it ends (whatever the verdict), and the ledger then carried into its evidence.

import { attemptRefusal, alphaForAttempt, goWithheld, type AttemptOutcome } from "../../gates/verdict/index.js";
import type { LedgerSubject } from "../../gates/evidence/index.js";
import { attemptRuleOf, type Gate, type RunAttempts, type RunOrigin, type Verdict } from "../../gates/model/index.js";
import type { AttemptStore } from "./attempt-store.js";
import { isTerminal, type RunState } from "./run-state.js";
import type { RecordAttempt, RunRecord } from "./run-record.js";

export function ledgerSubject(r: Pick<RunRecord, "owner" | "repo" | "gate" | "headSha">): LedgerSubject {
  return { repository: `${r.owner}/${r.repo}`, gate: r.gate, commit: r.headSha };
}

/**
 * What the ledger needs of a run: its id, repository, gate, commit and scope, and its attempt once started. A run
 * the bot keeps a record of (a PR's) or one it does not (a deployment's `requires: run`) alike.
 */
export type AttemptRun = Pick<RunRecord, "id" | "owner" | "repo" | "gate" | "headSha" | "full"> & Partial<Pick<RunRecord, "attempt">>;

/** The PR command that runs the same scope again: the origin NEXT names. */
export function prOrigin(gate: Gate, r: Pick<RunRecord, "selector">): RunOrigin {
  return { kind: "pr", command: `${gate.command.prefix} replay ${r.selector}` };
}

/** Where each run of the commit can be seen: its evidence PR, else its war room. */
async function linksOf(state: RunState, r: Pick<RunRecord, "owner" | "repo" | "gate" | "headSha">): Promise<Record<string, string>> {
  const runs = await state.runsForCommit(r.owner, r.repo, r.gate, r.headSha);
  const links: Record<string, string> = {};
  for (const run of runs) {
    const url = run.evidenceUrl ?? run.warRoomUrl;
    if (url) links[run.id] = url;
  }
  return links;
}

export interface AttemptsUsed {
  /** Attempts in the ledger plus runs of the commit asked for and not yet ended. */
  used: number;
  /** Why the ledger cannot be believed, or null. */
  problem: string | null;
}

/** How many attempts the commit has used, counting the runs still queued or running (`except` left out). */
export async function attemptsUsed(
  state: RunState,
  store: AttemptStore,
  r: Pick<RunRecord, "owner" | "repo" | "gate" | "headSha">,
  except?: string,
): Promise<AttemptsUsed> {
  const ledger = await store.read(ledgerSubject(r));
  const inLedger = new Set(ledger.entries.map((e) => e.run));
  const runs = await state.runsForCommit(r.owner, r.repo, r.gate, r.headSha);
  const inFlight = runs.filter((x) => x.id !== except && !isTerminal(x) && !inLedger.has(x.id)).length;
  return { used: ledger.entries.length + inFlight, problem: ledger.problem };
}

/**
 * Why a new run of `gate` on the commit may not start (past `max`, or a ledger that fails its check), as
 * the reply on the PR says it; null when the rule allows it.
 */
export async function attemptRefusalText(
  gate: Gate,
  state: RunState,
  store: AttemptStore,
  r: Pick<RunRecord, "owner" | "repo" | "gate" | "headSha">,
): Promise<string | null> {
  const { used, problem } = await attemptsUsed(state, store, r);
  const short = r.headSha.slice(0, 7);
  if (problem)
    return `${gate.title} was not run on ${short}: ${problem}. No further attempt counts on this commit until the bot's operator restores its ledger; push a new commit, which starts a new ledger.`;
  const why = attemptRefusal(attemptRuleOf(gate), used);
  if (!why) return null;
  return (
    `${gate.title} was not run on ${short}: ${why}. ` +
    `To gate this change again, push a new commit to the pull request (a new commit starts a new ledger) and comment \`${gate.command.prefix} replay all\` on it. ` +
    `The rule is \`attempts:\` in the gate file.`
  );
}

/** The attempt a run takes as it starts: its number, the alpha its PASS is judged at, what came before. */
export async function startAttempt(
  gate: Gate,
  state: RunState,
  store: AttemptStore,
  record: AttemptRun,
): Promise<{ attempt: RecordAttempt; earlier: AttemptOutcome[] } | { refused: string }> {
  const rule = attemptRuleOf(gate);
  const ledger = await store.read(ledgerSubject(record));
  if (ledger.problem) return { refused: `${ledger.problem}; push a new commit, which starts a new ledger` };
  const mine = ledger.entries.find((e) => e.run === record.id);
  const number = mine?.attempt ?? ledger.entries.length + 1;
  if (number > rule.max) return { refused: attemptRefusal(rule, ledger.entries.length) ?? `attempt ${number} is past max ${rule.max}` };
  const links = await linksOf(state, record);
  const before = ledger.entries.filter((e) => e.attempt < number);
  return {
    attempt: {
      number,
      max: rule.max,
      rule: rule.display,
      alpha: alphaForAttempt(rule, number),
      earlier: before.map((e) => ({ attempt: e.attempt, run: e.run, verdict: e.verdict, ...(links[e.run] ? { link: links[e.run] } : {}) })),
      goWithheld: null,
    },
    earlier: before.map((e) => ({ verdict: e.verdict, full: e.full })),
  };
}

/**
 * Records the ended run in its commit's ledger (once: a run already there adds nothing) and returns its
 * attempt as the record keeps it and, when the ledger holds it, the ledger as the bundle carries it.
 */
export async function finishAttempt(
  gate: Gate,
  state: RunState,
  store: AttemptStore,
  record: AttemptRun,
  ended: { verdict: Verdict; at: string; origin: RunOrigin["kind"] },
): Promise<{ attempt: RecordAttempt; bundle?: RunAttempts }> {
  const started = record.attempt;
  const rule = attemptRuleOf(gate);
  const alpha = started?.alpha ?? alphaForAttempt(rule, 1);
  const ledger = await store.append(ledgerSubject(record), {
    run: record.id,
    verdict: ended.verdict,
    full: record.full,
    alpha,
    origin: ended.origin,
    at: ended.at,
  });
  const base: RecordAttempt = started ?? { number: 0, max: rule.max, rule: rule.display, alpha, earlier: [], goWithheld: null };
  const mine = ledger.entries.find((e) => e.run === record.id);
  if (ledger.problem || !mine) {
    const problem = ledger.problem ?? `run ${record.id} is not in the attempt ledger of its commit`;
    return { attempt: { ...base, ledgerProblem: problem, goWithheld: `its attempt could not be recorded (${problem})` } };
  }
  const outcomes = ledger.entries.filter((e) => e.attempt <= mine.attempt).map((e) => ({ verdict: e.verdict, full: e.full }));
  const withheld = goWithheld(rule, outcomes);
  const links = await linksOf(state, record);
  const attempt: RecordAttempt = {
    ...base,
    number: mine.attempt,
    earlier: ledger.entries
      .filter((e) => e.attempt < mine.attempt)
      .map((e) => ({ attempt: e.attempt, run: e.run, verdict: e.verdict, ...(links[e.run] ? { link: links[e.run] } : {}) })),
    goWithheld: ended.verdict === "PASS" ? withheld : null,
  };
  return {
    attempt,
    bundle: {
      number: mine.attempt,
      max: rule.max,
      rule: rule.display,
      alpha,
      lines: ledger.lines.slice(0, mine.attempt),
      entries: ledger.entries.slice(0, mine.attempt),
      links,
      goWithheld: attempt.goWithheld,
    },
  };
}
