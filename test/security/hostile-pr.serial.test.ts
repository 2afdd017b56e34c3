// A pull request whose code is hostile, gated by the real bot on the fake GitHub (`/gate-a replay 1k`, the
// build and the run in a sealed room). Its build scripts (npm's preinstall) and its service try every attack
// of issue 18 at once: read the runner's environment and key, plant files in the build cache and the
// bundle folder, write the bot's Redis, create a table in the machine's PostgreSQL (over TCP and over its
// trusting Unix socket), reach the dashboard, kill the runner, leave a daemon behind, and hide a slow
// accept path behind a busy child the host watch might blame on "other work". Each attack has no effect:
// the FAIL stands, no secret reaches anything the PR's code could write, no record of the bot changes, no
// process of the room survives, and the production deployment of that commit is rejected.

import { jest } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { decidedRun, startBotWorld, type BotWorld } from "../bot/support/bot-world.js";
import { bundleOnBranch } from "../bot/support/evidence-checks.js";
import { deployTo } from "../bot/support/deployments.js";
import { roomSupport } from "../../src/gates/target/room/index.js";
import { generateSigningKeyPair } from "../../src/gates/evidence/dsse.js";

jest.setTimeout(900_000);

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILD_MS = 600_000;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const support = roomSupport();

function repositoryFiles(): Record<string, Buffer> {
  const paths = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT }).toString().split("\0").filter(Boolean);
  return Object.fromEntries(paths.map((p) => [p, readFileSync(join(ROOT, p))]));
}

function edited(files: Record<string, Buffer>, path: string, from: string, to: string): string {
  const text = files[path]!.toString("utf8");
  if (!text.includes(from)) throw new Error(`${path} no longer contains ${JSON.stringify(from)}: update this test's edit`);
  return text.replace(from, to);
}

/** The text of a bundle file, gunzipped when it was stored compressed. */
function text(bundle: Map<string, Buffer>, pattern: RegExp): string {
  return [...bundle.entries()]
    .filter(([p]) => pattern.test(p))
    .map(([p, b]) => (p.endsWith(".gz") ? execFileSync("gzip", ["-dc"], { input: b }).toString() : b.toString()))
    .join("\n");
}

