// What the bot's record says about a deployment's commit for a `signoff` or `pass` rule: pure, so every
// wording is tested without servers. The rule's handler (deployment-protection.ts) reads the records and
// answers GitHub.

import type { KeyObject } from "node:crypto";
import type { Gate, GuardedEnvironment } from "../../gates/model/index.js";
import { promotionState } from "./promotion.js";
import type { RunRecord } from "../runs/run-state.js";

export function short(sha: string): string {
  return sha.slice(0, 7);
}

function approversOf(gate: Gate): string {
  const s = gate.signoff;
  return s.approvers.length ? s.approvers.join(", ") : `anyone with ${s.permission} permission`;
}

/** How a decision reads the records: the key their sign-off chains are checked with, and what it ignored. */
export interface RecordTrust {
  /** The bot's evidence signing key (undefined when it has none). */
  approvalKey: KeyObject | undefined;
  pullNumber?: number;
  /** Runs listed for the commit whose records failed their check or belong elsewhere: ignored, and said so. */
  rejected?: string[];
}

/**
 * What the bot's record says about `sha` for a `signoff` or `pass` rule: pure, so every wording is
 * tested without servers. `runs` are the gate's runs on the commit, newest first.
 */
export function decideFromRecord(
  gate: Gate,
  environment: GuardedEnvironment,
  sha: string,
  runs: RunRecord[],
  gateFile: string,
  trust: RecordTrust,
): { approved: boolean; line: string; backing?: RunRecord; evidenceUrl?: string } {
  const decided = decideFromTrusted(gate, environment, sha, runs, gateFile, trust);
  if (!trust.rejected?.length) return decided;
  const ids = trust.rejected.map((id) => `\`${id}\``).join(", ");
  return {
    ...decided,
    line: `${decided.line} (Ignored the record${trust.rejected.length === 1 ? "" : "s"} of ${ids}: ${trust.rejected.length === 1 ? "it fails" : "they fail"} the bot's integrity check or belong${trust.rejected.length === 1 ? "s" : ""} to another repository, installation or commit; the bot's log has details.)`,
  };
}

function decideFromTrusted(
  gate: Gate,
  environment: GuardedEnvironment,
  sha: string,
  runs: RunRecord[],
  gateFile: string,
  { approvalKey, pullNumber }: RecordTrust,
): { approved: boolean; line: string; backing?: RunRecord; evidenceUrl?: string } {
  const needsSignoff = environment.requires === "signoff";
  const stateOf = (r: RunRecord) => promotionState(r, approvalKey);
  const ok = runs.find((r) => stateOf(r) === "go" || (!needsSignoff && stateOf(r) === "pending"));
  const command = `${gate.command.prefix} replay all`;
  const where = pullNumber ? ` on pull request #${pullNumber}` : " on the pull request of that commit";
  // A newer measurement of the same commit that failed outweighs an older GO: fail closed.
  const failedSince = ok
    ? runs.slice(0, runs.indexOf(ok)).find((r) => r.phase === "finished" && !r.aborted && r.verdict !== "PASS")
    : undefined;
  if (ok && failedSince) {
    return {
      approved: false,
      line:
        `${gate.title}: run \`${ok.id}\` of ${short(sha)} PASSed, but the newer run \`${failedSince.id}\` of the same commit is ${failedSince.verdict}` +
        `${failedSince.reason ? ` (${failedSince.reason})` : ""}; the older PASS no longer vouches for it. Comment \`${gate.command.prefix} replay all\`${where} for a new run${needsSignoff ? " and sign off its evidence" : ""}, then re-run this deployment.`,
      backing: failedSince,
      evidenceUrl: failedSince.evidenceUrl,
    };
  }
  if (ok) {
    const by = ok.signoff?.status === "complete" ? ok.signoff.approvals.map((a) => `@${a.login}`).join(", ") : "";
    const basis = needsSignoff || by ? `PASSed every phase and was signed off by ${by || "the policy"}` : "PASSed every phase";
    return {
      approved: true,
      line: `${gate.title}: run \`${ok.id}\` on ${short(sha)} ${basis}.`,
      backing: ok,
      evidenceUrl: ok.evidenceUrl,
    };
  }
  const latest = runs.find((r) => r.phase !== "cancelled");
  const missing = (what: string) => ({
    approved: false,
    line: `${gate.title}: ${what}`,
    backing: latest,
    evidenceUrl: latest?.evidenceUrl,
  });
  const get = needsSignoff
    ? `comment \`${command}\`${where}, then ${approversOf(gate)} approves its evidence PR (signoff: in ${gateFile}), then re-run this deployment`
    : `comment \`${command}\`${where}, then re-run this deployment`;
  if (!latest)
    return missing(`no ${needsSignoff ? "signed-off " : ""}full PASS of ${short(sha)}: no run measured this commit. To get one, ${get}.`);
  const state = stateOf(latest);
  switch (state) {
    case "unfinished":
      return missing(
        `run \`${latest.id}\` of ${short(sha)} has not finished; re-run this deployment when it has${needsSignoff ? " and its evidence is signed off" : ""}.`,
      );
    case "partial":
      return missing(`run \`${latest.id}\` PASSed only ${latest.scope.replace(/\+/g, ", ")}, not every phase. To get a full PASS, ${get}.`);
    case "no-go":
      return missing(
        `the latest run of ${short(sha)}, \`${latest.id}\`, is ${latest.aborted ? "aborted" : (latest.verdict ?? "ERROR")}${latest.reason ? ` (${latest.reason})` : ""}. A new run must PASS: ${get}.`,
      );
    case "superseded":
      return missing(`run \`${latest.id}\` was superseded by a newer run; ${get}.`);
    case "withheld":
      return missing(
        `run \`${latest.id}\` of ${short(sha)} PASSed, but ${latest.attempt?.goWithheld ?? "the gate's retry rule gives it no GO"}. ${get}.`,
      );
    case "unverified":
      return missing(
        `run \`${latest.id}\` of ${short(sha)} is recorded as signed off, but its signed approval chain does not back that, so it is no GO. ${needsSignoff ? `Its evidence must be approved again: ${get}.` : get}`,
      );
    default: {
      const withdrawn = latest.signoff?.status === "withdrawn";
      const pr = latest.evidenceUrl ? `evidence PR ${latest.evidenceUrl}` : "its evidence PR";
      return missing(
        `run \`${latest.id}\` PASSed every phase of ${short(sha)}, but its sign-off is ${withdrawn ? "withdrawn" : "missing"}: ` +
          `${gate.signoff.approvals} approval(s) from ${approversOf(gate)} on ${pr} (signoff: in ${gateFile}), then re-run this deployment.`,
      );
    }
  }
}
