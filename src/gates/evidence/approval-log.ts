// The HOTL approval log (evidence item 9): who signed off, when, on which commit, with which verdict. It says
// "pending" until enough approvals are recorded; every approval or dismissal is kept, in the order it was recorded.

import { EvidenceError } from "./evidence-error.js";
import { type Approval, type GateRun, type Verdict, formatCount } from "../model/index.js";
import { markdownTable } from "./report/report-format.js";

export interface ApprovalLog {
  item: "approvals";
  gate: string;
  /** The commit the run measured. */
  commit: string;
  /** The run's verdict: an approval of a PASS signs off a GO; of a FAIL or ERROR it acknowledges a NO-GO. */
  verdict: Verdict;
  /** Approvals the gate's sign-off policy needs. */
  required: number;
  /** Who may approve (logins or @org/team), empty when anyone with the permission may. */
  approvers: string[];
  permission: string;
  status: "pending" | "complete" | "not required";
  /** What the sign-off means once complete. */
  meaning: string;
  approved: number;
  /** The latest recorded state of each reviewer, by reviewer. */
  current: Approval[];
  /** Every approval and dismissal in the order recorded. */
  history: Approval[];
  /** The run's attempt on its commit and the attempts before it (absent for a run outside the bot's ledger). */
  attempts?: ApprovalAttempts;
}

/** What a reviewer signs off, besides the run: which attempt on the commit it was, and what came before. */
export interface ApprovalAttempts {
  number: number;
  max: number;
  rule: string;
  earlier: { attempt: number; run: string; verdict: string; link?: string }[];
  /** Why the gate's retry rule gives no GO from this run whatever the sign-off, or null. */
  goWithheld: string | null;
}

function attemptsOf(run: GateRun): ApprovalAttempts | undefined {
  const a = run.attempts;
  if (!a) return undefined;
  return {
    number: a.number,
    max: a.max,
    rule: a.rule,
    earlier: a.entries
      .filter((e) => e.attempt < a.number)
      .map((e) => ({ attempt: e.attempt, run: e.run, verdict: e.verdict, ...(a.links[e.run] ? { link: a.links[e.run] } : {}) })),
    goWithheld: a.goWithheld,
  };
}

/** "Attempt 3 of 3 on this commit; earlier: attempt 1 FAIL (run x), attempt 2 FAIL (run y)." */
export function approvalAttemptsLine(a: ApprovalAttempts): string {
  const earlier = a.earlier.length
    ? a.earlier
        .map((e) => `attempt ${e.attempt} ${e.verdict} (${e.link ? `[run \`${e.run}\`](${e.link})` : `run \`${e.run}\``})`)
        .join(", ")
    : "none";
  return `Attempt ${a.number} of ${a.max} on this commit (rule: ${a.rule}); earlier attempts: ${earlier}.${a.goWithheld ? ` No GO from this run: ${a.goWithheld}.` : ""}`;
}

function sameApproval(a: Approval, b: Approval): boolean {
  return (
    a.reviewer === b.reviewer &&
    a.at === b.at &&
    a.commit === b.commit &&
    a.verdict === b.verdict &&
    a.state === b.state &&
    (a.pullRequest ?? null) === (b.pullRequest ?? null)
  );
}

/** The same fields in the same order whatever order the caller built them in, so equal logs are equal bytes. */
function canonical(a: Approval): Approval {
  const out: Approval = { reviewer: a.reviewer, at: a.at, commit: a.commit, verdict: a.verdict, state: a.state };
  if (a.pullRequest !== undefined) out.pullRequest = a.pullRequest;
  return out;
}

function settle(log: Omit<ApprovalLog, "status" | "meaning" | "approved" | "current">): ApprovalLog {
  const latest = new Map<string, Approval>();
  for (const a of log.history) latest.set(a.reviewer.toLowerCase(), a);
  const current = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, a]) => a);
  const approved = current.filter((a) => a.state === "approved").length;
  const status = log.required <= 0 ? "not required" : approved >= log.required ? "complete" : "pending";
  const meaning =
    log.verdict === "PASS"
      ? log.attempts?.goWithheld
        ? `no GO: the PASS is signed off, but ${log.attempts.goWithheld}`
        : "GO: the PASS is signed off for promotion"
      : `NO-GO acknowledged: the run's verdict is ${log.verdict}`;
  return {
    item: log.item,
    gate: log.gate,
    commit: log.commit,
    verdict: log.verdict,
    required: log.required,
    approvers: log.approvers,
    permission: log.permission,
    status,
    meaning,
    approved,
    current,
    history: log.history,
    ...(log.attempts ? { attempts: log.attempts } : {}),
  };
}

