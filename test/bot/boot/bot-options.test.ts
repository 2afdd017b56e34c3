// The bot's configuration is read once from the standard Probot environment, and every missing or
// wrong setting is named with what to set.

import { appKey } from "../support/bot-world.js";
import { apiBaseUrl, readBotOptions, readDashboardSignIn, readPrivateKey, readRunnerOptions } from "../../../src/bot/boot/bot-options.js";

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

  test("sign-in with GitHub needs the App's client id and secret together; DASHBOARD_URL is an origin", () => {
    expect(readDashboardSignIn({})).toBeUndefined();
    expect(
      readDashboardSignIn({ GITHUB_CLIENT_ID: "Iv1.abc", GITHUB_CLIENT_SECRET: "shh", DASHBOARD_URL: "https://gate.example.com" }),
    ).toEqual({
      clientId: "Iv1.abc",
      clientSecret: "shh",
      publicUrl: "https://gate.example.com",
    });
    expect(readDashboardSignIn({ GITHUB_CLIENT_ID: "Iv1.abc" })).toEqual([
      { code: "missing_client_secret", message: expect.stringContaining("generate a client secret in the GitHub App's settings") },
    ]);
    expect(readDashboardSignIn({ GITHUB_CLIENT_SECRET: "shh" })).toEqual([
      { code: "missing_client_id", message: expect.stringContaining("Client ID") },
    ]);
    expect(
      readDashboardSignIn({ GITHUB_CLIENT_ID: "a", GITHUB_CLIENT_SECRET: "b", DASHBOARD_URL: "https://gate.example.com/war-room" }),
    ).toEqual([{ code: "bad_dashboard_url", message: expect.stringContaining("<DASHBOARD_URL>/auth/callback") }]);
    // The bot refuses to start on half a configuration, and keeps the secret out of everything it writes.
    const base = { APP_ID: "42", PRIVATE_KEY: key, WEBHOOK_SECRET: "s" };
    const half = readBotOptions({ ...base, GITHUB_CLIENT_ID: "Iv1.abc" });
    expect(Array.isArray(half) && half.map((p) => p.code)).toEqual(["missing_client_secret"]);
    const whole = readBotOptions({ ...base, GITHUB_CLIENT_ID: "Iv1.abc", GITHUB_CLIENT_SECRET: "client-secret-value" });
    if (Array.isArray(whole)) throw new Error(whole.map((p) => p.message).join("; "));
    expect(whole.dashboardSignIn).toEqual({ clientId: "Iv1.abc", clientSecret: "client-secret-value" });
    expect(whole.ownSecrets).toContain("client-secret-value");
  });

  test("the run-state key is RUN_STATE_KEY when set, else derived from the App key: the bot and its runners agree", () => {
    const env = { APP_ID: "42", PRIVATE_KEY: key, WEBHOOK_SECRET: "s" };
    const sealOf = (e: Record<string, string>) => {
      const o = readRunnerOptions(e);
      if (Array.isArray(o)) throw new Error(o.map((p) => p.message).join("; "));
      return o.runStateSeal;
    };
    const sealed = sealOf(env).seal("k", "v");
    // The same App key, spelled as base64, derives the same key; another App key does not.
    expect(sealOf({ ...env, PRIVATE_KEY: Buffer.from(key).toString("base64") }).open("k", sealed)).toEqual({ ok: true, text: "v" });
    expect(sealOf({ ...env, PRIVATE_KEY: appKey() }).open("k", sealed).ok).toBe(false);
    const given = { ...env, RUN_STATE_KEY: "ab".repeat(32) };
    expect(sealOf(given).open("k", sealOf(given).seal("k", "v")).ok).toBe(true);
    expect(sealOf(given).open("k", sealed).ok).toBe(false);
    expect(readRunnerOptions({ ...env, RUN_STATE_KEY: "short" })).toEqual([expect.objectContaining({ code: "weak_run_state_key" })]);
  });

  test("the bot's own secrets are collected once, to be redacted from everything it writes", () => {
    const options = readBotOptions({
      APP_ID: "42",
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: "whs-1234",
      DASHBOARD_TOKEN: "dash-0123456789abcdef",
    });
    if (Array.isArray(options)) throw new Error("options refused");
    expect(options.ownSecrets).toEqual(expect.arrayContaining([key.trim(), "whs-1234", "dash-0123456789abcdef"]));
  });
});
