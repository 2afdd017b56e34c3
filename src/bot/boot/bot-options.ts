// The bot's configuration, read once at the edge from the standard Probot environment (APP_ID,
// PRIVATE_KEY / PRIVATE_KEY_PATH, WEBHOOK_SECRET, WEBHOOK_PATH, LOG_LEVEL, PORT, HOST, GHE_HOST,
// GHE_PROTOCOL) plus REDIS_URL, GATES_DIR, RELEASE_GATE_PREFIX, GITHUB_THROTTLE and the evidence signing
// key (EVIDENCE_SIGNING_KEY / EVIDENCE_SIGNING_KEY_PATH) and the run-state key (RUN_STATE_KEY, else derived
// from the App's private key), the dashboard's DASHBOARD_TOKEN and sign-in with GitHub (GITHUB_CLIENT_ID,
// GITHUB_CLIENT_SECRET, DASHBOARD_URL), and passed down as typed options.

import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readSigningKey } from "../../gates/evidence/index.js";
import { RunStateSeal } from "../runs/run-state-seal.js";

/** The environment as plain strings (Probot narrows NodeJS.ProcessEnv's LOG_LEVEL; a wrong value must reach us). */
export type Env = Record<string, string | undefined>;

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface GitHubAppOptions {
  appId: number;
  privateKey: string;
  /** https://api.github.com, or `${GHE_PROTOCOL}://${GHE_HOST}/api/v3` for GitHub Enterprise Server. */
  baseUrl: string;
}

export interface RunnerEnvOptions extends GitHubAppOptions {
  redisUrl: string;
  gatesDir: string;
  /** Prefix of every Redis key the bot and its queue use. */
  prefix: string;
  logLevel: LogLevel;
  /** Signs the attestation and each sign-off entry; evidence is unsigned without it. */
  signingKey?: KeyObject;
  /**
   * Space GitHub writes apart as GitHub advises (Probot's default). GITHUB_THROTTLE=off turns it off,
   * for a GitHub Enterprise Server without secondary rate limits or a local fake.
   */
  throttle: boolean;
  /** Where builds of commits under test are cached (BUILD_CACHE_DIR; default: release-gate-builds in the temp folder). */
  buildCacheDir?: string;
  /** Seals the run records in Redis (RUN_STATE_KEY, or HKDF of the App's private key). */
  runStateSeal: RunStateSeal;
  /**
   * The exact values of the bot's own secrets found in the environment (App key, webhook secret, dashboard
   * token, evidence signing key, run-state key): redacted from everything the bot writes (redaction.ts).
   */
  ownSecrets: string[];
}

/** Sign-in with GitHub for the war-room pages: the App's own OAuth client (App settings > General). */
export interface DashboardSignInOptions {
  clientId: string;
  clientSecret: string;
  /** The bot's public address (DASHBOARD_URL, an origin); the callback is `${publicUrl}/auth/callback`.
   *  Without it, the address the browser used. */
  publicUrl?: string;
}

export interface BotOptions extends RunnerEnvOptions {
  webhookSecret: string;
  /** GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: people sign in with GitHub and see the runs of repositories they can read. */
  dashboardSignIn?: DashboardSignInOptions;
  /** Read-only token for the war-room pages; without one they answer only on 127.0.0.1. */
  dashboardToken?: string;
  /** `gate bot --dashboard open`: the pages answer local requests without a token; the bot binds 127.0.0.1. */
  dashboardOpen?: boolean;
  webhookPath: string;
  host: string;
  port: number;
}

export interface OptionProblem {
  code: string;
  message: string;
}

const LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/=\s]+$/.test(s) && Buffer.from(s, "base64").toString("base64") === s.replace(/\s/g, "");
}

/** The App's private key from PRIVATE_KEY (PEM, "\n"-escaped PEM or base64) or the file PRIVATE_KEY_PATH. */
export function readPrivateKey(env: Env, cwd = process.cwd()): string | OptionProblem {
  if (env.PRIVATE_KEY) {
    let key = env.PRIVATE_KEY.trim();
    if (!key.includes("-----BEGIN") && isBase64(key)) key = Buffer.from(key, "base64").toString("utf8");
    key = key.replace(/\\n/g, "\n");
    if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(key)) {
      return {
        code: "bad_private_key",
        message: "PRIVATE_KEY is not a PEM private key: paste the whole .pem file the GitHub App settings page gave you",
      };
    }
    return key;
  }
  if (env.PRIVATE_KEY_PATH) {
    const file = resolve(cwd, env.PRIVATE_KEY_PATH);
    if (!existsSync(file)) return { code: "missing_private_key", message: `PRIVATE_KEY_PATH points at ${file}, which does not exist` };
    return readFileSync(file, "utf8");
  }
  return {
    code: "missing_private_key",
    message: "set PRIVATE_KEY (the .pem contents) or PRIVATE_KEY_PATH (its path) to the GitHub App's private key",
  };
}

