// The bot's configuration is read once from the standard Probot environment, and every missing or
// wrong setting is named with what to set.

import { appKey } from "./support/bot-world.js";
import { apiBaseUrl, readBotOptions, readPrivateKey, readRunnerOptions } from "../../src/bot/bot-options.js";

const key = appKey();

describe("the bot's environment", () => {
  test("GHE_HOST and GHE_PROTOCOL point the bot at GitHub Enterprise Server's /api/v3", () => {
    expect(apiBaseUrl({})).toBe("https://api.github.com");
    expect(apiBaseUrl({ GHE_HOST: "github.example.com" })).toBe("https://github.example.com/api/v3");
    expect(apiBaseUrl({ GHE_HOST: "127.0.0.1:8080", GHE_PROTOCOL: "http" })).toBe("http://127.0.0.1:8080/api/v3");
  });

  test("a private key pasted with escaped newlines or as base64 is read as PEM", () => {
    expect(readPrivateKey({ PRIVATE_KEY: key.replace(/\n/g, "\\n") })).toBe(key);
    expect(readPrivateKey({ PRIVATE_KEY: Buffer.from(key).toString("base64") })).toBe(key);
    expect(readPrivateKey({ PRIVATE_KEY: "not a key" })).toMatchObject({ code: "bad_private_key" });
    expect(readPrivateKey({ PRIVATE_KEY_PATH: "/nonexistent/app.pem" })).toMatchObject({
      code: "missing_private_key",
      message: expect.stringContaining("/nonexistent/app.pem"),
    });
  });

  test("the bot reads every setting with Probot's defaults", () => {
    const options = readBotOptions({ APP_ID: "42", PRIVATE_KEY: key, WEBHOOK_SECRET: "s", GATES_DIR: "/srv/gates" });
    expect(options).toMatchObject({
      appId: 42,
      webhookSecret: "s",
      webhookPath: "/api/github/webhooks",
      port: 3000,
      host: "localhost",
      baseUrl: "https://api.github.com",
      redisUrl: "redis://127.0.0.1:6379",
      prefix: "release-gate",
      gatesDir: "/srv/gates",
      logLevel: "info",
      throttle: true,
    });
  });

  test("every missing or wrong setting is named, with what to set", () => {
    const problems = readBotOptions({ APP_ID: "abc", PORT: "99999", LOG_LEVEL: "loud", GITHUB_THROTTLE: "maybe" });
    expect(Array.isArray(problems) && problems.map((p) => p.code).sort()).toEqual(
      ["bad_log_level", "bad_port", "bad_throttle", "missing_app_id", "missing_private_key", "missing_webhook_secret"].sort(),
    );
    // A runner needs no webhook settings.
    expect(readRunnerOptions({ APP_ID: "7", PRIVATE_KEY: key })).toMatchObject({ appId: 7 });
  });
});
