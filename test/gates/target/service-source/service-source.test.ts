// Building the service under test from a commit's source archive: the tree SHA is git's, a build is
// cached (see build-cache.test.ts), a failed build says where and shows its log tail, and nothing
// secret of the runner reaches the build or the service started from it.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitTreeSha, prepareService, ServiceSourceError, LOG_TAIL_LINES } from "../../../../src/gates/target/service-source/index.js";
import { deploy } from "../../../../src/gates/target/deployment.js";
import type { BundledTarget } from "../../../../src/gates/model/gate.js";
import { loadGate } from "../../../../src/gates/gate-file/index.js";
import { executeRun } from "../../../../src/gates/run/execute-run.js";
import { commitArchive } from "../../../support/commit-archive.js";

const SECRETS = {
  PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----secret-app-key",
  WEBHOOK_SECRET: "whs-runner-secret",
  GITHUB_TOKEN: "ghs_runner_token",
  EVIDENCE_SIGNING_KEY: "ed25519-signing-key",
};

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "service-source-test-"));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const archiveOf = (files: Record<string, string>) => commitArchive(work, files, "octo-service");

/** A service tree whose "build" writes a CLI that reports the environment it was given, and answers /readyz. */
const SNOOPING_SERVICE = {
  "build.js": `
    const fs = require("fs");
    for (const k of ${JSON.stringify(Object.keys(SECRETS))}) console.log("build sees " + k + "=" + (process.env[k] ?? "<unset>"));
    fs.mkdirSync("dist/src", { recursive: true });
    fs.writeFileSync("dist/src/cli.js", fs.readFileSync("service.cjs"));
  `,
  "service.cjs": `
    const http = require("http");
    for (const k of ${JSON.stringify(Object.keys(SECRETS))}) console.log("service sees " + k + "=" + (process.env[k] ?? "<unset>"));
    console.log("service sees REDIS_URL=" + process.env.REDIS_URL + " signing=" + (process.env.WEBHOOK_SIGNING_SECRET ? "set" : "unset"));
    const args = process.argv.slice(2);
    if (args[1] === "serve") {
      const port = Number(args[args.indexOf("--port") + 1]);
      http.createServer((req, res) => { res.statusCode = 200; res.end("ok"); }).listen(port, "127.0.0.1");
    } else setInterval(() => {}, 1000);
    process.stdin.on("end", () => process.exit(0)); process.stdin.resume();
  `,
  "package.json": `{"name":"snoop","version":"1.0.0"}\n`,
};

const target: BundledTarget = {
  kind: "bundled",
  mode: "queue",
  workers: 1,
  batchSize: 50,
  batchLingerMs: 5,
  redisUrl: "redis://127.0.0.1:6379",
  databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
};

