import { describe, expect, it } from 'vitest';
import { TokenBucket, bucketBoundMs } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows the burst, then one call per 1/refill seconds', () => {
    let t = 0;
    const b = new TokenBucket(100, 5, () => t);
    const waits = Array.from({ length: 103 }, () => b.reserve());
    expect(waits.slice(0, 100).every((w) => w === 0)).toBe(true);
    expect(waits.slice(100)).toEqual([200, 400, 600]);
    t = 10_000; // 50 tokens refilled, 3 owed
    expect(b.reserve()).toBe(0);
    expect(bucketBoundMs(5000, 100, 5)).toBe(980_000);
  });
});
