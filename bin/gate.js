#!/usr/bin/env node
// The `gate` command: runs the compiled CLI (built by `npm ci` through the `prepare` script).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
const cli = fileURLToPath(new URL("../dist/src/cli.js", import.meta.url));
if (!existsSync(cli)) {
  console.error("gate: the CLI is not built yet; run `npm ci` (or `npm run build`) in the project folder first.");
  process.exit(2);
}
await import(cli);
