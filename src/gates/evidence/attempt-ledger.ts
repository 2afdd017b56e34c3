// The ledger of attempts on one commit: every run of a gate on it, whatever its verdict, one line each,
// signed like the sign-off chain (a DSSE envelope with the bot's evidence key, or `{"unsigned": …}` on a
// bot without one) and chained (each entry names the SHA-256 of the line before it; the first, of the
// ledger's genesis text, which names the repository, gate and commit). The bot keeps it; the bundle
// carries a copy as attempt-ledger.jsonl, which `gate verify` checks.

import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { signEnvelope, verifyEnvelope } from "./dsse.js";
import type { AttemptEntry, RunAttempts } from "../model/index.js";
import { levelText } from "../verdict/index.js";
import { sha256Hex } from "./manifest.js";
import { BUNDLE_FILES } from "./evidence-layout.js";

export const ATTEMPT_LEDGER_FILE = "attempt-ledger.jsonl";
export const ATTEMPT_PAYLOAD_TYPE = "application/vnd.release-gate.attempt+json";

/** What a ledger is about: the first link names it, so a whole ledger cannot pass for another commit's. */
export interface LedgerSubject {
  /** "owner/repo" */
  repository: string;
  gate: string;
  commit: string;
}

export function ledgerGenesis(s: LedgerSubject): string {
  return sha256Hex(
    Buffer.from(`release-gate attempt ledger v1\n${s.repository.toLowerCase()}\n${s.gate}\n${s.commit.toLowerCase()}\n`, "utf8"),
  );
}

/** The digest the next entry must name. */
export function ledgerHead(s: LedgerSubject, lines: readonly string[]): string {
  return lines.length ? sha256Hex(Buffer.from(lines[lines.length - 1]!, "utf8")) : ledgerGenesis(s);
}

/** One line of the ledger: signed with `key`, or unsigned when the bot has none. */
export function attemptLine(entry: AttemptEntry, key: KeyObject | undefined): string {
  return key
    ? JSON.stringify(signEnvelope(ATTEMPT_PAYLOAD_TYPE, Buffer.from(JSON.stringify(entry), "utf8"), key))
    : JSON.stringify({ unsigned: entry });
}

export interface LedgerCheck {
  entries: AttemptEntry[];
  /** The first thing wrong, with the entry's number; null when the whole chain holds. */
  problem: string | null;
}

/**
 * Reads the ledger's lines, checking each link, that each entry is about `subject` and numbered in
 * order, and, with `key` (the bot's signing key or its public half), each signature, refusing unsigned
 * lines. Without a key the links are checked (an edit, removal or reordering breaks them), not who
 * made them. Stops at the first problem. Pure.
 */
export function checkAttemptLedger(
  lines: readonly string[],
  subject: LedgerSubject,
  o: { key?: KeyObject; where?: string } = {},
): LedgerCheck {
  const publicKey = o.key ? (o.key.type === "private" ? createPublicKey(o.key) : o.key) : undefined;
  const where = o.where ?? "attempt ledger";
  const entries: AttemptEntry[] = [];
  let previous = ledgerGenesis(subject);
  for (const [i, line] of lines.entries()) {
    const at = `${where} entry ${i + 1}`;
    let parsed: { unsigned?: AttemptEntry } & Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return { entries, problem: `${at} is not JSON` };
    }
    let entry: AttemptEntry;
    if (parsed.unsigned) {
      if (publicKey) return { entries, problem: `${at} is unsigned, but the ledger is checked with a signing key` };
      entry = parsed.unsigned;
    } else if (publicKey) {
      const check = verifyEnvelope(parsed, publicKey, ATTEMPT_PAYLOAD_TYPE);
      if (!check.ok) return { entries, problem: `${at} has no valid signature (${check.problem})` };
      entry = JSON.parse(check.payload.toString("utf8")) as AttemptEntry;
    } else {
      try {
        entry = JSON.parse(Buffer.from(String(parsed.payload ?? ""), "base64").toString("utf8")) as AttemptEntry;
      } catch {
        return { entries, problem: `${at} is neither a signed nor an unsigned attempt entry` };
      }
    }
    if (entry?.previous !== previous)
      return { entries, problem: `${at} does not link to the entry before it: an entry was removed, added, edited or reordered` };
    if (
      entry.repository?.toLowerCase() !== subject.repository.toLowerCase() ||
      entry.gate !== subject.gate ||
      entry.commit?.toLowerCase() !== subject.commit.toLowerCase()
    )
      return {
        entries,
        problem: `${at} is about ${entry.repository} ${entry.gate} @ ${String(entry.commit).slice(0, 7)}, not this ledger's commit`,
      };
    if (entry.attempt !== i + 1) return { entries, problem: `${at} says it is attempt ${entry.attempt}, but it is entry ${i + 1}` };
    entries.push(entry);
    previous = sha256Hex(Buffer.from(line, "utf8"));
  }
  return { entries, problem: null };
}

