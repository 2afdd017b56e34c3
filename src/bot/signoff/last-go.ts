// `baseline: last_go` on the bot's side: the newest signed-off GO of the same gate in the same repository (a full
// PASS whose sign-off is complete, from the bot's own sealed records), its bundle checked out from the bot's last
// evidence commit, and read as a baseline for this target and machine class (a GO measured on another machine class
// or target, or one whose bundle records no comparison data, is passed over for an older one). run-on-github.ts asks for it before each run of a gate with
// `baseline:` and hands it to the engine. A GO whose evidence is missing or does not check out is passed over too,
// and when no GO could be compared with for that reason, the run's PASS is no GO (`withheld`): losing the
// comparison must not make a GO easier to get. Having no GO yet withholds nothing; the run says so.

import { createPublicKey, type KeyObject } from "node:crypto";
import { rm } from "node:fs/promises";
import { readBaselineBundle, EvidenceError } from "../../gates/evidence/index.js";
import { NO_BASELINE, thisMachineClass, targetIdentity } from "../../gates/verdict/index.js";
import type { BaselineRecord, Gate } from "../../gates/model/index.js";
import { evidencePath } from "../github/evidence-pr.js";
import type { GitHub, RepoRef } from "../github/github.js";
import type { RunRecord, RunState } from "../runs/run-state.js";
import { checkoutBundle } from "./signoff-record.js";
import { promotionState } from "./promotion.js";

/** How many GOs are tried (newest first) before saying there is none on this machine class. */
const MAX_TRIED = 5;

/** The signed-off GOs of `gate` in `where`, newest first: what promotion.ts calls a GO, with an evidence commit. Pure. */
export function signedOffGos(runs: readonly RunRecord[], where: RepoRef, gate: string, approvalKey: KeyObject | undefined): RunRecord[] {
  return runs
    .filter(
      (r) =>
        r.owner.toLowerCase() === where.owner.toLowerCase() &&
        r.repo.toLowerCase() === where.repo.toLowerCase() &&
        r.gate === gate &&
        promotionState(r, approvalKey) === "go" &&
        (r.evidenceCommits?.length ?? 0) > 0,
    )
    .sort((a, b) => (b.finishedAt ?? "").localeCompare(a.finishedAt ?? ""));
}

/**
 * Why an intact GO cannot be a baseline, which is no fault: another machine class or target, or a bundle that
 * records no comparison data (a GO from before the gate file said `baseline:`). An older GO is tried.
 */
const NOT_COMPARABLE = new Set(["baseline_other_machine", "baseline_other_target", "baseline_incomplete"]);

/** The baseline of a run, and why its PASS may not be a GO (a GO to compare with existed but could not be read), or null. */
export interface LastGo {
  baseline: BaselineRecord;
  withheld: string | null;
}

/** The baseline for a run of `gate` in `where`: the last GO's bundle, checked; or why there is none. */
export async function lastGoBaseline(github: GitHub, where: RepoRef, state: RunState, gate: Gate): Promise<LastGo> {
  const expect = { gate: gate.name, target: targetIdentity(gate), machineClass: thisMachineClass() };
  const signing = state.approvalKey;
  const key = signing && signing.type === "private" ? createPublicKey(signing) : signing;
  const passedOver: string[] = [];
  let faults = 0;
  for (const go of signedOffGos(await state.recentRuns(500), where, gate.name, signing).slice(0, MAX_TRIED)) {
    const commit = go.evidenceCommits!.at(-1)!;
    let dir: string | undefined;
    try {
      // A missing evidence commit or tree is the same fault as a changed bundle: the GO cannot be compared with.
      dir = (await checkoutBundle(github, where, commit, evidencePath(go.id))).dir;
      const run = await readBaselineBundle(dir, expect, key);
      return {
        baseline: { compared: true, run: { ...run, source: go.evidenceUrl ?? `${evidencePath(go.id)} at ${commit}` } },
        withheld: null,
      };
    } catch (err) {
      if (!(err instanceof EvidenceError && NOT_COMPARABLE.has(err.code))) faults++;
      // The message names the bundle where the bot keeps it, not the temporary folder it was read from.
      const message = dir ? (err as Error).message.split(dir).join(`${evidencePath(go.id)}@${commit.slice(0, 7)}`) : (err as Error).message;
      passedOver.push(`${go.id}: ${message}`);
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }
  const why = passedOver.length
    ? `the last ${passedOver.length} GO(s) could not be compared with (${passedOver.join("; ")})`
    : `the bot has no signed-off GO of ${gate.name} in ${where.owner}/${where.repo}`;
  return {
    baseline: { compared: false, note: `${NO_BASELINE} (${why})` },
    withheld: faults
      ? `its comparison with the last GO could not be made (${why}); restore that GO's evidence, or take \`baseline:\` out of the gate file to gate without a comparison`
      : null,
  };
}

/** lastGoBaseline, or, when the lookup itself fails (GitHub, Redis), no baseline and no GO: never a pass by default. */
export async function lastGoOrWithheld(github: GitHub, where: RepoRef, state: RunState, gate: Gate): Promise<LastGo> {
  try {
    return await lastGoBaseline(github, where, state, gate);
  } catch (err) {
    const why = `the last GO could not be looked up: ${(err as Error).message}`;
    return {
      baseline: { compared: false, note: `${NO_BASELINE} (${why})` },
      withheld: `its comparison with the last GO could not be made (${why})`,
    };
  }
}
