// Each reviewer's standing on a pull request, read from GitHub rather than from webhooks: a delivery can be
// replayed, late or out of order, the list of reviews cannot. A person's standing is their latest review that
// is not a comment (APPROVED, CHANGES_REQUESTED or DISMISSED), as GitHub itself counts it.

import type { GitHub, RepoRef } from "../github/github.js";

export interface ReviewFact {
  id: number;
  login: string;
  /** "Bot" for an App's account. */
  type?: string;
  /** As the REST API spells it: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING. */
  state: string;
  /** The commit the review was made on. */
  commitId: string;
  submittedAt: string | null;
}

/** Every review of a pull request, oldest first (all pages: a busy PR has more than 100). */
export async function listReviews(github: GitHub, where: RepoRef, pull: number): Promise<ReviewFact[]> {
  const out: ReviewFact[] = [];
  for (let page = 1; ; page++) {
    const { data } = await github.rest.pulls.listReviews({ ...where, pull_number: pull, per_page: 100, page });
    for (const r of data) {
      if (!r.user) continue;
      out.push({
        id: r.id,
        login: r.user.login,
        type: r.user.type,
        state: r.state.toUpperCase(),
        commitId: r.commit_id ?? "",
        submittedAt: r.submitted_at ?? null,
      });
    }
    if (data.length < 100) return out;
  }
}

/** Each person's latest review that is not a comment nor pending, by login (lower case). Pure. */
export function standingOf(reviews: readonly ReviewFact[]): Map<string, ReviewFact> {
  const latest = new Map<string, ReviewFact>();
  const later = (a: ReviewFact, b: ReviewFact) => {
    const ta = Date.parse(a.submittedAt ?? "") || 0;
    const tb = Date.parse(b.submittedAt ?? "") || 0;
    return ta !== tb ? ta > tb : a.id > b.id;
  };
  for (const r of reviews) {
    if (r.state === "COMMENTED" || r.state === "PENDING") continue;
    const key = r.login.toLowerCase();
    const before = latest.get(key);
    if (!before || later(r, before)) latest.set(key, r);
  }
  return latest;
}