/** "attempt 3 of 3 on this commit" */
export function attemptHeadline(a: Pick<RunAttempts, "number" | "max">): string {
  return `attempt ${a.number} of ${a.max} on this commit`;
}

/** "attempt 1 FAIL (run `x`), attempt 2 FAIL (run `y`)": the attempts before this one, with links where known. */
export function earlierAttemptsText(a: Pick<RunAttempts, "number" | "entries" | "links">, markdown = true): string {
  const earlier = a.entries.filter((e) => e.attempt < a.number);
  if (!earlier.length) return "no earlier attempt";
  return earlier
    .map((e) => {
      const link = a.links[e.run];
      const run = markdown ? `run \`${e.run}\`` : `run ${e.run}`;
      return `attempt ${e.attempt} ${e.verdict} (${markdown && link ? `[${run}](${link})` : run})`;
    })
    .join(", ");
}

/** The ledger as a Markdown table, for the evidence PR's front page. */
export function attemptsMarkdown(a: RunAttempts): string[] {
  const rows = a.entries.map((e) => {
    const link = a.links[e.run];
    const run = link ? `[\`${e.run}\`](${link})` : `\`${e.run}\``;
    return `| ${e.attempt}${e.attempt === a.number ? " (this run)" : ""} | ${run} | ${e.verdict}${e.full ? "" : " (partial)"} | ${levelText(e.alpha)} | ${e.origin} | ${e.at} |`;
  });
  return [
    `**${attemptHeadline(a)[0]!.toUpperCase()}${attemptHeadline(a).slice(1)}** (rule: ${a.rule}); earlier: ${earlierAttemptsText(a)}.`,
    ...(a.goWithheld ? ["", `⚠️ No GO from this run: ${a.goWithheld}.`] : []),
    "",
    "| Attempt | Run | Verdict | PASS bound level | Origin | Recorded |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    `Every run of the gate on this commit is in \`${ATTEMPT_LEDGER_FILE}\`, signed and chained; \`gate verify\` checks the chain.`,
  ];
}

/**
 * What is wrong with a bundle's attempt-ledger.jsonl, or [] (also when the bundle has none: a run outside
 * the bot's ledger). The chain must hold, be about the bundle's gate and commit, and end with this run
 * and its verdict; with `key`, every entry must carry the bot's signature.
 */
export async function bundleLedgerProblems(dir: string, key?: KeyObject): Promise<string[]> {
  const text = await readFile(join(dir, ATTEMPT_LEDGER_FILE), "utf8").catch(() => null);
  if (text === null) return [];
  let verdict: { run_id?: string; gate?: string; commit?: string; verdict?: string };
  try {
    verdict = JSON.parse(await readFile(join(dir, BUNDLE_FILES.verdict), "utf8")) as typeof verdict;
  } catch {
    return [`${ATTEMPT_LEDGER_FILE} cannot be checked: ${BUNDLE_FILES.verdict} is missing or not JSON`];
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (!lines.length) return [`${ATTEMPT_LEDGER_FILE} is empty: it must hold at least this run's own attempt`];
  // The repository is not in verdict.json: the first entry names it, and the genesis link binds the chain to it.
  const repository = readRepository(lines[0]!);
  const subject = { repository, gate: verdict.gate ?? "", commit: verdict.commit ?? "" };
  const check = checkAttemptLedger(lines, subject, { key, where: ATTEMPT_LEDGER_FILE });
  if (check.problem) return [check.problem];
  const last = check.entries[check.entries.length - 1]!;
  if (last.run !== verdict.run_id || last.verdict !== verdict.verdict)
    return [
      `${ATTEMPT_LEDGER_FILE}: its last entry is run ${last.run} (${last.verdict}), not this bundle's run ${verdict.run_id} (${verdict.verdict}): entries after it were removed, or the ledger is another run's`,
    ];
  return [];
}

/** The repository an entry line names, read without checking it (to find the ledger's subject). */
function readRepository(line: string): string {
  try {
    const parsed = JSON.parse(line) as { unsigned?: AttemptEntry; payload?: string };
    const entry = parsed.unsigned ?? (JSON.parse(Buffer.from(parsed.payload ?? "", "base64").toString("utf8")) as AttemptEntry);
    return String(entry.repository ?? "");
  } catch {
    return "";
  }
}