export function apiBaseUrl(env: Env): string {
  return env.GHE_HOST ? `${env.GHE_PROTOCOL || "https"}://${env.GHE_HOST}/api/v3` : "https://api.github.com";
}

/**
 * The Ed25519 key evidence is signed with: EVIDENCE_SIGNING_KEY (the PEM text `gate keygen` printed) or
 * EVIDENCE_SIGNING_KEY_PATH (its file). Undefined when neither is set: evidence is then unsigned.
 */
export function readEvidenceSigningKey(env: Env, cwd = process.cwd()): KeyObject | OptionProblem | undefined {
  let pem: string | undefined;
  let where = "EVIDENCE_SIGNING_KEY";
  if (env.EVIDENCE_SIGNING_KEY) pem = env.EVIDENCE_SIGNING_KEY.trim();
  else if (env.EVIDENCE_SIGNING_KEY_PATH) {
    const file = resolve(cwd, env.EVIDENCE_SIGNING_KEY_PATH);
    where = `EVIDENCE_SIGNING_KEY_PATH (${file})`;
    if (!existsSync(file))
      return {
        code: "missing_signing_key",
        message: `EVIDENCE_SIGNING_KEY_PATH points at ${file}, which does not exist: generate a key with \`gate keygen --out PREFIX\``,
      };
    pem = readFileSync(file, "utf8");
  }
  if (pem === undefined) return undefined;
  try {
    return readSigningKey(pem, where);
  } catch (err) {
    return { code: "bad_signing_key", message: (err as Error).message };
  }
}

/**
 * The seal of the run records: RUN_STATE_KEY (at least 32 bytes: 64 hex digits, or base64, or plain text of
 * 32+ characters) when set, so records survive a rotation of the App key; else derived from the App key.
 */
export function readRunStateSeal(env: Env, privateKey: string): RunStateSeal | OptionProblem {
  const given = env.RUN_STATE_KEY?.trim();
  if (given) {
    const bytes = /^[0-9a-f]{64,}$/i.test(given)
      ? Buffer.from(given, "hex")
      : isBase64(given) && Buffer.from(given, "base64").length >= 32
        ? Buffer.from(given, "base64")
        : Buffer.from(given, "utf8");
    if (bytes.length < 32)
      return {
        code: "weak_run_state_key",
        message: `RUN_STATE_KEY must hold at least 32 bytes (it seals the bot's run records), got ${bytes.length}; e.g. \`openssl rand -hex 32\``,
      };
    return RunStateSeal.fromKey(bytes);
  }
  try {
    return RunStateSeal.fromAppKey(privateKey);
  } catch (err) {
    return {
      code: "bad_private_key",
      message: `the App's private key cannot be read as a key (${(err as Error).message}), so the run-state key cannot be derived from it; set RUN_STATE_KEY or fix PRIVATE_KEY`,
    };
  }
}

/** The secrets the environment gives the bot, as the exact texts that must never appear in anything it writes. */
function ownSecretsOf(env: Env, privateKey: string | undefined): string[] {
  const values = [
    privateKey,
    env.PRIVATE_KEY,
    env.WEBHOOK_SECRET,
    env.DASHBOARD_TOKEN,
    env.GITHUB_CLIENT_SECRET,
    env.EVIDENCE_SIGNING_KEY,
    env.RUN_STATE_KEY,
  ];
  const keyFile = env.EVIDENCE_SIGNING_KEY_PATH ? resolve(env.EVIDENCE_SIGNING_KEY_PATH) : undefined;
  if (keyFile && existsSync(keyFile)) values.push(readFileSync(keyFile, "utf8"));
  return [...new Set(values.map((v) => v?.trim()).filter((v): v is string => !!v))];
}

/** What a runner needs: the App credentials (for installation tokens), Redis and the gate files. */
export function readRunnerOptions(env: Env): RunnerEnvOptions | OptionProblem[] {
  const problems: OptionProblem[] = [];
  const appId = Number(env.APP_ID);
  if (!env.APP_ID || !Number.isInteger(appId) || appId <= 0) {
    problems.push({
      code: "missing_app_id",
      message: `APP_ID must be the GitHub App's numeric id (App settings > About), got "${env.APP_ID ?? ""}"`,
    });
  }
  const privateKey = readPrivateKey(env);
  if (typeof privateKey !== "string") problems.push(privateKey);
  const logLevel = (env.LOG_LEVEL ?? "info") as LogLevel;
  if (!LEVELS.includes(logLevel))
    problems.push({ code: "bad_log_level", message: `LOG_LEVEL must be one of ${LEVELS.join(", ")}, got "${env.LOG_LEVEL}"` });
  const prefix = env.RELEASE_GATE_PREFIX ?? "release-gate";
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    problems.push({ code: "bad_prefix", message: `RELEASE_GATE_PREFIX may hold letters, digits, ".", "_" and "-" only, got "${prefix}"` });
  }
  const throttle = (env.GITHUB_THROTTLE ?? "on").toLowerCase();
  if (throttle !== "on" && throttle !== "off")
    problems.push({ code: "bad_throttle", message: `GITHUB_THROTTLE must be "on" or "off", got "${env.GITHUB_THROTTLE}"` });
  const signingKey = readEvidenceSigningKey(env);
  if (signingKey && "code" in signingKey) problems.push(signingKey);
  const seal = typeof privateKey === "string" ? readRunStateSeal(env, privateKey) : undefined;
  if (seal && !(seal instanceof RunStateSeal)) problems.push(seal);
  if (problems.length) return problems;
  return {
    ...(signingKey ? { signingKey: signingKey as KeyObject } : {}),
    throttle: throttle === "on",
    appId,
    privateKey: privateKey as string,
    baseUrl: apiBaseUrl(env),
    redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379",
    gatesDir: resolve(env.GATES_DIR ?? "gates"),
    prefix,
    logLevel,
    ...(env.BUILD_CACHE_DIR ? { buildCacheDir: resolve(env.BUILD_CACHE_DIR) } : {}),
    runStateSeal: seal as RunStateSeal,
    ownSecrets: ownSecretsOf(env, privateKey as string),
  };
}

