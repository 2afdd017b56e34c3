// How long a worker waits for its batch to fill before it writes it. A fixed short wait commits a
// steady stream a few events at a time (about 220 transactions for 1,000 events at 500/s), and each
// transaction costs the worker and PostgreSQL far more than an event does. BatchLinger waits as long
// as the arrival rate this worker sees needs to fill the batch, between a floor and a ceiling: a
// backlog is written at once in full batches, a steady stream in few large ones, and a lone event
// does not wait for company that is not coming.

export interface LingerSettings {
  batchSize: number;
  /** The shortest wait for a batch that is not full; 0 turns lingering off. */
  minMs: number;
  /** The longest wait: bounds how much later than a fixed linger an event can be committed. */
  maxMs: number;
}

/** The share of a batch a wait before the read is meant to bring. */
const BEFORE_READ_FILL = 0.9;

/** Weight of the newest observation in the arrival-rate average. */
const SMOOTHING = 0.5;

export class BatchLinger {
  /** Events per millisecond this worker has been reading, smoothed; 0 before the first batch. */
  private perMs = 0;

  constructor(readonly settings: LingerSettings) {}

  /** The arrival rate the next wait is based on, events per second. */
  get ratePerS(): number {
    return this.perMs * 1000;
  }

  /** How long to wait for more, after a read gave `got` entries: 0 means write now. */
  waitMs(got: number): number {
    const { batchSize, minMs, maxMs } = this.settings;
    if (minMs <= 0 || got >= batchSize) return 0;
    const ceiling = Math.max(minMs, maxMs);
    // Not even one more event is expected within the ceiling: the floor is all it is worth.
    if (this.perMs * ceiling < 1) return minMs;
    return Math.min(ceiling, Math.max(minMs, (batchSize - got) / this.perMs));
  }

  /**
   * How long to wait before reading at all, `sinceReadMs` after the last read. When the stream brings
   * at least one event within the ceiling, a worker that would block for the first event and then
   * linger (waitMs) waits up front instead and reads the batch in ONE read, not a read woken by its
   * first event, a wait and a second read: as long as the rate needs to fill the batch, within the
   * ceiling, so no event waits longer than it would have. It waits for a little less than a full
   * batch (BEFORE_READ_FILL): a read that still comes back full means the stream is ahead of the
   * estimate, and the worker reads again at once instead of waiting (a backlog is never lingered
   * over). Else 0: block for the first event, then waitMs.
   */
  waitBeforeReadMs(sinceReadMs: number): number {
    const { batchSize, minMs, maxMs } = this.settings;
    const ceiling = Math.max(minMs, maxMs);
    if (minMs <= 0 || this.perMs * ceiling < 1) return 0;
    return Math.max(0, Math.min(ceiling, (batchSize * BEFORE_READ_FILL) / this.perMs) - sinceReadMs);
  }

  /** Record that `events` were read over `elapsedMs`, from the previous batch's last read to this one's. */
  observe(events: number, elapsedMs: number): void {
    if (!(elapsedMs > 0)) return;
    const rate = events / elapsedMs;
    this.perMs = this.perMs === 0 ? rate : SMOOTHING * rate + (1 - SMOOTHING) * this.perMs;
  }
}
