// Finds the service's non-TypeScript files (Lua scripts, SQL migrations): next to this module when
// running from src/ (ts-jest), or back in src/ when running the compiled dist/ (tsc copies no assets).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of `relative` (e.g. "commands/accept-2.lua") inside src/ingest-service. */
export function assetFile(relative: string): string {
  const beside = fileURLToPath(new URL(relative, import.meta.url));
  if (existsSync(beside)) return beside;
  // dist/src/ingest-service/ -> <project>/src/ingest-service/
  const source = fileURLToPath(new URL(`../../../src/ingest-service/${relative}`, import.meta.url));
  if (existsSync(source)) return source;
  throw new Error(`ingest service file ${relative} is missing (looked at ${beside} and ${source}); reinstall the package`);
}
