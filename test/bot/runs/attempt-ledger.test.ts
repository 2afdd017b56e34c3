// The ledger of attempts on a commit, end to end through the bot: FAIL, FAIL, PASS on one commit are
// three signed, chained entries; the third is judged at the stricter level the default rule spends
// (alpha 0.05 / 2^3); the evidence PR, the approval log, the war room, the check run and the GO status
// say "attempt 3 of 3" and name the two FAILs; a fourth command is refused with why and what to do; a
// redelivered command appends nothing; a forged or cut ledger in Redis fails closed; `gate verify`
// rejects a reordered ledger file. The gate engine is replaced by one that decides at once (the
// gate-run fixture), so everything around it is the bot's real path on real Redis.

import { jest } from "@jest/globals";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Redis } from "ioredis";
import { verifyCommand } from "../../../src/cli/verify-command.js";
import { promotionState } from "../../../src/bot/signoff/promotion.js";
import { ledgerSubject } from "../../../src/bot/runs/run-attempt.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";
import type { GateRun, RunOrigin, Verdict } from "../../../src/gates/model/gate-run-record.js";
import { listBundleFiles, renderManifest, hashFile, MANIFEST_FILE } from "../../../src/gates/evidence/manifest.js";
import type { runToBundle } from "../../../src/gates/run/run-to-bundle.js";
import { decidedRun } from "../support/decided-run.js";
import type { RetryContext } from "../../../src/gates/war-room/war-room-formats.js";
import { buildGateRun } from "../../support/gate-run-fixture.js";
import { issueCommentOnPullRequest, sendWebhook } from "../../support/webhook-sender.js";
import { FIXTURE_GATES, REDIS_URL, reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { bundleJson, bundleOnBranch } from "../support/evidence-checks.js";
import { queuedRun } from "../support/queued-run.js";

jest.setTimeout(120_000);

let world: BotWorld;
const dirs: string[] = [];

afterEach(async () => {
  await world?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface EngineCall {
  runId: string;
  judgeAlpha?: number;
  origin?: RunOrigin;
  attempt?: RetryContext;
}

/** A gate engine that decides at once: the next verdict of `script` (PASS when it runs out), as the fixture's run. */
function scriptedEngine(script: Verdict[], calls: EngineCall[]): typeof runToBundle {
  return async (gate, o) => {
    calls.push({ runId: o.runId!, judgeAlpha: o.judgeAlpha, origin: o.origin, attempt: o.attempt });
    const verdict = script.shift() ?? "PASS";
    const fixture = await buildGateRun({ scale: 0.01, commit: o.commit, ...(verdict === "FAIL" ? { failLatencyIn: "load" } : {}) });
    const run: GateRun = { ...fixture, id: o.runId!, gate, commit: o.commit };
    if (run.verdict !== verdict) throw new Error(`the fixture gave ${run.verdict}, the script wanted ${verdict}`);
    return decidedRun(gate, run, o);
  };
}

const statuses = (sha: string) => world.fake.state.statuses.filter((s) => s.sha === sha && s.context === "release-gate/gate-a");
const botReplies = (pr: number) => world.comments(pr).filter((c) => c.user.login === world.fake.botLogin);

async function runOnce(pr: number, command = "/gate-a replay all"): Promise<RunRecord> {
  const before = new Set((await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr)).map((r) => r.id));
  const { answer } = await world.comment(pr, "octocat", command);
  expect(answer.status).toBe(200);
  return reportedRun(world, pr, (r) => !before.has(r.id) && Boolean(r.evidenceUrl));
}

/** `gate verify DIR [--key PUB.pem]` over a bundle written to `dir`. */
async function verify(dir: string, key: boolean): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const pub = join(dirname(dir), "pub.pem");
  writeFileSync(pub, world.publicKeyPem);
  const code = await verifyCommand([dir, ...(key ? ["--key", pub] : [])], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  return { code, out: lines.join("\n") };
}

function writeBundle(files: Map<string, Buffer>): string {
  const dir = join(mkdtempSync(join(tmpdir(), "attempt-ledger-")), "b");
  dirs.push(dirname(dir));
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  return dir;
}

describe("the ledger of attempts on a commit", () => {
  test("FAIL, FAIL, PASS: every attempt is shown, the PASS is judged at 0.05/8, and a fourth is refused", async () => {
    const calls: EngineCall[] = [];
    world = await startBotWorld("attempts", { start: { runGate: scriptedEngine(["FAIL", "FAIL", "PASS"], calls) } });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });

    const first = await runOnce(source.number);
    const second = await runOnce(source.number);
    const third = await runOnce(source.number);
    expect([first.verdict, second.verdict, third.verdict]).toEqual(["FAIL", "FAIL", "PASS"]);

    // The default rule spends alpha 0.05: attempt j at 0.05 / 2^j, the first at today's 0.025.
    expect(calls.map((c) => c.judgeAlpha)).toEqual([0.025, 0.0125, 0.00625]);
    expect(calls[2]!.judgeAlpha).toBe(0.05 / 8);
    expect(calls.map((c) => c.origin)).toEqual(Array(3).fill({ kind: "pr", command: "/gate-a replay all" }));
    expect(calls[2]!.attempt).toEqual({
      number: 3,
      earlier: [expect.objectContaining({ verdict: "FAIL" }), expect.objectContaining({ verdict: "FAIL" })],
    });

    // The ledger: three entries, chained and signed, one per run, whatever the verdict.
    const ledger = await world.bot.queue.attempts.read(ledgerSubject(third));
    expect(ledger.problem).toBeNull();
    expect(ledger.entries.map((e) => [e.attempt, e.run, e.verdict, e.alpha])).toEqual([
      [1, first.id, "FAIL", 0.025],
      [2, second.id, "FAIL", 0.0125],
      [3, third.id, "PASS", 0.00625],
    ]);

    // The evidence PR's body names all three attempts, with links to the earlier ones.
    const evidence = world.fake.pullRequestJson(third.evidencePullNumber!);
    expect(evidence.body).toContain("Attempt 3 of 3 on this commit");
    expect(evidence.body).toContain(`attempt 1 FAIL ([run \`${first.id}\`](${first.evidenceUrl}))`);
    expect(evidence.body).toContain(`attempt 2 FAIL ([run \`${second.id}\`](${second.evidenceUrl}))`);
    expect(evidence.body).toContain("99.375%");

    // The approval log in the bundle says the same.
    const branch = evidence.head.ref;
    const files = bundleOnBranch(world.fake, branch, third.id);
    const log = bundleJson(files, "09-approvals/approval-log.json");
    expect(log.attempts).toMatchObject({
      number: 3,
      max: 3,
      earlier: [
        { attempt: 1, run: first.id, verdict: "FAIL", link: first.evidenceUrl },
        { attempt: 2, run: second.id, verdict: "FAIL", link: second.evidenceUrl },
      ],
      goWithheld: null,
    });
    expect(files.get("09-approvals/approval-log.md")!.toString()).toContain("Attempt 3 of 3 on this commit");
    expect(files.get("attempt-ledger.jsonl")!.toString().trim().split("\n")).toHaveLength(3);

    // The war room, the check run and the status.
    const warRoom = (r: RunRecord) => world.fake.state.comments.get(r.warRoomCommentId!)!.body;
    expect(warRoom(first)).toContain(
      "NEXT: fix what failed and re-run (`/gate-a replay all`); on this commit: attempt 2 of 3 allowed, at the stricter level 98.75%",
    );
    expect(warRoom(second)).toContain("attempt 3 of 3 allowed, at the stricter level 99.375%");
    expect(warRoom(third)).toContain("Attempt 3 of 3 on this commit");
    expect(warRoom(third)).toContain(second.id);
    const check = world.fake.state.checkRuns.get(third.checkRunId!)!;
    expect(check.output.title).toContain("PASS, attempt 3 of 3 on this commit");
    expect(check.output.summary).toContain(`attempt 1 FAIL ([run \`${first.id}\`]`);
    expect(statuses(source.head.sha).at(-1)).toMatchObject({ state: "pending" });
    expect(statuses(source.head.sha).at(-1)!.description).toContain("attempt 3 of 3 on this commit, after FAIL, FAIL");

    // Signed off: the GO says which attempt it rests on.
    await world.review(third.evidencePullNumber!, "dri-alice", "approved");
    const go = await waitFor("the GO status", () => statuses(source.head.sha).find((s) => s.state === "success"));
    expect(go.description).toBe(`GO (attempt 3 of 3 on this commit, after FAIL, FAIL): PASS of run ${third.id} signed off by @dri-alice`);
    expect(promotionState((await world.bot.queue.state.get(third.id))!, world.bot.queue.state.approvalKey)).toBe("go");

    // A fourth attempt on the same commit is refused with why and what to do; nothing runs.
    const { answer } = await world.comment(source.number, "octocat", "/gate-a replay all");
    expect(answer.status).toBe(200);
    const refusal = await waitFor("the refusal", () => botReplies(source.number).find((c) => c.body.includes("was not run")));
    expect(refusal.body).toContain("3 attempts, the most the gate's rule allows");
    expect(refusal.body).toContain("push a new commit");
    expect(await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, source.number)).toHaveLength(3);
    expect(calls).toHaveLength(3);

    // The bundle's ledger verifies, signatures included; reordered (with a manifest made again to match), it does not.
    const dir = writeBundle(bundleOnBranch(world.fake, world.fake.pullRequestJson(third.evidencePullNumber!).head.ref, third.id));
    expect(await verify(dir, true)).toMatchObject({ code: 0 });
    const lines = readFileSync(join(dir, "attempt-ledger.jsonl"), "utf8").trim().split("\n");
    writeFileSync(join(dir, "attempt-ledger.jsonl"), `${[lines[1], lines[0], lines[2]].join("\n")}\n`);
    const paths = (await listBundleFiles(dir)).filter((p) => p !== MANIFEST_FILE);
    writeFileSync(
      join(dir, MANIFEST_FILE),
      renderManifest(await Promise.all(paths.map(async (path) => ({ path, sha256: await hashFile(dir, path) })))),
    );
    const tampered = await verify(dir, false);
    expect(tampered.code).toBe(1);
    expect(tampered.out).toContain("attempt-ledger.jsonl entry 1 does not link to the entry before it");
    // The last entry gone: the ledger no longer ends with this run.
    writeFileSync(join(dir, "attempt-ledger.jsonl"), `${lines.slice(0, 2).join("\n")}\n`);
    writeFileSync(
      join(dir, MANIFEST_FILE),
      renderManifest(await Promise.all(paths.map(async (path) => ({ path, sha256: await hashFile(dir, path) })))),
    );
    expect((await verify(dir, false)).out).toContain(`its last entry is run ${second.id}`);
  });

  test("a redelivered command appends nothing, and a run recorded twice is one entry", async () => {
    const calls: EngineCall[] = [];
    world = await startBotWorld("attempts-redelivery", { start: { runGate: scriptedEngine(["FAIL"], calls) } });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const comment = world.fake.addComment({ issueNumber: source.number, user: "octocat", body: "/gate-a replay all" });
    const payload = issueCommentOnPullRequest({
      ...world.fake.webhookContext(),
      prNumber: source.number,
      commenter: "octocat",
      body: comment.body,
      comment,
      pullRequest: world.fake.pullRequestJson(source.number),
    });
    const deliveryId = "11111111-2222-3333-4444-555555555555";
    expect((await sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: world.secret, deliveryId })).status).toBe(
      200,
    );
    const run = await reportedRun(world, source.number, (r) => Boolean(r.evidenceUrl));
    expect((await sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: world.secret, deliveryId })).status).toBe(
      200,
    );
    // The same comment under another delivery id: still one order.
    expect((await sendWebhook(world.bot.webhookUrl, { event: "issue_comment", payload, secret: world.secret })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toHaveLength(1);
    const store = world.bot.queue.attempts;
    expect((await store.read(ledgerSubject(run))).entries).toHaveLength(1);
    await store.append(ledgerSubject(run), {
      run: run.id,
      verdict: "PASS",
      full: true,
      alpha: 0.025,
      origin: "pr",
      at: new Date().toISOString(),
    });
    const after = await store.read(ledgerSubject(run));
    expect(after.entries.map((e) => [e.run, e.verdict])).toEqual([[run.id, "FAIL"]]);
  });

  test("a forged, edited or cut ledger in Redis fails closed: no further run, and a new commit starts a new ledger", async () => {
    const calls: EngineCall[] = [];
    world = await startBotWorld("attempts-forged", { start: { runGate: scriptedEngine(["FAIL", "FAIL"], calls) } });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" } });
    const first = await runOnce(source.number);
    const redis = new Redis(REDIS_URL);
    try {
      const key = `${world.prefix}:bot:attempts:${world.fake.owner}/${world.fake.repo}:gate-a@${first.headSha}`.toLowerCase();
      const [stored] = await redis.lrange(key, 0, 0);
      // Edited: the verdict turned into a PASS, the seal left as it was.
      const edited = stored!.replace(
        /"payload":"([^"]+)"/,
        (_, b64: string) =>
          `"payload":"${Buffer.from(Buffer.from(b64, "base64").toString("utf8").replace('"FAIL"', '"PASS"')).toString("base64")}"`,
      );
      expect(edited).not.toBe(stored);
      await redis.lset(key, 0, edited);
      const read = await world.bot.queue.attempts.read(ledgerSubject(first));
      expect(read.problem).toMatch(/cannot be believed: attempt 1 failed its integrity check/);
      await world.comment(source.number, "octocat", "/gate-a replay all");
      const refusal = await waitFor("the refusal", () => botReplies(source.number).find((c) => c.body.includes("was not run")));
      expect(refusal.body).toContain("cannot be believed");
      expect(calls).toHaveLength(1);
      // A run that reached the queue anyway (asked for before the forgery) does not start on that ledger either.
      const queued = queuedRun(`gate-a-queued-${Date.now()}`, {
        owner: world.fake.owner,
        repo: world.fake.repo,
        installationId: world.fake.installationId,
        pullNumber: source.number,
        headSha: first.headSha,
        selector: "all",
        label: "replay all",
      });
      await world.bot.queue.request(queued);
      const notRun = await waitFor("the queued run to be refused", async () => {
        const r = await world.bot.queue.state.get(queued.id);
        return r?.phase === "finished" && r;
      });
      expect(notRun).toMatchObject({ verdict: "ERROR", reason: expect.stringMatching(/^not run: .*cannot be believed/) });
      expect(notRun.attempt).toBeUndefined();
      await waitFor("its reply", () =>
        botReplies(source.number).find((c) => c.body.includes(`Run \`${queued.id}\` (\`replay all\`) did not start`)),
      );
      expect(calls).toHaveLength(1);

      // Restored, then cut: the sealed head still counts the removed entry.
      await redis.lset(key, 0, stored!);
      expect((await world.bot.queue.attempts.read(ledgerSubject(first))).problem).toBeNull();
      await redis.rpop(key);
      expect((await world.bot.queue.attempts.read(ledgerSubject(first))).problem).toMatch(/entries were removed/);

      // A new commit has a ledger of its own: its first attempt runs, at the base level.
      await world.push(source.number, { "src/a.ts": "b\n" });
      const next = await runOnce(source.number);
      expect(next.headSha).not.toBe(first.headSha);
      expect(next.attempt).toMatchObject({ number: 1, alpha: 0.025, earlier: [] });
      expect(calls.at(-1)!.judgeAlpha).toBe(0.025);
    } finally {
      redis.disconnect();
    }
  });

  test("consecutive_passes: a signed-off PASS is no GO until the gate's number of consecutive PASSes", async () => {
    const gates = mkdtempSync(join(tmpdir(), "attempt-gates-"));
    dirs.push(gates);
    copyFileSync(join(FIXTURE_GATES, "gate-a.yaml"), join(gates, "gate-a.yaml"));
    writeFileSync(
      join(gates, "gate-a.yaml"),
      `${readFileSync(join(gates, "gate-a.yaml"), "utf8")}\nattempts: { max: 3, rule: consecutive_passes, passes: 2 }\n`,
    );
    const calls: EngineCall[] = [];
    world = await startBotWorld("attempts-consecutive", { gatesDir: gates, start: { runGate: scriptedEngine(["PASS", "PASS"], calls) } });
    const source = world.fake.createPullRequest({ head: "feature", files: { "src/a.ts": "a\n" }, author: "contributor" });

    const first = await runOnce(source.number);
    expect(first.attempt).toMatchObject({ number: 1, alpha: 0.025 });
    expect(first.attempt!.goWithheld).toMatch(/needs 2 consecutive full PASSes on this commit for a GO; this run makes 1/);
    expect(world.fake.state.comments.get(first.warRoomCommentId!)!.body).toContain(
      "NEXT: no GO yet: the gate's rule (attempts: max 3, consecutive_passes (2)) needs 2 consecutive full PASSes",
    );
    await world.review(first.evidencePullNumber!, "dri-alice", "approved");
    await waitFor("the reply", () => botReplies(first.evidencePullNumber!).find((c) => c.body.includes("No GO from this run")));
    expect(statuses(source.head.sha).some((s) => s.state === "success")).toBe(false);
    expect(statuses(source.head.sha).at(-1)!.description).toMatch(/^no GO yet \(attempt 1 of 3 on this commit\)/);

    const second = await runOnce(source.number);
    expect(second.attempt).toMatchObject({ number: 2, alpha: 0.025, goWithheld: null });
    expect(calls.map((c) => c.judgeAlpha)).toEqual([0.025, 0.025]);
    await world.review(second.evidencePullNumber!, "dri-alice", "approved");
    const go = await waitFor("the GO status", () => statuses(source.head.sha).find((s) => s.state === "success"));
    expect(go.description).toBe(`GO (attempt 2 of 3 on this commit, after PASS): PASS of run ${second.id} signed off by @dri-alice`);
  });
});
