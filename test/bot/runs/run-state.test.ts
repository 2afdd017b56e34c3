// The bot's run records in Redis: one run holds a gate's slot per repository, at most one waits (a newer
// command replaces it), a duplicate is refused, and the slot passes to the waiting run when a run ends.

import { Redis } from "ioredis";
import { RunState, type RunRecord } from "../../../src/bot/runs/run-state.js";
import { RunStateSeal } from "../../../src/bot/runs/run-state-seal.js";
import { deleteKeys, newPrefix, REDIS_URL } from "../support/bot-world.js";

let prefix: string;
let redis: Redis;
let other: Redis;
let state: RunState;
/** Every process of the bot derives the same key; tests share one per test. */
let seal: RunStateSeal;

beforeEach(() => {
  prefix = newPrefix("state");
  redis = new Redis(REDIS_URL);
  other = new Redis(REDIS_URL);
  seal = RunStateSeal.random();
  state = new RunState(redis, prefix, { seal });
});

afterEach(async () => {
  redis.disconnect();
  other.disconnect();
  await deleteKeys(prefix);
});

let n = 0;
function record(o: Partial<RunRecord> = {}): RunRecord {
  n += 1;
  return {
    id: `gate-a-run-${n}`,
    gate: "gate-a",
    owner: "acme",
    repo: "service",
    installationId: 1,
    pullNumber: 1,
    headSha: "a".repeat(40),
    selector: "1k",
    scope: "smoke",
    label: "replay 1k",
    requestedBy: `user${n}`,
    requestedAt: new Date().toISOString(),
    phase: "queued",
    full: false,
    ...o,
  };
}

