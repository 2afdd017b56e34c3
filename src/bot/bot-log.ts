// The logger the bot's modules write to: pino's shape (Probot's context.log and `gate bot`'s logger
// both fit), so a module can log without knowing who started it.

export interface BotLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}