/** Processes whose command line names the hostile code's helpers. */
function hostileProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (/hostile-(busy|daemon)|attack\.cjs/.test(cmd)) found.push(`${pid} ${cmd.replace(/\0/g, " ")}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

const sealable = support.missing.length === 0 ? describe : describe.skip;
if (support.missing.length) console.warn(`hostile PR: this machine cannot make a sealed room (${support.missing.join("; ")})`);

sealable("a pull request whose code is hostile", () => {
  let world: BotWorld;
  const scratch = mkdtempSync(join(tmpdir(), "hostile-pr-"));
  const cacheDir = join(scratch, "cache");
  const keyFile = join(scratch, "evidence-key.pem");

  beforeAll(async () => {
    // The evidence key as a file of the runner's (0600), as a deployment keeps it.
    writeFileSync(keyFile, generateSigningKeyPair().privateKeyPem, { mode: 0o600 });
    world = await startBotWorld("hostile", {
      childRunner: true,
      files: repositoryFiles(),
      env: {
        BUILD_CACHE_DIR: cacheDir,
        EVIDENCE_SIGNING_KEY: "",
        EVIDENCE_SIGNING_KEY_PATH: keyFile,
        DASHBOARD_TOKEN: `dash-${Date.now().toString(36)}-secret`,
      },
    });
  });
  afterAll(async () => {
    await world?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("every attack of its build and its service has no effect, and its FAIL stands", async () => {
    const files = repositoryFiles();
    const targets = {
      prefix: world.prefix,
      keyFile,
      cacheDir,
      runnerCode: ROOT,
      dashboardPort: Number(world.env.PORT),
    };
    const attack = readFileSync(join(ROOT, "test/security/fixtures/attack.cjs"), "utf8").replace(
      "const T = TARGETS;",
      `const T = ${JSON.stringify(targets)};`,
    );
    const pkg = JSON.parse(files["package.json"]!.toString());
    pkg.scripts = { preinstall: "node hostile/attack.cjs build", ...pkg.scripts };
    // Each request answered 80 ms late. The FAIL's lower bound takes out the driver's own lag, which the busy
    // child and the slow answers can push to 50-75 ms on a loaded machine: at 40 ms late that made the first
    // try INCONCLUSIVE in two CI runs; at 80 ms the P95 lower bound was 153 ms, so only a driver lag p99 over
    // about 130 ms would leave the FAIL undecided.
    const handle = "  function handle(req: IncomingMessage, res: ServerResponse, started: number, receivedMs: number): void {\n";
    const webhooks = "src/ingest-service/routes/webhooks.ts";
    const slow = edited(
      files,
      webhooks,
      handle,
      `${handle}    setTimeout(() => handleNow(req, res, started, receivedMs), 80);\n  }\n${handle.replace("handle(", "handleNow(")}`,
    );
    const command = "src/ingest-service/ingest-command.ts";
    const serveStart = "export async function ingestCommand(args: string[]): Promise<number> {\n";
    const starting = edited(
      files,
      command,
      serveStart,
      `${serveStart}  if (args[0] === "serve") (await import("node:child_process")).spawn(process.execPath, ["hostile/attack.cjs", "service"], { stdio: "inherit" });\n`,
    );
    const pr = world.fake.createPullRequest({
      head: "hostile",
      files: { "hostile/attack.cjs": attack, "package.json": `${JSON.stringify(pkg, null, 2)}\n`, [webhooks]: slow, [command]: starting },
    });

    // Until a try FAILs, at most three (the machine's noise can make one INCONCLUSIVE; the build comes from the cache after the first).
    const { run } = await decidedRun(world, pr.number, "octocat", "/gate-a replay 1k", "FAIL", {
      timeoutMs: BUILD_MS,
      retryOn: ["INCONCLUSIVE", "ERROR"],
    });
    if (run.sourceFailure) console.log(`the build's last lines:\n${run.sourceFailure.logTail.join("\n")}`);
    expect(`${run.verdict}: ${run.reason}`).toMatch(/^FAIL: .*latency_p95/);

    const bundle = bundleOnBranch(world.fake, `gate-a/evidence/${run.id}`, run.id);
    const buildLog = text(bundle, /01-replay-logs\/service-build\.log$/);
    const serviceLog = text(bundle, /01-replay-logs\/service\/server\.log/);
    const outcome = (log: string, mode: string, name: string) => new RegExp(`ATTACK ${mode} ${name}: ([^"\\n\\\\]*)`).exec(log)?.[1];
    for (const [log, mode] of [
      [buildLog, "build"],
      [serviceLog, "service"],
    ] as const) {
      // The attacks ran: each printed its outcome, and none got through.
      expect(outcome(log, mode, "environ")).toMatch(/secrets found: none$/);
      expect(outcome(log, mode, "key")).toMatch(/^(ENOENT|EACCES)$/);
      expect(outcome(log, mode, "cache")).toMatch(/^(ENOENT|EACCES)$/);
      expect(outcome(log, mode, "bundle")).toBe("no run folder visible");
      // Hidden, or under a private /tmp when the runner itself lives in /tmp.
      expect(outcome(log, mode, "code")).toMatch(/^(EACCES|EMPTY|ENOENT)$/);
      expect(outcome(log, mode, "signal-runner")).toMatch(/^(no runner visible|EPERM|ESRCH)$/);
      expect(outcome(log, mode, "redis")).not.toMatch(/\+OK/);
      expect(outcome(log, mode, "postgres-tcp")).not.toBe("TABLE CREATED");
      expect(outcome(log, mode, "postgres-socket")).toMatch(/^(ENOENT|EACCES|ECONNREFUSED)$/);
      expect(outcome(log, mode, "dashboard")).toMatch(/^(ECONNREFUSED|TIMEOUT)$/);
    }
    expect(outcome(serviceLog, "service", "busy-child")).toMatch(/^started \d+/);
    expect(outcome(serviceLog, "service", "daemon")).toMatch(/^started \d+/);

    // The busy child was the service's own: never named as other work on the machine.
    for (const [path, bytes] of bundle) {
      if (/01-replay-logs\/service\//.test(path) || path.endsWith("service-build.log")) continue;
      expect(`${path}: ${path.endsWith(".gz") ? "" : bytes.toString()}`).not.toContain("hostile-busy");
    }

    // No secret of the bot in anything the PR's code wrote, nor in anything posted.
    const secrets = [world.env.PRIVATE_KEY!, world.env.WEBHOOK_SECRET!, world.env.DASHBOARD_TOKEN!, readFileSync(keyFile, "utf8").trim()];
    const everything = [
      buildLog,
      serviceLog,
      ...world.comments(pr.number).map((c) => c.body),
      ...[...world.fake.state.checkRuns.values()].map((c) => JSON.stringify(c.output)),
    ].join("\n");
    for (const s of secrets) expect(everything).not.toContain(s);
    expect(everything).not.toContain("PRIVATE KEY-----\nMII");

    // No record of the bot changed; the machine's PostgreSQL has no table of theirs.
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.keys(`${world.prefix}:pwned*`)).toEqual([]);
      for (const r of await world.bot.queue.state.runsForPull(world.fake.owner, world.fake.repo, pr.number))
        expect(r.headSha).toBe(pr.head.sha);
    } finally {
      redis.disconnect();
    }
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      expect((await db.query("select to_regclass('public.hostile_pwned') as t")).rows[0].t).toBeNull();
    } finally {
      await db.end();
    }

    // Nothing of the room survives its run.
    expect(hostileProcesses()).toEqual([]);

    // The room's set-up is on the record.
    expect(JSON.parse(text(bundle, /01-replay-logs\/room\.json$/))).toMatchObject({
      cgroup: expect.stringMatching(/^v[12]$/),
      setupMs: { room: expect.any(Number), data: expect.any(Number) },
    });

    // And production will not take that commit.
    const production = await deployTo(world, "production", pr.head.sha, { pr: pr.number });
    expect(production.decided.state).toBe("rejected");
  });
});
