// `gate run --seal` on the runner's own checkout: the runner's built service is laid into the room (its
// code is hidden from the room like every runner file), so the sealed run measures the same bytes. Files
// stay the runner's (the room's user reads them and can change none); node_modules is hard-linked, which
// is safe for that reason and takes a fraction of a copy's time.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

/** What the service needs of a built checkout to start as `node dist/src/cli.js ingest ...`. */
const PARTS = [
  { path: "package.json", link: false },
  { path: "dist", link: false },
  { path: join("src", "ingest-service"), link: false },
  { path: "node_modules", link: true },
];

export async function stageOwnTree(packageRoot: string, into: string): Promise<void> {
  await mkdir(join(into, "src"), { recursive: true, mode: 0o755 });
  for (const part of PARTS) {
    const from = join(packageRoot, part.path);
    if (!existsSync(from)) throw new Error(`the runner's checkout has no ${part.path} to run sealed: run \`npm ci\` and \`npm run build\``);
    const to = join(into, part.path);
    // Hard links need one file system; across two, a copy.
    if (part.link) await cp(["-al", from, to]).catch(() => cp(["-a", from, to]));
    else await cp(["-a", from, to]);
  }
}

function cp(args: string[]): Promise<void> {
  return new Promise((done, fail) =>
    execFile("cp", args, { timeout: 300_000 }, (err, _o, stderr) =>
      err ? fail(new Error(`cp ${args.join(" ")}: ${String(stderr).trim() || err.message}`)) : done(),
    ),
  );
}
