// How long an answer may have waited for the driver's own event loop. Latency is read when the
// driver's callback runs, so an answer that arrived while the loop was busy (sending, parsing other
// answers, collecting garbage) is read late: the driver's delay, not the service's. The send lag
// cannot show it (the request went out on time), so a FAIL's lower bound must take it out too.
//
// Node counts the time its loop spends blocked in the kernel waiting for events (idle time). It
// first polls without waiting and counts nothing, so idle time grows only while none of the driver's
// sockets had data ready: an answer arrived no earlier than the end of the last wait. Looking at the
// clock and the idle time at each of the driver's callbacks, the time since the last wait ended is
// bounded by the time since the last look, less the idle time in between; with no idle time in
// between, by that plus the bound at the last look. Not counted: the time the kernel took to wake
// the process (idle time to Node), which is the machine's delay, as the send lag shows it.

import { performance } from "node:perf_hooks";

/** Idle time under this between two looks counts as none (the clocks' rounding). */
const IDLE_EPSILON_MS = 0.01;

export class LoopWait {
  private lastAtMs = 0;
  private lastIdleMs = 0;
  private boundMs = 0;

  constructor(private readonly idleMs: () => number = () => performance.nodeTiming.idleTime) {}

  /** Starts watching at `nowMs` (any monotonic ms clock): nothing read from then on waited longer than the loop has been busy since. */
  start(nowMs: number): void {
    this.lastAtMs = nowMs;
    this.lastIdleMs = this.idleMs();
    this.boundMs = 0;
  }

  /** A look at the loop at `nowMs`, from one of the driver's callbacks: how long an answer read now may have waited for the loop, ms. */
  look(nowMs: number): number {
    const idle = this.idleMs();
    const sinceMs = Math.max(0, nowMs - this.lastAtMs);
    const idled = idle - this.lastIdleMs;
    this.boundMs = idled > IDLE_EPSILON_MS ? Math.max(0, sinceMs - idled) : this.boundMs + sinceMs;
    this.lastAtMs = nowMs;
    this.lastIdleMs = idle;
    return this.boundMs;
  }
}
