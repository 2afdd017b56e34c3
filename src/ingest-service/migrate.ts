// Versioned schema migrations for one namespace's PostgreSQL schema: applied at start by servers and
// workers alike, each file once (tracked in schema_migrations), serialised by an advisory lock so
// processes starting together do not race.

import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type pg from "pg";
import { assetFile } from "./asset-file.js";
import { NAMESPACE_PATTERN } from "./config.js";

export interface Migration {
  version: string;
  sql: string;
}

export function migrations(): Migration[] {
  const dir = dirname(assetFile("migrations/001_webhook_events.sql"));
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ""), sql: readFileSync(`${dir}/${f}`, "utf8") }));
}

/** Brings schema `namespace` up to date; returns the versions it applied now. */
export async function migrate(pool: pg.Pool, namespace: string): Promise<string[]> {
  if (!NAMESPACE_PATTERN.test(namespace)) throw new Error(`namespace "${namespace}" must match ${NAMESPACE_PATTERN}`);
  const schema = `"${namespace}"`;
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("select pg_advisory_lock(hashtext($1))", [`release-gate-ingest-migrate:${namespace}`]);
    try {
      // A schema made for the service beforehand (the sealed room's role owns it and may create
      // nothing else) is used as it is: CREATE SCHEMA IF NOT EXISTS would still ask for the right.
      const exists = await client.query("select 1 from pg_namespace where nspname = $1", [namespace]);
      if (exists.rowCount === 0) await client.query(`create schema ${schema}`);
      await client.query(
        `create table if not exists ${schema}.schema_migrations (version text primary key, applied_at timestamptz not null default now())`,
      );
      const done = new Set((await client.query(`select version from ${schema}.schema_migrations`)).rows.map((r) => r.version as string));
      for (const m of migrations()) {
        if (done.has(m.version)) continue;
        await client.query("begin");
        try {
          await client.query(`set local search_path to ${schema}`);
          await client.query(m.sql);
          await client.query(`insert into ${schema}.schema_migrations (version) values ($1)`, [m.version]);
          await client.query("commit");
          applied.push(m.version);
        } catch (err) {
          await client.query("rollback").catch(() => {});
          const e = err as Error;
          throw new Error(`migration ${m.version} failed in schema ${namespace}: ${e.message}`, { cause: err });
        }
      }
    } finally {
      await client.query("select pg_advisory_unlock(hashtext($1))", [`release-gate-ingest-migrate:${namespace}`]).catch(() => {});
    }
  } finally {
    client.release();
  }
  return applied;
}
