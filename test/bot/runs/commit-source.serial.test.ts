// The commit the evidence names is the commit that ran. The fake GitHub's repository holds this
// repository's own files; each PR's head is fetched as a tarball, built (npm ci && npm run build, in a
// scratch folder) and deployed by the runner, with the gate file from the default branch:
// (1) the repository unchanged PASSes /gate-a replay 1k, and the evidence names the tarball, tree and
//     lockfile that were built; a second run of the same commit takes the cached build;
// (2) a head that adds 300 ms to the accept path FAILs on latency_p95, (3) although the same PR lowers
//     the bar in gates/gate-a.yaml: the default branch's bar judges it and the war room names the file,
// (4) and the service it built tries to print PRIVATE_KEY and WEBHOOK_SECRET and finds them unset;
// (5) a fork PR is refused until a maintainer approves, and the refusal says how to allow it;
// (6) a build that fails ends as ERROR with its exit code and log tail on the check run and war room.
// One world (and one build cache) for the file: the first build is the slow part (npm ci here, ~40 s).

import { jest } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decidedRun, measuredRun, reportedRun, startBotWorld, waitFor, type BotWorld } from "../support/bot-world.js";
import { bundleJson, bundleOnBranch } from "../support/evidence-checks.js";
import { warRoomMarker } from "../../../src/bot/github/war-room-comment.js";
import { untilVerdict } from "../../support/until-verdict.js";
import type { RunRecord } from "../../../src/bot/runs/run-state.js";

jest.setTimeout(900_000);

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BUILD_MS = 600_000;

/** This worktree's tracked files as they are on disk: the repository "unchanged". */
function repositoryFiles(): Record<string, Buffer> {
  const paths = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT }).toString().split("\0").filter(Boolean);
  return Object.fromEntries(paths.map((p) => [p, readFileSync(join(ROOT, p))]));
}

let world: BotWorld;
let files: Record<string, Buffer>;
const cacheDir = mkdtempSync(join(tmpdir(), "commit-source-cache-"));

beforeAll(async () => {
  files = repositoryFiles();
  world = await startBotWorld("commit", {
    childRunner: true,
    files,
    env: { BUILD_CACHE_DIR: cacheDir },
    permissions: { "fork-author": "read" },
  });
});

