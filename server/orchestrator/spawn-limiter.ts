/**
 * A token bucket for starting spawned sessions: a burst of `burst`, then
 * `perSecond` on average. Zero means no limit.
 */
export class SpawnLimiter {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  available(): number {
    if (this.perSecond <= 0) return Number.MAX_SAFE_INTEGER;
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    return Math.floor(this.tokens);
  }

  take(count: number): void {
    if (this.perSecond > 0) this.tokens -= count;
  }
}
