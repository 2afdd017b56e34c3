// The collecting turn of a stream's workers (commands/take-turn.lua). A stream that is not backlogged
// is lingered over and read by one worker at a time, the holder of the turn, in batches as full as the
// linger allows, while the others wait, idle: two workers that each lingered over it took half of it
// each, and a worker at work costs more per event than its share of the events (at 1,000/s, two busy
// workers 72-80 µs of CPU per event over both, one 55-63). A backlog is read by every worker, turn or
// not (worker.ts); the holder gives the turn up when it sees one, so a waiting worker joins.
//
// The turn is a Redis key naming its holder, renewed in the pipeline of each of the holder's reads and
// expiring TURN_TTL_MS after the last, so a holder that died or hangs hands it on.

import { readFileSync } from "node:fs";
import type { ChainableCommander, Redis } from "ioredis";
import { assetFile } from "../asset-file.js";

/** How long the turn stays with a holder that stops renewing it. */
export const TURN_TTL_MS = 1000;

/**
 * How often a worker waiting for the turn asks for it. Each ask wakes a process that is otherwise
 * idle: at 250 ms a waiting worker cost 7 ms of CPU per second, as much as 7 µs per event at 1,000/s.
 */
export const TURN_ASK_MS = TURN_TTL_MS;

type TakeTurn = (turnKey: string, consumer: string, ttlMs: number) => Promise<number>;
type WithTakeTurn = { takeTurn: (turnKey: string, consumer: string, ttlMs: number) => unknown };

let script: string | undefined;

export class CollectingTurn {
  /** Whether this worker held the turn at its last word from Redis (and has not given it up since). */
  holding = false;
  private readonly command: TakeTurn;

  constructor(
    redis: Redis,
    private readonly key: string,
    private readonly consumer: string,
  ) {
    script ??= readFileSync(assetFile("commands/take-turn.lua"), "utf8");
    if (!("takeTurn" in redis)) redis.defineCommand("takeTurn", { lua: script, numberOfKeys: 1 });
    this.command = (redis as unknown as { takeTurn: TakeTurn }).takeTurn.bind(redis);
  }

  /** Adds "take the turn if it is free, or keep it" to a pipeline; hand its reply to settle(). */
  ask(tx: ChainableCommander): void {
    (tx as ChainableCommander & WithTakeTurn).takeTurn(this.key, this.consumer, TURN_TTL_MS);
  }

  /** Reads the reply to ask(): whether this worker holds the turn now. */
  settle(reply: unknown): boolean {
    this.holding = reply === 1;
    return this.holding;
  }

  /** Gives the turn up. Not awaited: were it lost, the turn would only expire later. */
  giveUp(): void {
    if (!this.holding) return;
    this.holding = false;
    this.command(this.key, this.consumer, 0).catch(() => {});
  }
}
