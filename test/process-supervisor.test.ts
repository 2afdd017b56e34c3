// The one process supervisor: logs written by the child itself, readiness, SIGTERM then SIGKILL.
// (That a "stdin" child stops when its supervisor is SIGKILLed is test/gates/target/deployment.test.ts.)

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, SupervisedProcess } from "../src/process-supervisor.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rg-supervisor-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = (script: string, logFile?: string) =>
  SupervisedProcess.spawn({ command: process.execPath, args: ["-e", script], env: {}, logFile, lifeline: "exit-hook" });

test("the child writes stdout and stderr to its log file, after the header line", async () => {
  const logFile = join(dir, "hello.log");
  const p = SupervisedProcess.spawn({
    command: process.execPath,
    args: ["-e", "console.log('to stdout'); console.error('to stderr')"],
    logFile,
    logHeader: "hello run 1",
    lifeline: "exit-hook",
  });
  await p.exited;
  const lines = readFileSync(logFile, "utf8").trim().split("\n");
  expect(lines[0]).toMatch(/^--- \d{4}-\d\d-\d\dT\S+ hello run 1$/);
  expect(lines.slice(1).sort()).toEqual(["to stderr", "to stdout"]);
  expect(p.running).toBe(false);
  expect(p.exitDescription).toBe("code 0");
});

test("stop sends SIGTERM, and SIGKILL once the grace time has passed without an exit", async () => {
  const logFile = join(dir, "stubborn.log");
  const p = node("process.on('SIGTERM', () => console.log('ignored SIGTERM')); console.log('up'); setInterval(() => {}, 1000)", logFile);
  const ready = await p.waitReady(async () => (readFileSync(logFile, "utf8").includes("up") ? null : "not up yet"), 10_000);
  expect(ready).toEqual({ ready: true });
  const started = Date.now();
  await p.stop(300);
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  expect(p.exitDescription).toBe("signal SIGKILL");
  expect(readFileSync(logFile, "utf8")).toContain("ignored SIGTERM");
});

test("a child that obeys SIGTERM exits by it, well within the grace time", async () => {
  const p = node("setInterval(() => {}, 1000)");
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await p.stop(10_000);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(p.exitDescription).toBe("signal SIGTERM");
});

test("waitReady tells a process that exited before it was ready from one that is merely not ready yet", async () => {
  const dies = node("process.exit(3)");
  expect(await dies.waitReady(async () => "not yet", 10_000)).toEqual({ ready: false, exited: true, last: expect.any(String) });
  expect(dies.exitDescription).toBe("code 3");
  expect(dies.exitCode).toBe(3);

  const slow = node("setInterval(() => {}, 1000)");
  try {
    expect(await slow.waitReady(async () => "503 not ready", 200)).toEqual({ ready: false, exited: false, last: "503 not ready" });
    expect(slow.running).toBe(true);
  } finally {
    await slow.kill("SIGKILL");
  }
  expect(slow.running).toBe(false);
  expect(slow.exitDescription).toBe("signal SIGKILL");
});

test("freePort gives a port nothing listens on, which can then be listened on", async () => {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Running: in /proc and not a zombie (a container's init may not reap orphans). */
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
};

test("a process-group child is stopped with everything it started; a fresh log holds only this run", async () => {
  const logFile = join(dir, "group.log");
  writeFileSync(logFile, "an earlier build's log\n");
  // The shell starts a grandchild that would outlive a signal sent to the shell alone.
  const p = SupervisedProcess.spawn({
    command: "/bin/sh",
    args: ["-c", `${process.execPath} -e "console.log(process.pid); setInterval(() => {}, 1000)" & wait`],
    logFile,
    freshLog: true,
    lifeline: "exit-hook",
    processGroup: true,
  });
  let grandchild = 0;
  await p.waitReady(async () => ((grandchild = Number(readFileSync(logFile, "utf8").trim())) > 0 ? null : "no pid yet"), 5000);
  expect(readFileSync(logFile, "utf8")).not.toContain("earlier");
  await p.stop(2000);
  await new Promise((r) => setTimeout(r, 100));
  expect(alive(grandchild)).toBe(false);
});

test("a command that cannot be started ends at once with its spawn error", async () => {
  const p = SupervisedProcess.spawn({ command: join(dir, "no-such-program"), args: [], lifeline: "exit-hook" });
  await p.exited;
  expect(p.running).toBe(false);
  expect(p.spawnError).toMatchObject({ code: "ENOENT" });
});
