// Evidence the build cannot touch, and one redaction for everything written: the evidence commit holds
// exactly the files of the bundle's manifest, a bundle whose files do not match it opens no evidence PR,
// and a build log carrying keys and tokens reaches neither the committed evidence nor any comment.

import { jest } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { publishRun } from "../../../src/bot/github/publish-run.js";
import { guardForGitHub } from "../../../src/bot/github/redact-for-github.js";
import type { GitHub } from "../../../src/bot/github/github.js";
import { writeEvidenceBundle } from "../../../src/gates/evidence/evidence-bundle.js";
import { buildGateRun, builtSource } from "../../support/gate-run-fixture.js";
import { startBotWorld, type BotWorld } from "../support/bot-world.js";
import { bundleOnBranch, sha256sumCheck } from "../support/evidence-checks.js";

jest.setTimeout(90_000);

const DASHBOARD = "dash-0123456789abcdef-token";
let world: BotWorld | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await world?.close();
  world = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The App's client as the runner has it: every text it sends goes through the redaction. */
const appClient = (w: BotWorld) => guardForGitHub(new Octokit({ auth: "installation-token", baseUrl: w.fake.apiUrl })) as unknown as GitHub;

async function bundle(o: { log?: string } = {}): Promise<{ dir: string; runId: string }> {
  const fixture = await buildGateRun({ scale: 0.01, commit: "c".repeat(40) });
  const run = o.log
    ? {
        ...fixture,
        source: builtSource(fixture, o.log),
      }
    : fixture;
  const dir = join(mkdtempSync(join(tmpdir(), "bot-evidence-commit-")), "bundle");
  dirs.push(dir);
  await writeEvidenceBundle(dir, run);
  return { dir, runId: run.id };
}

describe("the evidence commit", () => {
  test("a file dropped into the bundle folder is not committed, and the evidence PR is told", async () => {
    world = await startBotWorld("evidence-stray");
    const w = world;
    const { dir, runId } = await bundle();
    writeFileSync(join(dir, "dropped-by-build.txt"), "not evidence\n");
    const published = await publishRun(
      appClient(w),
      { owner: w.fake.owner, repo: w.fake.repo },
      { gate: w.bot.catalog.byName("gate-a")!, bundleDir: dir },
    );
    const files = bundleOnBranch(w.fake, published.evidence!.branch, runId);
    expect(files.has("dropped-by-build.txt")).toBe(false);
    expect(sha256sumCheck(files)).not.toMatch(/FAILED/);
    expect(published.problems.join("\n")).toContain("`dropped-by-build.txt`");
    expect(
      w
        .comments(published.evidence!.number)
        .map((c) => c.body)
        .join("\n"),
    ).toContain("not in SHA256SUMS, so it was not committed");
  });

  test("a bundle whose listed file changed after sealing opens no evidence PR and commits nothing", async () => {
    world = await startBotWorld("evidence-altered");
    const w = world;
    const { dir } = await bundle();
    writeFileSync(join(dir, "summary.md"), "# PASS, trust me\n");
    const refsBefore = [...w.fake.state.refs.keys()];
    await expect(
      publishRun(appClient(w), { owner: w.fake.owner, repo: w.fake.repo }, { gate: w.bot.catalog.byName("gate-a")!, bundleDir: dir }),
    ).rejects.toThrow(
      "the evidence bundle does not match its SHA256SUMS, so none of it is published: summary.md does not match its digest",
    );
    expect([...w.fake.state.refs.keys()].filter((r) => r.includes("/evidence/") && !refsBefore.includes(r))).toEqual([]);
  });

  test("a build log with a PEM key, a ghs_ token, the dashboard token and a URL password leaks none of them", async () => {
    world = await startBotWorld("evidence-redaction", { env: { DASHBOARD_TOKEN: DASHBOARD } });
    const w = world;
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const token = `ghs_${"Zx9".repeat(10)}`;
    const secrets = [pem.split("\n")[1]!, token, DASHBOARD, "hunter2-pw", w.env.EVIDENCE_SIGNING_KEY!.split("\n")[1]!, w.secret];
    const log = `${pem}\nGH_TOKEN=${token}\ndashboard ${DASHBOARD}\npostgres://svc:hunter2-pw@db/x\n${w.env.EVIDENCE_SIGNING_KEY}\nwebhook ${w.secret}\n`;
    const { dir, runId } = await bundle({ log });
    const github = appClient(w);
    const published = await publishRun(
      github,
      { owner: w.fake.owner, repo: w.fake.repo },
      { gate: w.bot.catalog.byName("gate-a")!, bundleDir: dir },
    );
    await github.rest.issues.createComment({
      owner: w.fake.owner,
      repo: w.fake.repo,
      issue_number: published.evidence!.number,
      body: `build log:\n${log}`,
    });
    const committed = [...bundleOnBranch(w.fake, published.evidence!.branch, runId).values()].map((b) => b.toString("latin1")).join("\n");
    const comments = w
      .comments(published.evidence!.number)
      .map((c) => c.body)
      .join("\n");
    for (const secret of secrets) {
      expect(committed).not.toContain(secret);
      expect(comments).not.toContain(secret);
    }
    expect(comments).toContain("-----BEGIN PRIVATE KEY----- [REDACTED] -----END PRIVATE KEY-----");
  });
});
