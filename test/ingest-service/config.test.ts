import { parseServeArgs, parseWorkerArgs } from "../../src/ingest-service/config.js";

const SECRET = { WEBHOOK_BEARER_KEY: "k" };

test("defaults are the local ones", () => {
  const p = parseServeArgs([], SECRET);
  if (p.ok !== true) throw new Error(JSON.stringify(p));
  expect(p.options).toMatchObject({
    port: 8080,
    host: "127.0.0.1",
    namespace: "ingest",
    mode: "queue",
    redisUrl: "redis://127.0.0.1:6379",
    databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
    maxBodyBytes: 1048576,
    idempotencyTtlS: 86400,
    orderingKeyHeader: "x-ordering-key",
    sequenceHeader: "x-sequence",
    auth: { bearerKey: "k" },
  });
  const w = parseWorkerArgs([], {});
  if (w.ok !== true) throw new Error(JSON.stringify(w));
  expect(w.options).toMatchObject({
    batchSize: 50,
    batchLingerMs: 5,
    gapTimeoutMs: 2000,
    visibilityTimeoutMs: 5000,
    firstSeq: 1,
    nice: 10,
  });
});

test("flags override the environment, in both --flag value and --flag=value forms", () => {
  const p = parseServeArgs(["--port", "9000", "--namespace=run_7", "--sequence-header", "X-Seq"], {
    ...SECRET,
    PORT: "8000",
    INGEST_NAMESPACE: "from_env",
    REDIS_URL: "redis://10.0.0.1:6380",
  });
  if (p.ok !== true) throw new Error(JSON.stringify(p));
  expect(p.options.port).toBe(9000);
  expect(p.options.namespace).toBe("run_7");
  expect(p.options.redisUrl).toBe("redis://10.0.0.1:6380");
  expect(p.options.sequenceHeader).toBe("x-seq");
});

test("an invalid number names the flag or variable and the accepted range", () => {
  const flag = parseWorkerArgs(["--batch-size", "0"], {});
  expect(flag).toEqual({ ok: false, error: { code: "bad_value", message: '--batch-size must be an integer from 1 to 1000, got "0"' } });
  const env = parseWorkerArgs([], { INGEST_BATCH_LINGER_MS: "5ms" });
  expect(env.ok === false && env.error.message).toBe('INGEST_BATCH_LINGER_MS must be an integer from 0 to 10000, got "5ms"');
});

test("a namespace that could not be a schema name is refused", () => {
  const p = parseWorkerArgs(["--namespace", "Drop-Table"], {});
  expect(p.ok === false && p.error.message).toContain("^[a-z][a-z0-9_]{0,40}$");
});

test("without any secret the server refuses to start unless --insecure", () => {
  const p = parseServeArgs([], {});
  expect(p.ok === false && p.error.code).toBe("missing_secret");
  expect(p.ok === false && p.error.message).toContain("WEBHOOK_BEARER_KEY");
  const insecure = parseServeArgs(["--insecure"], {});
  expect(insecure.ok === true && insecure.options.insecure).toBe(true);
});

test("a Standard Webhooks secret must be whsec_ and 24-64 bytes of base64", () => {
  expect(parseServeArgs([], { WEBHOOK_SIGNING_SECRET: "not-a-secret" }).ok).toBe(false);
  expect(parseServeArgs([], { WEBHOOK_SIGNING_SECRET: "whsec_AAAA" }).ok).toBe(false);
  const ok = parseServeArgs([], { WEBHOOK_SIGNING_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
  expect(ok.ok === true && ok.options.auth.signingSecret).toBe("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
});

test("an unknown option and a flag without its value are errors, --help is help", () => {
  expect(parseWorkerArgs(["--batchsize", "5"], {}).ok).toBe(false);
  expect(parseWorkerArgs(["--batch-size"], {}).ok).toBe(false);
  const help = parseServeArgs(["--help"], {});
  expect(help.ok).toBe("help");
  expect(help.ok === "help" && help.text).toContain("--max-body-bytes");
  expect(help.ok === "help" && help.text).toContain("GITHUB_WEBHOOK_SECRET");
});

test("flag errors name the flag and what is wrong with it; --flag=value and a later flag winning both work", () => {
  const unknown = parseWorkerArgs(["--batchsize", "5"], {});
  expect(unknown.ok === false && unknown.error).toMatchObject({ code: "bad_option", message: expect.stringContaining("--batchsize") });
  const missing = parseWorkerArgs(["--batch-size"], {});
  expect(missing.ok === false && missing.error.message).toMatch(/--batch-size <value>.*argument missing/);
  const flagWithValue = parseServeArgs(["--insecure=yes"], {});
  expect(flagWithValue.ok === false && flagWithValue.error).toMatchObject({
    code: "bad_value",
    message: expect.stringContaining("--insecure"),
  });
  const range = parseWorkerArgs(["--batch-size=0"], {});
  expect(range.ok === false && range.error.message).toMatch(/^--batch-size must be an integer from 1 to/);
  const stray = parseWorkerArgs(["extra"], {});
  expect(stray.ok === false && stray.error.message).toContain("extra");
  const later = parseWorkerArgs(["--batch-size", "5", "--batch-size=7"], {});
  expect(later.ok === true && later.options.batchSize).toBe(7);
});

describe("socket activation (the gate's sealed room starts the service on a socket of its own)", () => {
  test("LISTEN_FDS=1 for this process listens on fd 3 instead of --host/--port", () => {
    const p = parseServeArgs(["--port", "9000"], { ...SECRET, LISTEN_FDS: "1", LISTEN_PID: String(process.pid) });
    expect(p.ok === true && p.options.listenFd).toBe(3);
  });
  test("variables meant for another process (a parent that passed them on) are ignored", () => {
    const p = parseServeArgs([], { ...SECRET, LISTEN_FDS: "1", LISTEN_PID: String(process.pid + 1) });
    expect(p.ok === true && p.options.listenFd).toBeUndefined();
  });
  test("more than one socket is refused, saying how many it takes", () => {
    const p = parseServeArgs([], { ...SECRET, LISTEN_FDS: "2", LISTEN_PID: String(process.pid) });
    expect(p.ok).toBe(false);
    expect(p.ok === false && p.error.message).toMatch(/LISTEN_FDS=2: the service listens on exactly one socket/);
  });
});
