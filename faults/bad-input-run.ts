// The bad-input catalogue as a part of the fault suite: private Redis and PostgreSQL, two front doors
// (all three auth schemes; bearer only), every case once with its checks, then the fast cases
// `iterations` times to watch the server's memory (VmRSS) against the 20% bar.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { withInstances } from "./instances.js";
import { badInputCatalogue, checkStoredNothing, runCatalogue, type CatalogueTarget } from "./bad-input-catalogue.js";
import { IngestProcesses } from "./ingest-processes.js";

/** Catalogue runs before the memory baseline is taken. */
export const WARM_UP_RUNS = 40;

/** The most RSS may grow over the repeated runs, as a share of the RSS after the warm-up runs. */
export const RSS_GROWTH_BAR = 0.2;

export interface BadInputSummary {
  cases: number;
  failed: { name: string; problems: string[] }[];
  /** What checkStoredNothing found in PostgreSQL after the run. */
  stored_problems: string[];
  iterations: number;
  rss_before_kb: number;
  rss_after_kb: number;
  rss_growth_pct: number;
  passed: boolean;
  duration_ms: number;
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(m[1]);
}

export async function runBadInputSuite(o: {
  logDir: string;
  iterations: number;
  slowBoundMs?: number;
  progress?: (line: string) => void;
}): Promise<BadInputSummary> {
  const started = Date.now();
  const say = (line: string) => o.progress?.(`[bad-input] ${line}`);
  return withInstances(async ({ redis, postgres }) => {
    const namespace = "faults_bad_input";
    const bearerKey = randomBytes(16).toString("hex");
    const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
    const githubSecret = randomBytes(16).toString("hex");
    const common = { namespace, redisUrl: redis.url, databaseUrl: postgres.url, logDir: join(o.logDir, "bad-input") };
    const signed = await IngestProcesses.start({ ...common, credentials: { bearerKey, signingSecret, githubSecret } }, 1);
    let bearer: IngestProcesses | undefined;
    try {
      bearer = await IngestProcesses.start({ ...common, credentials: { bearerKey } }, 0);
      const target: CatalogueTarget = {
        namespace,
        redisUrl: redis.url,
        databaseUrl: postgres.url,
        servers: {
          signed: { host: "127.0.0.1", port: signed.port, bearerKey, signingSecret, githubSecret },
          bearer: { host: "127.0.0.1", port: bearer.port, bearerKey },
        },
      };
      // The servers run with the default --request-timeout-ms (5 s): cut within it, the check interval and 1 s of slack.
      const catalogue = badInputCatalogue(o.slowBoundMs ?? 7000);
      say(`${catalogue.length} cases, with queue checks and a valid probe after each`);
      const report = await runCatalogue(target, { cases: catalogue });
      const failed = report.results.filter((r) => !r.ok).map((r) => ({ name: r.name, problems: r.problems }));
      const storedProblems = await checkStoredNothing(target, report.probeIds);
      say(
        `${report.results.length - failed.length}/${report.results.length} cases pass; stored check: ${storedProblems.length ? storedProblems.join("; ") : "ok"}`,
      );

      const fast = catalogue.filter((k) => !k.slow);
      const pid = signed.serverPid!;
      // Warm up until the heap reaches its working size (it levels off within 20-50 runs), then measure:
      // a leak keeps growing after that, a working set does not.
      for (let i = 0; i < WARM_UP_RUNS; i++) await runCatalogue(target, { cases: fast, probe: false, checkQueue: false, concurrency: 8 });
      const before = rssKb(pid);
      for (let i = 0; i < o.iterations; i++) {
        await runCatalogue(target, { cases: fast, probe: false, checkQueue: false, concurrency: 8 });
        if ((i + 1) % 25 === 0) say(`memory run ${i + 1}/${o.iterations}: VmRSS ${rssKb(pid)} kB (after warm-up ${before} kB)`);
      }
      const after = rssKb(pid);
      const growth = after / before - 1;
      const stillUp = (await signed.readiness()).status === 200;
      const memoryOk = growth <= RSS_GROWTH_BAR;
      if (!stillUp) failed.push({ name: "server still ready after the repeated runs", problems: ["/readyz is not 200"] });
      if (!memoryOk) {
        failed.push({
          name: `server memory after ${o.iterations} runs of the catalogue`,
          problems: [`VmRSS grew ${(growth * 100).toFixed(1)}% (${before} kB -> ${after} kB); the bar is ${RSS_GROWTH_BAR * 100}%`],
        });
      }
      return {
        cases: catalogue.length,
        failed,
        stored_problems: storedProblems,
        iterations: o.iterations,
        rss_before_kb: before,
        rss_after_kb: after,
        rss_growth_pct: Math.round(growth * 1000) / 10,
        passed: failed.length === 0 && storedProblems.length === 0,
        duration_ms: Date.now() - started,
      };
    } finally {
      await Promise.allSettled([signed.stop(), bearer?.stop()]);
    }
  });
}
