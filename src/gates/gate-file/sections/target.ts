// `target:` what the gate measures: the bundled ingest service started locally, or a deployed one by URL.

import {
  DEFAULT_SOURCE_LIMITS,
  type BundledTarget,
  type DeployedTarget,
  type SourceLimits,
  type Target,
  parseBytes,
} from "../../model/index.js";
import { countIn, durationIn, oneOf, url } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { BUNDLED_KEYS, DEPLOYED_KEYS, SOURCE_LIMIT_KEYS } from "../schema.js";

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
    if (at("source_limits")) {
      const limits = readSourceLimits(r, at("source_limits")!);
      if (!limits) return undefined;
      t.sourceLimits = limits;
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

/**
 * `source_limits: { archive: 100MB, unpacked: 1GB, files: 100000 }`: how big a commit's source may be,
 * each key optional (DEFAULT_SOURCE_LIMITS for the others). A cap is what stops a small hostile archive
 * from filling the runner's disk, so a cap of nothing or of a whole disk is refused too.
 */
function readSourceLimits(r: GateReader, entry: Entry): SourceLimits | undefined {
  const path = "target.bundled.source_limits";
  const m = r.mapping(entry, path, SOURCE_LIMIT_KEYS, "the source archive's limits");
  if (!m) return undefined;
  const at = (k: string) => m.entries.get(k);
  const archive = at("archive") ? r.value(at("archive"), `${path}.archive`, sizeIn(1024, 10 * 1024 ** 3)) : DEFAULT_SOURCE_LIMITS.archive;
  const unpacked = at("unpacked")
    ? r.value(at("unpacked"), `${path}.unpacked`, sizeIn(1024, 100 * 1024 ** 3))
    : DEFAULT_SOURCE_LIMITS.unpacked;
  const files = at("files")
    ? r.value(at("files"), `${path}.files`, (raw) => ({ count: countIn(1, 10_000_000)(raw), display: String(raw) }))
    : DEFAULT_SOURCE_LIMITS.files;
  if (!archive || !unpacked || !files) return undefined;
  return { archive, unpacked, files };
}

/** A size such as 100MB between two bounds, kept as written. */
function sizeIn(min: number, max: number): (raw: unknown) => { bytes: number; display: string } {
  return (raw) => {
    const bytes = parseBytes(raw);
    if (bytes < min) throw new Error(`${JSON.stringify(raw)} is too small; expected at least 1KB`);
    if (bytes > max) throw new Error(`${JSON.stringify(raw)} is too large; expected at most ${Math.round(max / 1024 ** 3)}GB`);
    return { bytes, display: String(raw).trim() };
  };
}
