// How long a worker waits for its batch to fill before it writes it. A fixed short wait commits a
// steady stream a few events at a time (about 220 transactions for 1,000 events at 500/s), and each
// transaction costs the worker and PostgreSQL far more than an event does. BatchLinger waits as long
// as the arrival rate needs to fill the batch, between a floor and a ceiling: a backlog is written at
// once in full batches, a steady stream in few large ones, and a lone event does not wait for company
// that is not coming.
//
// The rate is the stream's (observeGroup, from Redis's own count of entries the group has read), not
// the rate this worker happened to get: one worker collects at a time (the turn, worker.ts), so the
// whole stream fills its batch, and a worker that has just taken the turn knows the rate at once.

export interface LingerSettings {
  batchSize: number;
  /** The shortest wait for a batch that is not full; 0 turns lingering off. */
  minMs: number;
  /** The longest wait: bounds how much later than a fixed linger an event can be committed. */
  maxMs: number;
}

/** The share of a batch a wait before the read is meant to bring. */
const BEFORE_READ_FILL = 0.9;

/** The shortest span the stream's rate is measured over. */
const MIN_RATE_SPAN_MS = 10;

/** Weight of the newest observation in the arrival-rate average. */
const SMOOTHING = 0.5;

export class BatchLinger {
  /** Events per millisecond this worker has been reading, smoothed; 0 before the first batch. */
  private perMs = 0;
  /** Events per millisecond the whole group has been reading (the stream's rate), smoothed; 0 while unknown. */
  private groupPerMs = 0;
  private lastGroupRead: { entriesRead: number; atMs: number } | null = null;

  constructor(readonly settings: LingerSettings) {}

  /** The arrival rate the next wait is based on, events per second: the stream's when known, else this worker's. */
  get ratePerS(): number {
    return this.streamPerMs() * 1000;
  }

  private streamPerMs(): number {
    return this.groupPerMs > 0 ? this.groupPerMs : this.perMs;
  }

  /**
   * How long to wait for more after a read gave `got` entries (0: write now), the entries having been
   * held `heldMs` already (none waits longer than the ceiling in all). The others are not due to read
   * before this worker has its batch, so the whole stream's rate fills it.
   */
  waitMs(got: number, heldMs = 0): number {
    const { batchSize, minMs, maxMs } = this.settings;
    if (minMs <= 0 || got >= batchSize) return 0;
    const ceiling = Math.max(minMs, maxMs);
    const rate = this.streamPerMs();
    // Not even one more event is expected within the ceiling: the floor is all it is worth.
    if (rate * ceiling < 1) return Math.max(0, Math.min(minMs, ceiling - heldMs));
    return Math.max(0, Math.min(ceiling - heldMs, Math.max(minMs, (batchSize - got) / rate)));
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
    const rate = this.streamPerMs();
    if (minMs <= 0 || rate * ceiling < 1) return 0;
    return Math.max(0, Math.min(ceiling, (batchSize * BEFORE_READ_FILL) / rate) - sinceReadMs);
  }

  /**
   * Record the group's state after a read: `entriesRead`, Redis's count of entries delivered to the
   * group (XINFO GROUPS), at `atMs` (performance.now()). A count that went back (the group was
   * recreated) starts the rate afresh.
   */
  observeGroup(entriesRead: number, atMs: number): void {
    const last = this.lastGroupRead;
    if (!last || entriesRead < last.entriesRead) {
      this.lastGroupRead = { entriesRead, atMs };
      this.groupPerMs = 0;
      return;
    }
    const elapsedMs = atMs - last.atMs;
    // Reads a few ms apart say little about a rate: measure over a longer span.
    if (elapsedMs < MIN_RATE_SPAN_MS) return;
    this.lastGroupRead = { entriesRead, atMs };
    const rate = (entriesRead - last.entriesRead) / elapsedMs;
    this.groupPerMs = this.groupPerMs === 0 ? rate : SMOOTHING * rate + (1 - SMOOTHING) * this.groupPerMs;
  }

  /** Record that `events` were read over `elapsedMs`, from the previous batch's last read to this one's. */
  observe(events: number, elapsedMs: number): void {
    if (!(elapsedMs > 0)) return;
    const rate = events / elapsedMs;
    this.perMs = this.perMs === 0 ? rate : SMOOTHING * rate + (1 - SMOOTHING) * this.perMs;
  }
}
