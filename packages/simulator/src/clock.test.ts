import { describe, expect, it } from 'vitest';
import { createClock } from './clock.js';

describe('the simulated clock', () => {
  const start = new Date('2026-01-01T00:00:00Z');

  it('runs at its speed, jumps forward, and maps a past real time to the simulated time it was then', () => {
    let real = 1_000_000;
    const clock = createClock(start, 10, () => real);
    real += 1000; // 10 simulated seconds
    expect(clock.nowMs()).toBe(start.getTime() + 10_000);
    const beforeJump = real;
    clock.advance(600_000);
    real += 1000;
    clock.setSpeed(1);
    real += 2000;
    expect(clock.nowMs()).toBe(start.getTime() + 10_000 + 600_000 + 10_000 + 2000);
    // What happened before the jump stays where it was: advancing ages it.
    expect(clock.simMsAt(beforeJump - 500)).toBe(start.getTime() + 5000);
    expect(clock.simMsAt(beforeJump)).toBe(start.getTime() + 10_000 + 600_000);
    expect(clock.simMsAt(beforeJump + 500)).toBe(start.getTime() + 10_000 + 600_000 + 5000);
    expect(clock.simMsAt(real)).toBe(clock.nowMs());
    expect(clock.simMsAt(real - 1000)).toBe(clock.nowMs() - 1000);
  });
});
