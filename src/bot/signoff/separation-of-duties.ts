// Separation of duties over what was measured: who asked for a run, who opened the gated PR, and every
// author, committer and `Co-authored-by` of the commits from the merge base to the measured commit do not
// sign it off (unless the gate file says `signoff.allow_self: true`). An identity GitHub links to no account
// could be anyone, the approver included: it makes approvals not count unless `signoff.unlinked_identities:
// allow`. Bots never count as approvers. Reading is I/O (readDuties); judging is pure (dutyProblem).

import type { Gate } from "../../gates/model/index.js";
import type { GitHub, RepoRef } from "../github/github.js";
import type { RunRecord } from "../runs/run-state.js";

export function isBotAccount(login: string, type?: string): boolean {
  return type === "Bot" || /\[bot\]$/i.test(login);
}

/** One person named by a measured commit: its account when GitHub links the email to one. */
export interface MeasuredIdentity {
  commit: string;
  role: "author" | "committer" | "co-author";
  login: string | null;
  name: string;
  email: string;
}

export interface Duties {
  requester: string;
  pullAuthor: string | null;
  /** The gated PR's head now, and the commit the run measured. */
  headNow: string;
  measured: string;
  /** The branch the merge base was taken with. */
  base: string;
  commits: number;
  identities: MeasuredIdentity[];
}

interface CompareCommit {
  sha: string;
  author: { login: string } | null;
  committer: { login: string } | null;
  commit: { message: string; author: { name?: string; email?: string } | null; committer: { name?: string; email?: string } | null };
}

/** `Co-authored-by: Name <email>` trailers of a commit message. */
export function coAuthorsOf(message: string): { name: string; email: string }[] {
  const out: { name: string; email: string }[] = [];
  for (const m of message.matchAll(/^co-authored-by:\s*(.*?)\s*<([^>\s]+)>\s*$/gim)) out.push({ name: m[1]!, email: m[2]! });
  return out;
}

/** The login an email names by itself: an account's `<id>+<login>@users.noreply.github.com` address. */
function noreplyLogin(email: string): string | null {
  return /^(?:\d+\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$/i.exec(email)?.[1] ?? null;
}

/** Every commit from the merge base with the PR's base branch to `head`: the compare API, all pages (past 250). */
async function measuredCommits(github: GitHub, where: RepoRef, base: string, head: string): Promise<CompareCommit[]> {
  const out: CompareCommit[] = [];
  for (let page = 1; ; page++) {
    const { data } = await github.rest.repos.compareCommitsWithBasehead({ ...where, basehead: `${base}...${head}`, per_page: 100, page });
    out.push(...(data.commits as unknown as CompareCommit[]));
    if (data.commits.length < 100 || out.length >= data.total_commits) return out;
  }
}

/** Who may not sign off `run`, read from GitHub: the gated PR and the commits the run measured. */
export async function readDuties(github: GitHub, where: RepoRef, run: RunRecord): Promise<Duties> {
  const { data: pr } = await github.rest.pulls.get({ ...where, pull_number: run.pullNumber });
  const commits = await measuredCommits(github, where, pr.base.ref, run.headSha);
  // An email a linked commit carries is that account's, wherever else it appears (a co-author trailer).
  const linked = new Map<string, string>();
  for (const c of commits) {
    if (c.author && c.commit.author?.email) linked.set(c.commit.author.email.toLowerCase(), c.author.login);
    if (c.committer && c.commit.committer?.email) linked.set(c.commit.committer.email.toLowerCase(), c.committer.login);
  }
  const identities: MeasuredIdentity[] = [];
  for (const c of commits) {
    const person = (role: MeasuredIdentity["role"], account: { login: string } | null, who: { name?: string; email?: string } | null) =>
      identities.push({ commit: c.sha, role, login: account?.login ?? null, name: who?.name ?? "", email: who?.email ?? "" });
    person("author", c.author, c.commit.author);
    person("committer", c.committer, c.commit.committer);
    for (const co of coAuthorsOf(c.commit.message)) {
      const login = linked.get(co.email.toLowerCase()) ?? noreplyLogin(co.email);
      identities.push({ commit: c.sha, role: "co-author", login, name: co.name, email: co.email });
    }
  }
  return {
    requester: run.requestedBy,
    pullAuthor: pr.user?.login ?? null,
    headNow: pr.head.sha,
    measured: run.headSha,
    base: pr.base.ref,
    commits: commits.length,
    identities,
  };
}

/** Why no approval of `run` counts because the gated PR moved on from what was measured, or null. */
export function stalenessProblem(run: RunRecord, duties: Pick<Duties, "headNow" | "measured">): string | null {
  if (duties.headNow === duties.measured && !run.staleSince) return null;
  const now = duties.headNow !== duties.measured ? duties.headNow : run.staleSince!.headSha;
  return (
    `run \`${run.id}\` measured ${duties.measured.slice(0, 7)}, but the head of pull request #${run.pullNumber} is now ${now.slice(0, 7)}: ` +
    `the run is stale and its evidence says nothing about the code that would be promoted. Run the gate again on the new head`
  );
}

const ROLE_WORDS: Record<MeasuredIdentity["role"], string> = {
  author: "the author",
  committer: "the committer",
  "co-author": "a co-author (`Co-authored-by`)",
};

/** Why `reviewer` may not sign off `run` under separation of duties, or null when they may. Pure. */
export function dutyProblem(gate: Gate, run: RunRecord, duties: Duties, reviewer: string): string | null {
  if (gate.signoff.allowSelf) return null;
  const me = reviewer.toLowerCase();
  const file = gate.source.file;
  const setting = `(\`signoff.allow_self\` is false in ${file})`;
  if (duties.requester.toLowerCase() === me)
    return `@${reviewer} requested run \`${run.id}\`, and the person who asked for a run does not sign it off ${setting}`;
  if (duties.pullAuthor?.toLowerCase() === me)
    return `@${reviewer} opened the gated pull request #${run.pullNumber}, and its author does not sign off its gate ${setting}`;
  const range = `one of the ${duties.commits} commit(s) measured, from the merge base with \`${duties.base}\` to ${duties.measured.slice(0, 7)}`;
  // A trailer naming the reviewer's login as its name is taken at its word: it can only refuse.
  const own = duties.identities.find((i) => i.login?.toLowerCase() === me || (i.role === "co-author" && i.name.toLowerCase() === me));
  if (own)
    return `@${reviewer} is ${ROLE_WORDS[own.role]} of commit ${own.commit.slice(0, 7)} (${range}), and those who wrote the measured code do not sign off its gate ${setting}`;
  const unlinked = duties.identities.find((i) => i.login === null);
  if (unlinked && (gate.signoff.unlinkedIdentities ?? "refuse") === "refuse")
    return (
      `${ROLE_WORDS[unlinked.role]} of commit ${unlinked.commit.slice(0, 7)} (${range}), \`${unlinked.name} <${unlinked.email}>\`, is linked to no GitHub account, ` +
      `so the bot cannot tell that it is not @${reviewer}; no approval counts while a measured commit carries an unlinked identity ` +
      `(\`signoff.unlinked_identities: refuse\` in ${file}). Add that email to its owner's GitHub account, or set \`signoff.unlinked_identities: allow\` on the default branch`
    );
  return null;
}
