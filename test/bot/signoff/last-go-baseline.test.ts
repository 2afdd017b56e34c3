// `baseline: last_go` on the bot's side, end to end on the fake GitHub: the first run of a gate that asks for a
// comparison has no GO to compare with and says so, and still becomes a GO when signed off; the next run, on a new
// commit, is handed the first run's bundle as its baseline, read back from the bot's evidence commit and checked
// (manifest and signatures), and its record, bundle and war room name that run. When the last GO's evidence was
// changed or is gone, the run says "no baseline" and why, and its PASS is no GO however it is signed off. The gate
// engine is replaced by one that PASSes at once and records what it was given (the gate-run fixture); everything
// around it, the baseline lookup included, is the bot's real path on real Redis.

import { jest } from "@jest/globals";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promotionState } from "../../../src/bot/signoff/promotion.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import type { GateRun } from "../../../src/gates/model/gate-run-record.js";
import type { BaselineRecord } from "../../../src/gates/model/baseline.js";
import type { runToBundle } from "../../../src/gates/run/run-to-bundle.js";
import { decidedRun } from "../support/decided-run.js";
import { NO_BASELINE } from "../../../src/gates/verdict/baseline-run.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";
import { FIXTURE_GATES, reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { bundleJson, bundleOnBranch } from "../support/evidence-checks.js";

jest.setTimeout(180_000);

let world: BotWorld | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await world?.close();
  world = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Gate A with `baseline: last_go` and the objective that judges the comparison. */
function baselineGates(): string {
  const dir = mkdtempSync(join(tmpdir(), "last-go-gates-"));
  dirs.push(dir);
  const file = join(dir, "gate-a.yaml");
  copyFileSync(join(FIXTURE_GATES, "gate-a.yaml"), file);
  const text = readFileSync(file, "utf8");
  const withObjective = text.replace('  lost_events: "== 0"\n', '  lost_events: "== 0"\n  latency_p95_regression: "<= +15%"\n');
  expect(withObjective).not.toBe(text);
  writeFileSync(file, `${withObjective}\nbaseline: last_go\n`);
  return dir;
}

/**
 * A gate engine that PASSes at once (the fixture's run) and keeps the baseline each run was handed, as the engine
 * records it. `uncompared`: how many first runs write their bundle as a gate without `baseline:` would (no comparison data).
 */
function recordingEngine(calls: { runId: string; baseline?: BaselineRecord }[], uncompared = 0): typeof runToBundle {
  return async (gate, o) => {
    calls.push({ runId: o.runId!, baseline: o.baseline });
    const fixture = await buildGateRun({ scale: 0.01, commit: o.commit });
    const asked = calls.length > uncompared ? gate.baseline : undefined;
    const run: GateRun = {
      ...fixture,
      id: o.runId!,
      gate: { ...gate, baseline: asked },
      commit: o.commit,
      ...(asked ? { baseline: o.baseline ?? { compared: false, note: NO_BASELINE } } : {}),
    };
    expect(run.verdict).toBe("PASS");
    return decidedRun(gate, run, o);
  };
}

const statuses = (w: BotWorld, sha: string) => w.fake.state.statuses.filter((s) => s.sha === sha && s.context === "release-gate/gate-a");
const warRoom = (w: BotWorld, r: RunRecord) => w.fake.state.comments.get(r.warRoomCommentId!)!.body;

async function runOnce(w: BotWorld, pr: number): Promise<RunRecord> {
  const before = new Set((await w.bot.queue.state.runsForPull(w.fake.owner, w.fake.repo, pr)).map((r) => r.id));
  const { answer } = await w.comment(pr, "octocat", "/gate-a replay all");
  expect(answer.status).toBe(200);
  return reportedRun(w, pr, (r) => !before.has(r.id) && Boolean(r.evidenceUrl));
}

/** The run's PASS signed off by the DRI (who did not ask for it); resolves with its record once the sign-off is in. */
async function signOff(w: BotWorld, run: RunRecord): Promise<RunRecord> {
  await w.review(run.evidencePullNumber!, "dri-alice", "approved");
  return waitFor("the sign-off in the bot's record", async () => {
    const r = await w.bot.queue.state.get(run.id);
    return r?.signoff?.status === "complete" && r;
  });
}

/** A first run, signed off: a GO with nothing to compare with, which says so. */
async function firstGo(w: BotWorld, calls: { baseline?: BaselineRecord }[]): Promise<{ go: RunRecord; pr: number }> {
  const source = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
  const first = await runOnce(w, source.number);
  expect(calls[0]!.baseline).toEqual({
    compared: false,
    note: `${NO_BASELINE} (the bot has no signed-off GO of gate-a in ${w.fake.owner}/${w.fake.repo})`,
  });
  expect(first.baseline).toEqual({ runId: null, line: calls[0]!.baseline!.compared ? "" : calls[0]!.baseline!.note, withheld: null });
  expect(warRoom(w, first)).toContain(`📈 Baseline: ${NO_BASELINE} (the bot has no signed-off GO of gate-a`);
  const files = bundleOnBranch(w.fake, w.fake.pullRequestJson(first.evidencePullNumber!).head.ref, first.id);
  expect(bundleJson(files, "02-latency/comparison.json")).toMatchObject({
    this: { runId: first.id, commit: first.headSha },
    baseline: null,
    note: expect.stringContaining(NO_BASELINE),
  });
  const go = await signOff(w, first);
  expect(promotionState(go, w.bot.queue.state.approvalKey)).toBe("go");
  await waitFor("the GO status", () => statuses(w, first.headSha).find((s) => s.state === "success"));
  return { go, pr: source.number };
}

describe("baseline: last_go on the bot", () => {
  test("the first GO says it has no baseline; the next run, on a new commit, is compared with it, and everything names it", async () => {
    const calls: { runId: string; baseline?: BaselineRecord }[] = [];
    world = await startBotWorld("last-go", { gatesDir: baselineGates(), start: { runGate: recordingEngine(calls) } });
    const w = world;
    const { go, pr } = await firstGo(w, calls);

    const { sha } = await w.push(pr, { "src/a.ts": "b\n" });
    const second = await runOnce(w, pr);
    expect(second.headSha).toBe(sha);

    // The engine was handed the first run's bundle, read back from the bot's evidence commit and checked.
    const handed = calls[1]!.baseline!;
    expect(handed.compared).toBe(true);
    if (!handed.compared) throw new Error("no baseline");
    expect(handed.run).toMatchObject({
      runId: go.id,
      commit: go.headSha,
      gate: "gate-a",
      verdict: "PASS",
      signoff: "complete",
      source: go.evidenceUrl,
    });
    expect(handed.run.phases.length).toBeGreaterThan(0);
    expect(handed.run.phases.every((p) => p.samples.length > 0)).toBe(true);

    // The record, the war room and the bundle name the baseline run.
    expect(second.baseline).toMatchObject({ runId: go.id, withheld: null });
    expect(second.baseline!.line).toContain(`compared with run ${go.id} (commit ${go.headSha.slice(0, 12)}, PASS, sign-off complete)`);
    expect(warRoom(w, second)).toContain(`📈 Baseline: compared with run ${go.id}`);
    const files = bundleOnBranch(w.fake, w.fake.pullRequestJson(second.evidencePullNumber!).head.ref, second.id);
    expect(bundleJson(files, "02-latency/comparison.json")).toMatchObject({
      this: { runId: second.id, commit: sha },
      baseline: { runId: go.id, commit: go.headSha, verdict: "PASS", source: go.evidenceUrl },
      note: null,
    });
    const overlays = [...files.keys()].filter((p) => p.endsWith(".baseline-overlay.svg"));
    expect(overlays.length).toBeGreaterThan(0);
    expect(files.get(overlays[0]!)!.toString()).toContain(`baseline ${go.id}`);

    // Compared, its PASS can be a GO as any other.
    expect(second.attempt!.goWithheld).toBeNull();
    await signOff(w, second);
    await waitFor("the second GO", () => statuses(w, sha).find((s) => s.state === "success"));
  });

  test("a last GO whose evidence was changed, or is gone, is no baseline: the run says why, and its PASS is no GO", async () => {
    const calls: { runId: string; baseline?: BaselineRecord }[] = [];
    world = await startBotWorld("last-go-broken", { gatesDir: baselineGates(), start: { runGate: recordingEngine(calls) } });
    const w = world;
    const { go, pr } = await firstGo(w, calls);

    // Someone changes the GO's replay log where the bot keeps it: the evidence commit now holds other bytes. (Its
    // own blob is left alone: the fixture's later runs write identical files, which share it.)
    const git = w.fake.state.git;
    const evidenceCommit = go.evidenceCommits!.at(-1)!;
    const original = git.commit(evidenceCommit)!;
    const tree = git.flatten(original.tree);
    const [path, entry] = [...tree].find(([p]) => p.startsWith(`evidence/${go.id}/`) && /replay/.test(p) && p.endsWith(".ndjson"))!;
    const bytes = git.blob(entry.sha)!.content;
    const changed = Buffer.from(bytes.toString("utf8").replace(/"latencyMs":(\d+(\.\d+)?)/, '"latencyMs":9999'));
    expect(changed.equals(bytes)).toBe(false);
    tree.set(path, { ...entry, sha: git.putBlob(changed).sha });
    git.objects.set(evidenceCommit, { ...original, tree: git.buildTree(tree).sha });

    const { sha } = await w.push(pr, { "src/a.ts": "b\n" });
    const tampered = await runOnce(w, pr);
    const handed = calls[1]!.baseline!;
    expect(handed.compared).toBe(false);
    const note = handed.compared ? "" : handed.note;
    expect(note).toContain(`${NO_BASELINE} (the last 1 GO(s) could not be compared with (${go.id}: the baseline evidence/${go.id}@`);
    expect(note).toContain(`changed ${path.slice(`evidence/${go.id}/`.length)}`);
    expect(note).not.toContain(tmpdir());
    expect(tampered.baseline).toMatchObject({
      runId: null,
      line: note,
      withheld: expect.stringContaining("its comparison with the last GO could not be made"),
    });
    expect(warRoom(w, tampered)).toContain(`📈 Baseline: ${note}`);
    const files = bundleOnBranch(w.fake, w.fake.pullRequestJson(tampered.evidencePullNumber!).head.ref, tampered.id);
    expect(bundleJson(files, "02-latency/comparison.json")).toMatchObject({ baseline: null, note });
    // The engine's PASS stands as measured, but nothing makes it a GO: not the record, not the bundle, not a sign-off.
    expect(tampered.verdict).toBe("PASS");
    expect(tampered.attempt!.goWithheld).toContain("its comparison with the last GO could not be made");
    expect(bundleJson(files, "09-approvals/approval-log.json").attempts.goWithheld).toContain(
      "its comparison with the last GO could not be made",
    );
    const signed = await signOff(w, tampered);
    expect(promotionState(signed, w.bot.queue.state.approvalKey)).toBe("withheld");
    await waitFor("the reply", () =>
      w.comments(tampered.evidencePullNumber!).find((c) => c.user.login === w.fake.botLogin && c.body.includes("No GO from this run")),
    );
    expect(statuses(w, sha).some((s) => s.state === "success")).toBe(false);
    expect(statuses(w, sha).at(-1)!.description).toContain("its comparison with the last GO could not be made");

    // The evidence commit gone: still no baseline, no GO, and the run says so.
    git.objects.delete(evidenceCommit);
    const gone = await runOnce(w, pr);
    const handedAgain = calls[2]!.baseline!;
    expect(handedAgain.compared).toBe(false);
    expect(handedAgain.compared ? "" : handedAgain.note).toContain(`(the last 1 GO(s) could not be compared with (${go.id}: `);
    expect(gone.baseline!.withheld).toContain("its comparison with the last GO could not be made");
    expect(gone.attempt!.goWithheld).toContain("its comparison with the last GO could not be made");
    expect(warRoom(w, gone)).toContain(`📈 Baseline: ${NO_BASELINE} (the last 1 GO(s) could not be compared with`);
  });

  test("a GO from before the gate asked for a comparison is no baseline, and no fault: the next PASS can be a GO", async () => {
    const calls: { runId: string; baseline?: BaselineRecord }[] = [];
    world = await startBotWorld("last-go-older", { gatesDir: baselineGates(), start: { runGate: recordingEngine(calls, 1) } });
    const w = world;
    const source = w.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });
    const old = await runOnce(w, source.number);
    const oldFiles = bundleOnBranch(w.fake, w.fake.pullRequestJson(old.evidencePullNumber!).head.ref, old.id);
    expect(oldFiles.has("02-latency/comparison.json")).toBe(false);
    await signOff(w, old);
    await waitFor("the GO status", () => statuses(w, old.headSha).find((s) => s.state === "success"));

    const { sha } = await w.push(source.number, { "src/a.ts": "b\n" });
    const next = await runOnce(w, source.number);
    const handed = calls[1]!.baseline!;
    expect(handed.compared).toBe(false);
    expect(handed.compared ? "" : handed.note).toContain(`(the last 1 GO(s) could not be compared with (${old.id}: `);
    expect(handed.compared ? "" : handed.note).toContain("02-latency/comparison.json");
    expect(next.baseline).toMatchObject({ runId: null, withheld: null });
    expect(next.attempt!.goWithheld).toBeNull();
    await signOff(w, next);
    await waitFor("the GO status of the new commit", () => statuses(w, sha).find((s) => s.state === "success"));
  });
});
