// `signoff:` who may turn a PASS into a GO, and where the evidence PR goes.

import type { SignoffPolicy } from "../../model/index.js";
import { countIn, oneOf } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { DEFAULT_EVIDENCE_BASE, PERMISSIONS, SIGNOFF_KEYS, UNLINKED_IDENTITIES } from "../schema.js";

export function readSignoff(r: GateReader, entry: Entry | undefined): SignoffPolicy | undefined {
  if (!entry)
    return {
      approvals: 1,
      approvers: [],
      permission: "write",
      allowSelf: false,
      evidenceBase: DEFAULT_EVIDENCE_BASE,
      unlinkedIdentities: "refuse",
    };
  const m = r.mapping(entry, "signoff", SIGNOFF_KEYS, "the sign-off policy");
  if (!m) return undefined;
  const at = (k: string) => m.entries.get(k);
  // A GO needs at least one person: a policy of zero approvals would let a run sign itself off.
  const approvals = at("approvals") ? r.value(at("approvals")!, "signoff.approvals", countIn(1, 20)) : 1;
  const allowSelf = at("allow_self")
    ? r.value(at("allow_self")!, "signoff.allow_self", (raw) => {
        if (typeof raw === "boolean") return raw;
        throw new Error(
          `${JSON.stringify(raw)} is not true or false; expected false (the requester and the PR's authors may not sign off) or true`,
        );
      })
    : false;
  const evidenceBase = at("evidence_base")
    ? r.text(
        at("evidence_base"),
        "signoff.evidence_base",
        /^(?!\/)(?!.*\.\.)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/,
        "a branch name such as release-gate/evidence",
      )
    : DEFAULT_EVIDENCE_BASE;
  const unlinkedIdentities = at("unlinked_identities")
    ? r.value(at("unlinked_identities")!, "signoff.unlinked_identities", (raw) => {
        if (raw === "refuse" || raw === "allow") return raw;
        throw new Error(
          `${JSON.stringify(raw)} is not one of ${UNLINKED_IDENTITIES.join(", ")}; expected refuse (an approval does not count while a measured commit's author, committer or co-author is linked to no GitHub account) or allow`,
        );
      })
    : "refuse";
  const permission = at("permission") ? r.value(at("permission")!, "signoff.permission", oneOf(PERMISSIONS)) : "write";
  let approvers: string[] | undefined = [];
  const listEntry = at("approvers");
  if (listEntry) {
    const items = r.sequence(listEntry, "signoff.approvers", `a list of GitHub logins or @org/team names`);
    if (!items) approvers = undefined;
    else {
      items.forEach((item, i) => {
        const who = r.value({ key: item, value: item }, `signoff.approvers[${i}]`, (raw) => {
          if (typeof raw === "string" && /^(@[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+|[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/.test(raw))
            return raw;
          throw new Error(
            `${JSON.stringify(raw)} is not a GitHub login or team; expected a login such as Agent3 or a team such as @acme/release-captains`,
          );
        });
        if (who === undefined) approvers = undefined;
        else approvers?.push(who);
      });
    }
  }
  if (
    approvals === undefined ||
    permission === undefined ||
    approvers === undefined ||
    allowSelf === undefined ||
    evidenceBase === undefined ||
    unlinkedIdentities === undefined
  )
    return undefined;
  const list: string[] = approvers;
  if (list.length > 0 && !list.some((a) => a.startsWith("@")) && approvals > list.length) {
    r.problem(
      at("approvals")?.value,
      "signoff.approvals",
      `${approvals} approvals can never come from ${list.length} approver(s); expected at most ${list.length}, or more approvers`,
    );
    return undefined;
  }
  return { approvals, approvers: list, permission, allowSelf, evidenceBase, unlinkedIdentities };
}