afterAll(async () => {
  await world?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

const onMain = (path: string) => {
  const state = world.fake.state;
  return state.git.flatten(state.git.commit(state.branchSha("main")!)!.tree).get(path)!;
};
const treeOf = (sha: string) => world.fake.state.git.commit(sha)!.tree;
const warRoomOf = (pr: number, run: RunRecord) => world.comments(pr).find((c) => c.body.startsWith(warRoomMarker(run.id)))!.body;
const checkOf = (run: RunRecord) => [...world.fake.state.checkRuns.values()].find((c) => c.externalId === run.id)!;

/** Replaces one piece of a file of this repository, failing loudly if the piece is gone. */
function edited(path: string, from: string, to: string): string {
  const text = files[path]!.toString("utf8");
  if (!text.includes(from)) throw new Error(`${path} no longer contains ${JSON.stringify(from)}: update this test's edit`);
  return text.replace(from, to);
}

describe("the PR's own commit is built and gated", () => {
  test("(1) this repository unchanged PASSes replay 1k, and the evidence names the tarball, tree and lockfile built", async () => {
    const pr = world.fake.createPullRequest({ head: "unchanged", files: {} });
    expect(treeOf(pr.head.sha)).toBe(treeOf(world.fake.state.branchSha("main")!));

    // Its one phase PASSes; a run of one of gate-a's three phases is PARTIAL, never a GO. Within three
    // tries: a loaded machine may keep the replay from proving either way (INCONCLUSIVE, tried again).
    const { run } = await decidedRun(world, pr.number, "octocat", "/gate-a replay 1k", "PARTIAL", { timeoutMs: BUILD_MS });
    expect(`${run.verdict}: ${run.reason}`).toMatch(/^(PARTIAL: all 1 phase passed: smoke|INCONCLUSIVE: )/);
    expect(run.headSha).toBe(pr.head.sha);
    expect(run.gateFile).toMatchObject({ path: "gates/gate-a.yaml", blobSha: onMain("gates/gate-a.yaml").sha, ref: "main" });
    expect(run.gateFileNote).toBeUndefined();

    // Fetched as GitHub serves it: the API redirects, the download host answers with the archive.
    const tarball = world.fake.requests.filter(
      (r) => r.route === "repos.downloadTarballArchive" && r.path.endsWith(`/tarball/${pr.head.sha}`),
    );
    expect(tarball.map((r) => r.status)).toContain(302);
    expect(world.fake.requests.some((r) => r.route === "codeload.download" && r.status === 200)).toBe(true);

    const bundle = bundleOnBranch(world.fake, `gate-a/evidence/${run.id}`, run.id);
    const built = bundleJson(bundle, "01-replay-logs/service-build.json");
    const lockfileSha = createHash("sha256").update(files["package-lock.json"]!).digest("hex");
    expect(built).toMatchObject({
      commit: pr.head.sha,
      treeSha: treeOf(pr.head.sha),
      lockfileSha256: lockfileSha,
      buildCommand: "npm ci --no-audit --no-fund && npm run build",
      exitCode: 0,
      failure: null,
      log: "01-replay-logs/service-build.log",
    });
    expect(built.tarballSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(built.durationMs).toBeGreaterThan(0);
    expect(bundle.get("01-replay-logs/service-build.log")!.toString()).toMatch(/added \d+ packages/);

    const attestation = bundleJson(bundle, "attestation.intoto.json");
    expect(attestation.subject).toEqual([
      { name: expect.any(String), digest: { gitCommit: pr.head.sha, gitTree: treeOf(pr.head.sha) } },
      { name: expect.stringMatching(/\.tar\.gz$/), digest: { sha256: built.tarballSha256 } },
    ]);
    expect(attestation.predicate.configuration).toEqual([
      {
        name: "gates/gate-a.yaml",
        digest: {
          sha256: createHash("sha256").update(files["gates/gate-a.yaml"]!).digest("hex"),
          gitBlob: onMain("gates/gate-a.yaml").sha,
        },
      },
    ]);

    // The same commit again: the build comes from the cache and the run starts in seconds.
    // Whatever its verdict: this is about the build.
    const again = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k", BUILD_MS);
    const rebuilt = bundleJson(
      bundleOnBranch(world.fake, `gate-a/evidence/${again.run.id}`, again.run.id),
      "01-replay-logs/service-build.json",
    );
    expect(rebuilt).toMatchObject({ cached: true, treeSha: built.treeSha, tarballSha256: built.tarballSha256 });
    console.log(
      `first build ${Math.round(built.durationMs / 1000)} s; cached run ${(Date.parse(again.run.finishedAt!) - Date.parse(again.run.startedAt!)) / 1000} s in all`,
    );
  });

  test("(2)(3)(4) a head that slows the accept path by 300 ms and lowers the bar FAILs on latency_p95 by the default branch's bar, without seeing the runner's secrets", async () => {
    const server = "src/ingest-service/server.ts";
    const webhooks = "src/ingest-service/routes/webhooks.ts";
    const handle = "  function handle(req: IncomingMessage, res: ServerResponse, started: number, receivedMs: number): void {\n";
    const slow = edited(
      webhooks,
      handle,
      `${handle}    setTimeout(() => handleNow(req, res, started, receivedMs), 300);\n  }\n${handle.replace("handle(", "handleNow(")}`,
    );
    // It prints which of the runner's secrets it can see (names only: the evidence redacts secret values).
    const snooping = `console.log(JSON.stringify({ msg: "env probe", visible: ["PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_TOKEN", "EVIDENCE_SIGNING_KEY"].filter((n) => process.env[n] !== undefined), variables: Object.keys(process.env).length }));\n`;
    const looser = edited("gates/gate-a.yaml", `latency_p95: "<= 20ms"`, `latency_p95: "<= 5s"`);
    const pr = world.fake.createPullRequest({
      head: "slow-accept",
      files: { [server]: snooping + files[server]!.toString("utf8"), [webhooks]: slow, "gates/gate-a.yaml": looser },
    });

    // A replay whose driver fell behind (a loaded machine) cannot judge latency (INCONCLUSIVE, or ERROR):
    // such a run is requested again, up to three times, until latency_p95 FAILs; the build comes from
    // the cache after the first.
    const { result } = await untilVerdict(
      "FAIL",
      3,
      async () => {
        const { run } = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k", BUILD_MS);
        const bundle = bundleOnBranch(world.fake, `gate-a/evidence/${run.id}`, run.id);
        const latency: { verdict: string; bar: string; measured: number | null; detail: string } = bundleJson(
          bundle,
          "verdict.json",
        ).phases[0].slos.find((s: { name: string }) => s.name === "latency_p95");
        return { run, bundle, latency };
      },
      { verdictOf: (r) => r.latency.verdict, reasonOf: (r) => r.latency.detail, retryOn: ["INCONCLUSIVE", "ERROR"] },
    );
    const { run, bundle, latency } = result;
    // The war room says the PR's gate file is not the one that judged it.
    expect(warRoomOf(pr.number, run)).toContain("`gates/gate-a.yaml` differs on this PR: its changes apply after merge.");

    // The service built from the PR looked for the runner's secrets and found nothing.
    const serverLog = [...bundle.entries()].find(([p]) => /01-replay-logs\/service\/server\.log/.test(p))!;
    const text = serverLog[0].endsWith(".gz") ? execFileSync("gzip", ["-dc"], { input: serverLog[1] }).toString() : serverLog[1].toString();
    expect(text).toMatch(/"msg":"env probe","visible":\[\],"variables":\d+/);
    // The runner that built it does hold them (the world starts it with PRIVATE_KEY and WEBHOOK_SECRET).
    expect(world.env.PRIVATE_KEY).toContain("PRIVATE KEY");
    expect(world.env.WEBHOOK_SECRET).toBeTruthy();
    expect(text).not.toContain(world.env.WEBHOOK_SECRET!);
    expect(text).not.toContain("PRIVATE KEY-----");

    // Judged by the default branch's bar (20 ms), not the PR's (5 s): FAIL on latency_p95.
    expect(`${run.verdict}: ${run.reason}`).toMatch(/^FAIL: /);
    // The check run names the objective that failed, with the default branch's bar.
    expect(checkOf(run).output.summary).toMatch(/\| latency_p95 \| [^|]+ \| [^|]*20 ?ms[^|]* \| ❌ FAIL \|/);
    expect(run.gateFile?.blobSha).toBe(onMain("gates/gate-a.yaml").sha);
    expect(latency.verdict).toBe("FAIL");
    expect(latency.bar).toMatch(/20 ?ms/);
    expect(latency.measured).toBeGreaterThan(300);
  });

  test("(5) a fork PR is refused with how to allow it, and runs once a maintainer approves its head", async () => {
    // Its own commit with main's tree: the run takes (1)'s build from the cache instead of building again.
    const pr = world.fake.createPullRequest({
      head: "from-fork",
      fork: "fork-author",
      author: "fork-author",
      files: { "README.md": files["README.md"] },
    });
    expect(pr.head.sha).not.toBe(world.fake.state.branchSha("main"));
    const before = world.comments(pr.number).length;
    await world.comment(pr.number, "octocat", "/gate-a replay 1k");
    const refusal = await waitFor("the refusal", () =>
      world
        .comments(pr.number)
        .slice(before)
        .find((c) => c.user.login === world.fake.botLogin),
    );
    expect(refusal.body).toContain("comes from a fork (`fork-author/service`)");
    expect(refusal.body).toContain("`/gate-a approve-run`");
    expect(refusal.body).toContain("`commands.allow_forks: true`");
    expect(refusal.body).toContain("`gates/gate-a.yaml`");
    expect(await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number)).toEqual([]);

    // Someone without write permission cannot approve; a maintainer can, for this head only.
    await world.comment(pr.number, "fork-author", "/gate-a approve-run");
    await world.comment(pr.number, "octocat", "/gate-a approve-run");
    const approved = await waitFor("the approval", () =>
      world.comments(pr.number).find((c) => c.body.includes(`runs of ${pr.head.sha.slice(0, 7)} from \`fork-author/service\``)),
    );
    expect(approved.body).toContain("@octocat approved Gate A: Production Promotion runs");
    const refusedApproval = world
      .comments(pr.number)
      .find((c) => c.body.startsWith("> /gate-a approve-run") && c.body.includes("@fork-author"));
    expect(refusedApproval?.body).toMatch(/permission/);
    await world.comment(pr.number, "octocat", "/gate-a replay 1k");
    const runs = await waitFor(
      "a run",
      async () => (await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number))[0],
    );
    expect(runs).toMatchObject({ headSha: pr.head.sha, headRepo: "fork-author/service" });
    await world.comment(pr.number, "octocat", "/gate-a abort");
    await reportedRun(world, pr.number, () => true, BUILD_MS);
  });

  test("(6) a build that fails ends as ERROR with its exit code and log tail on the check run and the war room", async () => {
    const pr = world.fake.createPullRequest({ head: "broken-lockfile", files: { "package-lock.json": "{ this is not json\n" } });
    const { run } = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k", BUILD_MS);
    expect(run.verdict).toBe("ERROR");
    expect(run.reason).toMatch(/build failed: the build `npm ci --no-audit --no-fund && npm run build` exited with code \d+/);
    expect(run.sourceFailure).toMatchObject({ step: "build", code: "build_failed" });
    expect(run.sourceFailure!.exitCode).toBeGreaterThan(0);
    expect(run.sourceFailure!.logTail.length).toBeGreaterThan(0);
    expect(run.sourceFailure!.logTail.length).toBeLessThanOrEqual(40);
    expect(run.sourceFailure!.logTail.join("\n")).toMatch(/npm (ERR|error)/);
    const check = checkOf(run);
    expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(check.output.summary).toContain(`build failed (exit code ${run.sourceFailure!.exitCode})`);
    expect(check.output.summary).toContain(run.sourceFailure!.logTail.at(-1)!);
    const warRoom = warRoomOf(pr.number, run);
    expect(warRoom).toContain(`build failed (exit code ${run.sourceFailure!.exitCode})`);
    expect(warRoom).toContain("last ");
    // The evidence of the failed build is still committed: what was fetched, and the log.
    const built = bundleJson(bundleOnBranch(world.fake, `gate-a/evidence/${run.id}`, run.id), "01-replay-logs/service-build.json");
    expect(built).toMatchObject({
      commit: pr.head.sha,
      exitCode: run.sourceFailure!.exitCode,
      failure: { step: "build", code: "build_failed" },
    });
  });

  test("a tarball GitHub will not give (403) ends as ERROR at the fetch step, saying which permission is missing", async () => {
    const pr = world.fake.createPullRequest({ head: "no-tarball", files: { "README.md": "# no tarball\n" } });
    world.fake.failNext("repos.downloadTarballArchive", {
      status: 403,
      body: { message: "Resource not accessible by integration", status: "403" },
    });
    const { run } = await measuredRun(world, pr.number, "octocat", "/gate-a replay 1k", BUILD_MS);
    expect(run.verdict).toBe("ERROR");
    expect(run.sourceFailure).toMatchObject({ step: "fetch", code: "archive_unavailable", exitCode: 403 });
    expect(run.reason).toContain(`"Contents: read"`);
    expect(checkOf(run).output.summary).toContain("fetch failed");
  });
});
