// `target:` what the gate measures: the bundled ingest service started locally, or a deployed one by URL.

import type { BundledTarget, DeployedTarget, Target } from "../gate.js";
import { countIn, durationIn, oneOf, url } from "./converters.js";
import type { Entry, GateReader } from "./gate-reader.js";
import { BUNDLED_KEYS, DEPLOYED_KEYS } from "./schema.js";

export function readTarget(r: GateReader, entry: Entry | undefined): Target | undefined {
  const m = r.mapping(entry, "target", { required: [], optional: ["bundled", "deployed"] }, "the target");
  if (!m) return undefined;
  const bundled = m.entries.get("bundled");
  const deployed = m.entries.get("deployed");
  if (bundled && deployed) {
    r.problem(deployed.key, "target", `both bundled and deployed are set; expected exactly one of them`);
    return undefined;
  }
  if (!bundled && !deployed) {
    r.problem(
      entry!.key,
      "target",
      `no target; expected "bundled:" (start the bundled ingest service locally) or "deployed:" (the url of a running service)`,
    );
    return undefined;
  }
  if (bundled) {
    const b = r.mapping(bundled, "target.bundled", BUNDLED_KEYS, "the bundled target");
    if (!b) return undefined;
    const at = (k: string) => b.entries.get(k);
    const p = (k: string) => `target.bundled.${k}`;
    const mode = at("mode") ? r.value(at("mode")!, p("mode"), oneOf(["queue", "sync"] as const)) : "queue";
    const workers = at("workers") ? r.value(at("workers")!, p("workers"), countIn(1, 64)) : 2;
    const batchSize = at("batch_size") ? r.value(at("batch_size")!, p("batch_size"), countIn(1, 10_000)) : 50;
    const batchLingerMs = at("batch_linger") ? r.value(at("batch_linger")!, p("batch_linger"), durationIn(0, 10_000)) : 5;
    const redisUrl = r.value(at("redis_url"), p("redis_url"), url(["redis:", "rediss:"], "redis://127.0.0.1:6379"));
    const databaseUrl = r.value(
      at("database_url"),
      p("database_url"),
      url(["postgres:", "postgresql:"], "postgres://postgres@127.0.0.1:5432/postgres"),
    );
    if (
      mode === undefined ||
      workers === undefined ||
      batchSize === undefined ||
      batchLingerMs === undefined ||
      redisUrl === undefined ||
      databaseUrl === undefined
    ) {
      return undefined;
    }
    const t: BundledTarget = { kind: "bundled", mode, workers, batchSize, batchLingerMs, redisUrl, databaseUrl };
    if (at("source")) {
      const source = r.value(at("source")!, p("source"), oneOf(["commit", "installed"] as const));
      if (source === undefined) return undefined;
      t.source = source;
    }
    if (at("build")) {
      const build = r.text(at("build"), p("build"), undefined, "a shell command such as npm ci && npm run build");
      if (build === undefined) return undefined;
      t.build = build;
    }
    return t;
  }
  return readDeployed(r, deployed, "target");
}

/** `deployed: { url, database_url, schema }` under `path` (the gate's target or an environment's). */
export function readDeployed(r: GateReader, entry: Entry | undefined, path: string): DeployedTarget | undefined {
  const d = r.mapping(entry, `${path}.deployed`, DEPLOYED_KEYS, "the deployed target");
  if (!d) return undefined;
  const at = (k: string) => d.entries.get(k);
  const serviceUrl = r.value(at("url"), `${path}.deployed.url`, url(["http:", "https:"], "https://ingest.example.com"));
  const databaseUrl = r.value(
    at("database_url"),
    `${path}.deployed.database_url`,
    url(["postgres:", "postgresql:"], "postgres://gate@db.example.com:5432/ingest"),
  );
  const schema = at("schema")
    ? r.text(at("schema"), `${path}.deployed.schema`, /^[a-z_][a-z0-9_]{0,62}$/, "a PostgreSQL schema name such as public")
    : "public";
  if (serviceUrl === undefined || databaseUrl === undefined || schema === undefined) return undefined;
  return { kind: "deployed", url: serviceUrl, databaseUrl, schema };
}