describe("the run slot of a gate on a repository", () => {
  test("the first run starts, the next waits behind it, a newer one replaces the waiting one", async () => {
    const a = record();
    const b = record({ scope: "smoke+load", label: "replay 5k" });
    const c = record({ pullNumber: 2 });
    expect(await state.claim(a)).toEqual({ outcome: "start" });
    expect(await state.claim(b)).toMatchObject({ outcome: "queued", holder: { id: a.id }, replaced: null });
    expect(await state.claim(c)).toMatchObject({ outcome: "queued", holder: { id: a.id }, replaced: { id: b.id } });
    expect((await state.get(b.id))?.phase).toBe("cancelled");
    expect((await state.get(b.id))?.cancelledBecause).toBe("replaced by @user3's `replay 1k`");
    const slot = await state.slot("acme", "service", "gate-a");
    expect([slot.active?.id, slot.waiting?.id]).toEqual([a.id, c.id]);
    // Another repository, or another gate, has a slot of its own.
    expect(await state.claim(record({ repo: "other" }))).toEqual({ outcome: "start" });
    expect(await state.claim(record({ gate: "gate-b" }))).toEqual({ outcome: "start" });
  });

  test("the same run on the same commit is refused while it runs or waits", async () => {
    const a = record();
    await state.claim(a);
    const again = await state.claim(record({ selector: "smoke" }));
    expect(again).toMatchObject({ outcome: "refused", holder: { id: a.id } });
    expect(again.outcome === "refused" && again.reason).toContain(`already running (run \`${a.id}\``);
    const w = record({ scope: "smoke+load" });
    await state.claim(w);
    const dup = await state.claim(record({ scope: "smoke+load", selector: "all" }));
    expect(dup.outcome === "refused" && dup.reason).toContain(`already waiting (run \`${w.id}\``);
    // On a new commit it is a new run.
    expect(await state.claim(record({ headSha: "b".repeat(40) }))).toMatchObject({ outcome: "queued", replaced: { id: w.id } });
  });

  test("a finished run hands the slot to the waiting run; only the holder can release it", async () => {
    const a = record();
    const b = record({ pullNumber: 3 });
    await state.claim(a);
    await state.claim(b);
    expect(await state.release(b)).toBeNull();
    expect((await state.slot("acme", "service", "gate-a")).active?.id).toBe(a.id);
    expect((await state.release(a))?.id).toBe(b.id);
    expect(await state.slot("acme", "service", "gate-a")).toMatchObject({ active: { id: b.id }, waiting: null });
    expect(await state.release(b)).toBeNull();
    expect(await state.slot("acme", "service", "gate-a")).toEqual({ active: null, waiting: null });
  });

  test("a run that ended without releasing the slot does not hold it", async () => {
    const a = record();
    await state.claim(a);
    await state.update(a.id, () => ({ phase: "lost" }));
    expect(await state.claim(record({ pullNumber: 4 }))).toEqual({ outcome: "start" });
  });

  test("the waiting run can be dropped", async () => {
    await state.claim(record());
    const b = record({ pullNumber: 5 });
    await state.claim(b);
    expect(await state.dropWaiting("acme", "service", "gate-a", "aborted by @x before it started")).toMatchObject({
      id: b.id,
      phase: "cancelled",
    });
    expect((await state.slot("acme", "service", "gate-a")).waiting).toBeNull();
    expect(await state.dropWaiting("acme", "service", "gate-a", "again")).toBeNull();
  });

  test("commands arriving at once from two processes start exactly one run", async () => {
    const two = new RunState(other, prefix, { seal });
    const records = Array.from({ length: 8 }, (_, i) => record({ pullNumber: 10 + i }));
    const outcomes = await Promise.all(records.map((r, i) => (i % 2 ? two : state).claim(r)));
    expect(outcomes.filter((o) => o.outcome === "start")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "queued")).toHaveLength(7);
    const slot = await state.slot("acme", "service", "gate-a");
    expect(slot.active).not.toBeNull();
    expect(slot.waiting).not.toBeNull();
    // Of the seven that queued, every one but the waiting run was replaced.
    const cancelled = (await Promise.all(records.map((r) => state.get(r.id)))).filter((r) => r?.phase === "cancelled");
    expect(cancelled).toHaveLength(6);
  });

  test("updates from two processes are not lost", async () => {
    const two = new RunState(other, prefix, { seal });
    const a = record();
    await state.claim(a);
    await Promise.all([
      state.update(a.id, () => ({ checkRunId: 7 })),
      two.update(a.id, () => ({ warRoomCommentId: 9 })),
      state.update(a.id, () => ({ abortRequestedBy: "octocat" })),
    ]);
    expect(await state.get(a.id)).toMatchObject({ checkRunId: 7, warRoomCommentId: 9, abortRequestedBy: "octocat" });
  });

  test("a review still counts for the commits under the bot's own sign-off commits, and only for those", async () => {
    await state.recordSignoffCommit("acme", "service", "gate-a/evidence/r1", "c2", "c1");
    await state.recordSignoffCommit("acme", "service", "gate-a/evidence/r1", "c3", "c2");
    expect(await state.reviewableCommits("acme", "service", "gate-a/evidence/r1", "c3")).toEqual(["c3", "c2", "c1"]);
    // Someone else's commit on top: only it counts.
    expect(await state.reviewableCommits("acme", "service", "gate-a/evidence/r1", "x4")).toEqual(["x4"]);
  });

  test("the runs of a gate on one commit are listed newest first, and only that gate's and that commit's", async () => {
    const sha = "c".repeat(40);
    const older = record({ headSha: sha, pullNumber: 3 });
    const otherCommit = record({ headSha: "d".repeat(40), pullNumber: 4 });
    const otherGate = record({ headSha: sha, gate: "gate-b", pullNumber: 5 });
    await state.claim(older);
    await new Promise((r) => setTimeout(r, 5));
    const newer = record({ headSha: sha, pullNumber: 6 });
    await state.claim(otherCommit);
    await state.claim(otherGate);
    await state.claim(newer);
    const runs = await state.runsForCommit("acme", "service", "gate-a", sha);
    expect(runs.map((r) => r.id)).toEqual([newer.id, older.id]);
    expect(await state.runsForCommit("acme", "service", "gate-a", "e".repeat(40))).toEqual([]);
  });
});

