/**
 * A token bucket that hands out reservations: `reserve()` takes one token now and returns how many milliseconds the
 * caller must wait before using it. Tokens may go negative, so concurrent callers queue up in arrival order without a
 * timer per caller, and the long-run rate never exceeds `refillPerSecond` after the initial `capacity` burst. This is
 * how EC2 throttles mutating calls (ModifyInstanceMetadataOptions: 100 burst, 5 a second per account and region).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    if (capacity < 1 || refillPerSecond <= 0)
      throw new RangeError('a token bucket needs capacity >= 1 and a positive refill');
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes a token; returns the delay in ms before the caller may act (0 when a token was available). */
  reserve(): number {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.refillPerSecond);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.refillPerSecond) * 1000);
  }
}

/** The least wall time in ms to make `calls` calls through a full bucket: the burst is free, the rest come at the refill rate. */
export function bucketBoundMs(calls: number, capacity: number, refillPerSecond: number): number {
  return Math.max(0, calls - capacity) * (1000 / refillPerSecond);
}
