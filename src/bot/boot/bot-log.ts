// The logger the bot's modules write to: pino's shape (Probot's context.log and `gate bot`'s logger
// both fit), so a module can log without knowing who started it.

export interface BotLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** Runs one step of telling GitHub; a failure is logged and answered with null, so the run goes on. */
export async function attempt<T>(log: BotLog, what: string, runId: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    log.warn({ err, runId }, `could not ${what}`);
    return null;
  }
}