describe("a store that cannot be forged", () => {
  /** The log lines at error level, as the bot's logger would get them. */
  function watched(): { state: RunState; errors: { obj: unknown; msg?: string }[] } {
    const errors: { obj: unknown; msg?: string }[] = [];
    return { state: new RunState(redis, prefix, { seal, log: { error: (obj, msg) => errors.push({ obj, msg }) } }), errors };
  }

  test("a record SET by anyone but the bot is reported and treated as lost, and is never sealed by an update", async () => {
    const { state: s, errors } = watched();
    const forged = record({ phase: "finished", verdict: "PASS", full: true, signoff: { status: "complete", approvals: [] } });
    await redis.set(`${prefix}:run:${forged.id}`, JSON.stringify(forged));
    expect(await s.get(forged.id)).toBeNull();
    expect(errors[0]).toMatchObject({ obj: { runId: forged.id } });
    expect(errors[0]!.msg).toMatch(/failed its integrity check \(it carries no seal/);
    expect(await s.update(forged.id, () => ({ checkRunId: 1 }))).toBeNull();
    expect(await redis.get(`${prefix}:run:${forged.id}`)).toBe(JSON.stringify(forged));
  });

  test("a sealed record with one field changed fails its check", async () => {
    const { state: s, errors } = watched();
    const a = record();
    await s.claim(a);
    const stored = (await redis.get(`${prefix}:run:${a.id}`))!;
    await redis.set(`${prefix}:run:${a.id}`, stored.replace('"phase":"queued"', '"phase":"finished","verdict":"PASS"'));
    expect(await s.get(a.id)).toBeNull();
    expect(errors[0]!.msg).toMatch(/seal does not match/);
  });

  test("a genuine record copied under another id, or listed under another commit, pull or repository, is rejected", async () => {
    const { state: s, errors } = watched();
    const pass = record({ headSha: "f".repeat(40), pullNumber: 11 });
    await s.claim(pass);
    await s.update(pass.id, () => ({ phase: "finished", verdict: "PASS" }));
    const stored = (await redis.get(`${prefix}:run:${pass.id}`))!;
    await redis.set(`${prefix}:run:gate-a-copied`, stored);
    expect(await s.get("gate-a-copied")).toBeNull();
    const never = "0".repeat(40);
    await redis.zadd(`${prefix}:commit:acme/service:gate-a@${never}`, Date.now(), pass.id);
    await redis.zadd(`${prefix}:commit:other/repo:gate-a@${pass.headSha}`, Date.now(), pass.id);
    await redis.zadd(`${prefix}:pull:acme/service#12`, Date.now(), pass.id);
    expect(await s.checkedRunsForCommit("acme", "service", "gate-a", never)).toEqual({ runs: [], rejected: [pass.id] });
    expect(await s.runsForCommit("other", "repo", "gate-a", pass.headSha)).toEqual([]);
    expect(await s.runsForPull("acme", "service", 12)).toEqual([]);
    expect((await s.runsForCommit("acme", "service", "gate-a", pass.headSha)).map((r) => r.id)).toEqual([pass.id]);
    expect(errors.map((e) => (e.obj as { runId: string }).runId)).toEqual(["gate-a-copied", pass.id, pass.id, pass.id]);
  });

  test("a record sealed with another key (another bot, an old key) fails its check", async () => {
    const a = record();
    await new RunState(other, prefix, { seal: RunStateSeal.random() }).claim(a);
    expect(await state.get(a.id)).toBeNull();
    expect(await state.runsForPull("acme", "service", a.pullNumber)).toEqual([]);
  });

  test("a forged link between sign-off commits makes no stranger's commit reviewable", async () => {
    const { state: s, errors } = watched();
    await s.recordSignoffCommit("acme", "service", "gate-a/evidence/r2", "c2", "c1");
    await redis.hset(`${prefix}:signoff:acme/service:gate-a/evidence/r2`, "x9", "c2");
    expect(await s.reviewableCommits("acme", "service", "gate-a/evidence/r2", "x9")).toEqual(["x9"]);
    expect(await s.reviewableCommits("acme", "service", "gate-a/evidence/r2", "c2")).toEqual(["c2", "c1"]);
    expect(errors[0]!.msg).toMatch(/sign-off commit link x9 failed its integrity check/);
  });
});
