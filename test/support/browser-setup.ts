// The test command's own setup step (jest's globalSetup, before any suite): the report test opens
// report.html in Debian's chromium, never a downloaded browser. When it is missing, root installs it
// here with one line of notice; anyone else is told the exact command, and the tests do not start.

import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const INSTALL_COMMAND = "apt-get update && apt-get install -y chromium";

export interface BrowserFacts {
  /** The browser is at CHROMIUM_PATH. */
  present: boolean;
  /** This process runs as root (uid 0). */
  root: boolean;
  /** apt-get is on the PATH (a Debian or Ubuntu machine). */
  aptGet: boolean;
}

export type BrowserPlan = { action: "ready" } | { action: "install"; notice: string } | { action: "fail"; message: string };

/** What to do about the browser, from the facts alone. */
export function planBrowserSetup(f: BrowserFacts): BrowserPlan {
  if (f.present) return { action: "ready" };
  if (f.root && f.aptGet)
    return {
      action: "install",
      notice: `npm test: ${CHROMIUM_PATH} is missing; installing Debian's chromium for the report test (${INSTALL_COMMAND})`,
    };
  const why = f.aptGet ? "this user cannot install it (not root)" : "this machine has no apt-get to install it with";
  const how = f.aptGet
    ? `sudo sh -c '${INSTALL_COMMAND}'`
    : "install Chromium from your system's packages so that /usr/bin/chromium exists";
  return {
    action: "fail",
    message: `npm test: ${CHROMIUM_PATH} is missing (the report test opens report.html in it) and ${why}; run: ${how}`,
  };
}

function facts(): BrowserFacts {
  return {
    present: existsSync(CHROMIUM_PATH),
    root: process.getuid?.() === 0,
    aptGet: spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0,
  };
}

/** Runs the plan; returns the process exit code (0: the browser is there). */
export function ensureBrowser(): number {
  const plan = planBrowserSetup(facts());
  if (plan.action === "ready") return 0;
  if (plan.action === "fail") {
    console.error(plan.message);
    return 1;
  }
  console.error(plan.notice);
  const install = spawnSync(
    "sh",
    ["-c", `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null`],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (install.status === 0 && existsSync(CHROMIUM_PATH)) return 0;
  console.error(`npm test: installing chromium failed (exit ${install.status}); run: ${INSTALL_COMMAND}`);
  return 1;
}

/** Jest's globalSetup: the tests start only once the browser is there. */
export default function globalSetup(): void {
  if (ensureBrowser() !== 0) throw new Error("npm test stopped before the suites: the browser setup step failed (see the line above)");
}
