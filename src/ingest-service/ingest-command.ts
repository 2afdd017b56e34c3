// `gate ingest serve|worker`: parses settings at the edge, starts the service, runs until SIGTERM or
// SIGINT, then shuts down gracefully. Exit 0 after a clean stop, 2 when it cannot start (one line).

import { parseServeArgs, parseWorkerArgs, type Parsed } from "./config.js";
import { IngestStartError } from "./connect.js";
import { startIngestServer } from "./server.js";
import { startIngestWorker } from "./workers/worker.js";

const HELP = `Usage: gate ingest serve|worker [options]

  gate ingest serve [options]    the webhook accept path (POST /webhooks, /healthz, /readyz, /metrics)
  gate ingest worker [options]   drains the queue into PostgreSQL in batches; start several to scale

Run "gate ingest serve --help" or "gate ingest worker --help" for the options.
INGEST_STOP_WITH_STDIN=1: stop gracefully when stdin closes (for a supervisor that may die).`;

export async function ingestCommand(args: string[]): Promise<number> {
  const stopWithStdin = process.env.INGEST_STOP_WITH_STDIN === "1";
  const [sub, ...rest] = args;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub !== "serve" && sub !== "worker") {
    console.error(`gate ingest: unknown command "${sub}"; use "serve" or "worker" (see gate ingest --help)`);
    return 2;
  }
  const parsed: Parsed<unknown> = sub === "serve" ? parseServeArgs(rest, process.env) : parseWorkerArgs(rest, process.env);
  if (parsed.ok === "help") {
    console.log(parsed.text);
    return 0;
  }
  if (parsed.ok === false) {
    console.error(`gate ingest ${sub}: ${parsed.error.message}`);
    return 2;
  }
  let service: { close(): Promise<void> };
  try {
    service =
      sub === "serve"
        ? await startIngestServer((parsed as Extract<ReturnType<typeof parseServeArgs>, { ok: true }>).options)
        : await startIngestWorker((parsed as Extract<ReturnType<typeof parseWorkerArgs>, { ok: true }>).options);
  } catch (err) {
    if (err instanceof IngestStartError) {
      console.error(`gate ingest ${sub}: ${err.message}`);
      // A client library's reconnect timer must not keep a process that failed to start alive.
      setTimeout(() => process.exit(2), 100).unref();
      return 2;
    }
    throw err;
  }
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
    // Under a supervisor that may itself be killed (the gate runner): stop when the pipe it holds
    // on our stdin closes, instead of running on as an orphan.
    if (stopWithStdin) {
      process.stdin.resume();
      process.stdin.once("end", () => resolve());
      process.stdin.once("error", () => resolve());
    }
  });
  // A second signal while draining means "now".
  const hardStop = () => process.exit(1);
  process.once("SIGTERM", hardStop);
  process.once("SIGINT", hardStop);
  await service.close();
  // Whatever library handle might still be open must not keep a stopped service alive.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