describe("the service under test, built from a commit's archive", () => {
  test("the tree SHA it computes is the one git gives the commit", async () => {
    const { archive, commit, tree } = archiveOf({ "a.txt": "a\n", "src/b.ts": "export {};\n", "src/deep/c.json": "{}\n", "z-last": "z" });
    const built = await prepareService({ archive, commit, repository: "acme/service", build: "true", cacheDir: join(work, "cache") }).catch(
      (e: ServiceSourceError) => e,
    );
    // "true" leaves no dist/src/cli.js: the build is refused, and its evidence still names the exact tree.
    expect(built).toBeInstanceOf(ServiceSourceError);
    const e = built as ServiceSourceError;
    expect(e.code).toBe("build_output_missing");
    expect(e.evidence?.treeSha).toBe(tree);
    expect(e.evidence?.commit).toBe(commit);
    expect(e.evidence?.tarballSha256).toMatch(/^[0-9a-f]{64}$/);
    const dir = join(work, "plain");
    mkdirSync(dir);
    execFileSync("tar", ["-xzf", archive, "-C", dir]);
    expect(await gitTreeSha(join(dir, `octo-service-${commit.slice(0, 7)}`))).toBe(tree);
  });

  test("neither the build nor the service started from the tree can read the runner's secrets", async () => {
    const { archive, commit } = archiveOf(SNOOPING_SERVICE);
    const baseEnv = { ...process.env, ...SECRETS };
    const service = await prepareService({
      archive,
      commit,
      repository: "acme/service",
      build: "node build.js",
      cacheDir: join(work, "cache"),
      baseEnv,
    });
    try {
      for (const k of Object.keys(SECRETS)) expect(service.evidence.log).toContain(`build sees ${k}=<unset>`);
      expect(service.env).not.toHaveProperty("PRIVATE_KEY");
      const logDir = join(work, "logs");
      const previous = { ...process.env };
      Object.assign(process.env, SECRETS); // the runner's own environment holds them, as in production
      let logs: Record<string, string>;
      try {
        const d = await deploy(target, {
          namespace: `rg_snoop_${Date.now().toString(36)}`,
          credentials: { signingSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
          logDir,
          service: { cli: service.cli, cwd: service.dir, env: service.env },
        });
        logs = d.logs;
        await new Promise((r) => setTimeout(r, 300));
        await d.teardown();
      } finally {
        for (const k of Object.keys(SECRETS)) if (!(k in previous)) delete process.env[k];
      }
      const server = readFileSync(logs.server!, "utf8");
      for (const k of Object.keys(SECRETS)) expect(server).toContain(`service sees ${k}=<unset>`);
      for (const v of Object.values(SECRETS)) expect(server).not.toContain(v);
      // What it must see, it sees: its namespace's Redis and the run's fresh credentials.
      expect(server).toContain("service sees REDIS_URL=redis://127.0.0.1:6379 signing=set");
      expect(readFileSync(logs["worker-1"]!, "utf8")).toContain("service sees PRIVATE_KEY=<unset>");
    } finally {
      await service.dispose();
    }
    expect(existsSync(service.dir)).toBe(false);
  });

  test("a second run of the same commit takes the cached build instead of building again", async () => {
    const { archive, commit } = archiveOf({
      ...SNOOPING_SERVICE,
      "build.js": `${SNOOPING_SERVICE["build.js"]}\nconsole.log("built at " + Date.now());`,
    });
    const cacheDir = join(work, "cache");
    const first = await prepareService({ archive, commit, repository: "acme/service", build: "node build.js && sleep 1", cacheDir });
    await first.dispose();
    const started = Date.now();
    const second = await prepareService({ archive, commit, repository: "acme/service", build: "node build.js && sleep 1", cacheDir });
    const tookMs = Date.now() - started;
    try {
      expect(first.evidence.cached).toBe(false);
      expect(second.evidence.cached).toBe(true);
      expect(second.evidence.log).toBe(first.evidence.log); // the log of the build that made it
      expect(second.evidence.treeSha).toBe(first.evidence.treeSha);
      expect(tookMs).toBeLessThan(first.evidence.durationMs);
      expect(existsSync(second.cli)).toBe(true);
      // Another build command is another build.
      const third = await prepareService({ archive, commit, repository: "acme/service", build: "node build.js", cacheDir });
      expect(third.evidence.cached).toBe(false);
      await third.dispose();
    } finally {
      await second.dispose();
    }
  });

  test("a failing build ends with the step, its exit code and the last 40 lines of its log", async () => {
    const lines = Array.from({ length: 100 }, (_, i) => `console.log("line ${i + 1}");`).join("\n");
    const { archive, commit } = archiveOf({ "build.js": `${lines}\nconsole.error("tsc: error TS2322"); process.exit(3);\n` });
    const err = (await prepareService({
      archive,
      commit,
      repository: "acme/service",
      build: "node build.js",
      cacheDir: join(work, "cache"),
    }).catch((e: unknown) => e)) as ServiceSourceError;
    expect(err).toBeInstanceOf(ServiceSourceError);
    expect(err).toMatchObject({ code: "build_failed", step: "build", exitCode: 3 });
    expect(err.message).toBe("the build `node build.js` exited with code 3");
    expect(err.logTail).toHaveLength(LOG_TAIL_LINES);
    expect(err.logTail.at(-1)).toBe("tsc: error TS2322");
    expect(err.logTail[0]).toBe("line 62");
    expect(err.evidence?.failure).toEqual({ step: "build", message: err.message });
    expect(existsSync(join(work, "cache", "builds"))).toBe(false); // nothing cached from a failure
  });

  test("an archive that is not a tarball of one commit is refused at the unpack step", async () => {
    const bogus = join(work, "bogus.tar.gz");
    writeFileSync(bogus, "<html>not a tarball</html>");
    const err = (await prepareService({
      archive: bogus,
      commit: "f".repeat(40),
      repository: "acme/service",
      cacheDir: join(work, "cache"),
    }).catch((e: unknown) => e)) as ServiceSourceError;
    expect(err).toMatchObject({ code: "archive_invalid", step: "unpack" });
    expect(err.message).toMatch(/was refused: not a gzipped tar archive \(incorrect header check\)/);
  });

  test("a service built from the commit that never becomes ready ends the run as ERROR with its exit code and log tail", async () => {
    const { archive, commit } = archiveOf({
      "build.js": `require("fs").mkdirSync("dist/src", { recursive: true }); require("fs").writeFileSync("dist/src/cli.js", 'console.error("boom: the config module is missing"); process.exit(7);');`,
    });
    const gateA = loadGate("gates/gate-a.yaml");
    const gate = { ...gateA, phases: [{ ...gateA.phases[0]!, requests: 100, rate: 100 }] };
    const run = await executeRun(gate, {
      phases: gate.phases,
      commit,
      source: { archive, cacheDir: join(work, "cache"), build: "node build.js" },
      logDir: join(work, "logs"),
    });
    expect(run.verdict).toBe("ERROR");
    expect(run.reason).toMatch(/^could not run: deploy failed: the ingest service exited with code 7 before it was ready/);
    expect(run.sourceFailure).toMatchObject({ step: "deploy", code: "DEPLOY_FAILED", exitCode: 7 });
    expect(run.sourceFailure!.logTail).toContain("boom: the config module is missing");
    expect(run.source).toMatchObject({ commit, exitCode: 0, cached: false });
    expect(run.phases.map((p) => p.ran)).toEqual([false]);
  });
});