/**
 * Sign-in with GitHub: both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or neither (then only DASHBOARD_TOKEN
 * opens the pages). DASHBOARD_URL, when set, is the origin GitHub sends people back to.
 */
export function readDashboardSignIn(env: Env): DashboardSignInOptions | OptionProblem[] | undefined {
  const clientId = env.GITHUB_CLIENT_ID?.trim() || undefined;
  const clientSecret = env.GITHUB_CLIENT_SECRET?.trim() || undefined;
  const problems: OptionProblem[] = [];
  if (clientId && !clientSecret)
    problems.push({
      code: "missing_client_secret",
      message:
        "GITHUB_CLIENT_ID is set but GITHUB_CLIENT_SECRET is not: sign-in with GitHub needs both; generate a client secret in the GitHub App's settings (General > Client secrets), or unset GITHUB_CLIENT_ID",
    });
  if (clientSecret && !clientId)
    problems.push({
      code: "missing_client_id",
      message:
        "GITHUB_CLIENT_SECRET is set but GITHUB_CLIENT_ID is not: copy the Client ID from the GitHub App's settings (General > About), or unset GITHUB_CLIENT_SECRET",
    });
  let publicUrl: string | undefined;
  if (env.DASHBOARD_URL) {
    let url: URL | undefined;
    try {
      url = new URL(env.DASHBOARD_URL);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== "/" || url.search || url.hash)
      problems.push({
        code: "bad_dashboard_url",
        message: `DASHBOARD_URL must be the bot's public origin, like https://gate.example.com (no path), got "${env.DASHBOARD_URL}"; the App's callback URL is then <DASHBOARD_URL>/auth/callback`,
      });
    else publicUrl = url.origin;
  }
  if (problems.length) return problems;
  if (!clientId || !clientSecret) return undefined;
  return { clientId, clientSecret, ...(publicUrl ? { publicUrl } : {}) };
}

/** What `gate bot` needs: a runner's options plus the webhook server's. */
export function readBotOptions(env: Env): BotOptions | OptionProblem[] {
  const runner = readRunnerOptions(env);
  const problems = Array.isArray(runner) ? [...runner] : [];
  if (!env.WEBHOOK_SECRET) {
    problems.push({
      code: "missing_webhook_secret",
      message: "set WEBHOOK_SECRET to the webhook secret entered in the GitHub App's settings",
    });
  }
  const port = env.PORT === undefined || env.PORT === "" ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push({ code: "bad_port", message: `PORT must be a TCP port number, got "${env.PORT}"` });
  const webhookPath = env.WEBHOOK_PATH || "/api/github/webhooks";
  if (!webhookPath.startsWith("/"))
    problems.push({ code: "bad_webhook_path", message: `WEBHOOK_PATH must start with "/", got "${webhookPath}"` });
  const dashboardToken = env.DASHBOARD_TOKEN || undefined;
  if (dashboardToken !== undefined && dashboardToken.length < 16) {
    problems.push({
      code: "weak_dashboard_token",
      message: `DASHBOARD_TOKEN must be at least 16 characters (it guards the war-room pages), got ${dashboardToken.length}; e.g. \`openssl rand -hex 24\``,
    });
  }
  const signIn = readDashboardSignIn(env);
  if (Array.isArray(signIn)) problems.push(...signIn);
  if (problems.length || Array.isArray(runner) || Array.isArray(signIn)) return problems;
  // Probot's default host: set HOST=0.0.0.0 to accept webhooks from outside (containers).
  return {
    ...runner,
    webhookSecret: env.WEBHOOK_SECRET!,
    webhookPath,
    host: env.HOST || "localhost",
    port,
    ...(dashboardToken ? { dashboardToken } : {}),
    ...(signIn ? { dashboardSignIn: signIn } : {}),
  };
}
