// The running P95 the replay reports in its progress: a fixed histogram, so adding a latency is
// one increment, whatever the length of the phase.

/** Latency histogram for the running P95: buckets grow by 2% from 0.01 ms. */
export class RunningHistogram {
  private static readonly BASE = 0.01;
  private static readonly LOG_GROWTH = Math.log(1.02);
  private readonly counts = new Uint32Array(1000);
  private n = 0;

  add(ms: number): void {
    const i = ms <= RunningHistogram.BASE ? 0 : Math.ceil(Math.log(ms / RunningHistogram.BASE) / RunningHistogram.LOG_GROWTH);
    this.counts[Math.min(i, this.counts.length - 1)]++;
    this.n++;
  }

  /** Upper edge of the bucket holding the nearest-rank P95. */
  p95(): number | null {
    if (this.n === 0) return null;
    const rank = Math.ceil(this.n * 0.95);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return RunningHistogram.BASE * Math.exp(i * RunningHistogram.LOG_GROWTH);
    }
    return null;
  }
}