/** The log as a fresh bundle starts it: the run's own approvals (usually none), so "pending". */
export function initialApprovalLog(run: GateRun): ApprovalLog {
  return settle({
    item: "approvals",
    gate: run.gate.name,
    commit: run.commit,
    verdict: run.verdict,
    required: run.gate.signoff.approvals,
    approvers: [...run.gate.signoff.approvers],
    permission: run.gate.signoff.permission,
    history: run.approvals.map(canonical),
    ...(run.attempts ? { attempts: attemptsOf(run) } : {}),
  });
}

/** The log with one more approval or dismissal; null when that exact record is already there (a redelivered review). */
export function withApproval(log: ApprovalLog, approval: Approval): ApprovalLog | null {
  if (log.history.some((a) => sameApproval(a, approval))) return null;
  return settle({ ...log, history: [...log.history, canonical(approval)] });
}

/** Read back an approval-log.json, checking the fields recordApproval relies on. */
export function parseApprovalLog(text: string, file: string): ApprovalLog {
  const value = JSON.parse(text) as Partial<ApprovalLog>;
  if (
    value?.item !== "approvals" ||
    !Array.isArray(value.history) ||
    typeof value.required !== "number" ||
    typeof value.commit !== "string"
  ) {
    throw new EvidenceError(
      "bad_approval_log",
      `${file} is not an approval log written by gate (expected "item": "approvals", "required", "commit" and "history")`,
    );
  }
  return settle(value as ApprovalLog);
}

export function approvalStatusLine(log: ApprovalLog): string {
  if (log.status === "not required") return `No sign-off required by the gate's policy; ${formatCount(log.approved)} recorded.`;
  if (log.status === "pending") return `PENDING: ${formatCount(log.approved)} of ${formatCount(log.required)} required approvals recorded.`;
  const who = log.current
    .filter((a) => a.state === "approved")
    .map((a) => `@${a.reviewer}`)
    .join(", ");
  return `COMPLETE (${log.meaning}): ${formatCount(log.approved)} of ${formatCount(log.required)} required approvals, by ${who}.`;
}

export function approvalLogMarkdown(log: ApprovalLog): string {
  const policy = log.approvers.length ? `approvers ${log.approvers.join(", ")}` : `anyone with ${log.permission} permission`;
  return [
    "# HOTL approval log",
    "",
    `Gate \`${log.gate}\`, commit \`${log.commit}\`, verdict ${log.verdict}. Sign-off policy: ${formatCount(log.required)} approval(s) from ${policy}.`,
    "",
    `**${approvalStatusLine(log)}**`,
    "",
    ...(log.attempts ? [approvalAttemptsLine(log.attempts), ""] : []),
    "Every approval and dismissal, in the order recorded:",
    "",
    markdownTable(
      ["Reviewer", "At", "Commit", "Verdict approved", "State", "Pull request"],
      log.history.map((a) => [`@${a.reviewer}`, a.at, a.commit, a.verdict, a.state, a.pullRequest ?? ""]),
      "pending: no approval recorded yet",
    ),
    "",
  ].join("\n");
}
