// `gate ingest serve|worker` as a real process: bad configuration exits 2 with one clear line and no
// stack trace; SIGTERM stops it cleanly with exit 0.

import { collect, compiledIngestCommand, spawnIngest } from "./support/compiled-cli.js";
import { DATABASE_URL, newNamespace, REDIS_URL, Store, waitFor } from "./support/ingest-fixture.js";

beforeAll(() => {
  compiledIngestCommand();
}, 60_000);

function expectOneLine(stderr: string, ...mentions: string[]): void {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  for (const m of mentions) expect(lines[0]).toContain(m);
  expect(stderr).not.toMatch(/\n\s+at /);
}

const base = { REDIS_URL, DATABASE_URL, LOG_LEVEL: "silent" };

test("an unreachable Redis exits 2 naming the URL and REDIS_URL", async () => {
  const exit = await collect(spawnIngest(["serve", "--insecure", "--port", "0"], { ...base, REDIS_URL: "redis://127.0.0.1:1" }));
  expect(exit.code).toBe(2);
  expectOneLine(exit.stderr, "redis://127.0.0.1:1", "REDIS_URL", "redis-server");
});

test("an unreachable PostgreSQL exits 2 naming the URL and DATABASE_URL, without the password", async () => {
  const exit = await collect(
    spawnIngest(["worker", "--namespace", newNamespace()], { ...base, DATABASE_URL: "postgres://postgres:hunter2@127.0.0.1:1/postgres" }),
  );
  expect(exit.code).toBe(2);
  expectOneLine(exit.stderr, "127.0.0.1:1", "DATABASE_URL");
  expect(exit.stderr).not.toContain("hunter2");
});

test("an invalid number exits 2 naming the flag", async () => {
  const exit = await collect(spawnIngest(["worker", "--batch-size", "5000"], base));
  expect(exit.code).toBe(2);
  expectOneLine(exit.stderr, "--batch-size", "1 to 1000");
});

test("a server without any secret and without --insecure exits 2 saying which variables to set", async () => {
  const exit = await collect(spawnIngest(["serve"], base));
  expect(exit.code).toBe(2);
  expectOneLine(exit.stderr, "WEBHOOK_BEARER_KEY", "--insecure");
});

test("a port already in use exits 2 naming --port", async () => {
  const { createServer } = await import("node:net");
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const port = (taken.address() as { port: number }).port;
  const store = new Store(newNamespace());
  try {
    const exit = await collect(spawnIngest(["serve", "--insecure", "--namespace", store.namespace, "--port", String(port)], base));
    expect(exit.code).toBe(2);
    expectOneLine(exit.stderr, `port ${port}`, "--port");
  } finally {
    taken.close();
    await store.drop();
  }
});

test("--help prints the options and exits 0", async () => {
  const exit = await collect(spawnIngest(["worker", "--help"], base));
  expect(exit.code).toBe(0);
  expect(exit.stdout).toContain("--visibility-timeout-ms");
});

test("SIGTERM stops a running server cleanly with exit 0", async () => {
  const store = new Store(newNamespace());
  try {
    const child = spawnIngest(["serve", "--namespace", store.namespace, "--port", "0"], {
      ...base,
      LOG_LEVEL: "info",
      WEBHOOK_BEARER_KEY: "k",
    });
    const exited = collect(child);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    await waitFor(
      "the listening line",
      async () => out,
      (o) => o.includes("ingest server listening"),
    );
    const url = JSON.parse(out.split("\n").find((l) => l.includes("listening"))!).url as string;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    child.kill("SIGTERM");
    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("ingest server stopped");
  } finally {
    await store.drop();
  }
});
