// Debian's chromium, headless and offline, for the tests that look at a page in a real browser. Never a
// downloaded browser: npm test's setup step installs Debian's package as root (browser-setup.ts).

import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM_PATH, INSTALL_COMMAND } from "./browser-setup.js";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium (${INSTALL_COMMAND}; npm test does it when run as root). This test never downloads a browser.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
