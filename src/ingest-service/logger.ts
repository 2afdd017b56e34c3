// The service's structured log: pino JSON lines, written asynchronously so the accept path never
// waits on stdout, and flushed when the process closes. Never handed secrets, auth headers or bodies.

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { pino, type Logger } from "pino";
import type { ConnectionOptions } from "./config.js";

export interface ServiceLog {
  log: Logger;
  /** Writes out what is buffered and waits for it; call before exit. */
  flush(): Promise<void>;
}

export function createServiceLog(options: ConnectionOptions, role: "serve" | "worker"): ServiceLog {
  if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true });
  // Buffer up to 16 KiB: at thousands of events per second one write per line would cost a syscall
  // each (expensive here: ~50-100 us measured under load on this machine).
  const destination = pino.destination({ dest: options.logFile ?? 1, sync: false, minLength: 16384, maxWrite: 65536, mkdir: true });
  // Whether a line was logged since the last timed flush: an idle process's flush would still write
  // (nothing) on the thread pool and wake the process twice a second.
  let unflushed = false;
  const log = pino(
    {
      hooks: {
        streamWrite: (line) => {
          unflushed = true;
          return line;
        },
      },
      level: options.logLevel,
      base: { service: "ingest", role, namespace: options.namespace, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  // Buffered lines still reach the file within half a second when traffic is light.
  const timer = setInterval(() => {
    if (!unflushed) return;
    unflushed = false;
    try {
      destination.flush();
    } catch {
      // Not open yet: nothing buffered.
    }
  }, 500);
  timer.unref();
  return {
    log,
    async flush() {
      clearInterval(timer);
      // Wait until every buffered line, and any write already in flight, is with the OS.
      await new Promise<void>((resolve) => {
        const giveUp = setTimeout(resolve, 2000);
        const done = () => {
          clearTimeout(giveUp);
          resolve();
        };
        const drain = () => {
          try {
            destination.flush(() => done());
          } catch {
            done(); // destroyed: nothing more can be written
          }
        };
        if ((destination as unknown as { fd: number }).fd < 0) destination.once("ready", drain);
        else drain();
      });
    },
  };
}
