import { describe, expect, it } from 'vitest';
import { MAX_DATAPOINTS_PER_CALL, MAX_QUERIES_PER_CALL, choosePeriod, metricWindow } from './window.js';

const DAY = 86_400;

describe('choosePeriod', () => {
  it.each([
    // lookback days, detailed, expected period: the finest that meets retention and fits 500 series in one page
    [1, false, 600],
    [1, true, 600],
    [0.1, true, 60],
    [0.1, false, 300],
    [7, false, 3600],
    [14, false, 7200],
    [30, false, 14400],
    [90, false, 43200],
    [400, false, 86400],
  ])('%s days (detailed %s) → %s s', (days, detailed, period) => {
    expect(choosePeriod(days * DAY, detailed)).toBe(period);
  });

  it('respects retention: beyond 15 days never finer than 300 s, beyond 63 days never finer than 3600 s', () => {
    for (let d = 1; d <= 455; d++) {
      const p = choosePeriod(d * DAY, true);
      if (d > 15) expect(p).toBeGreaterThanOrEqual(300);
      if (d > 63) expect(p).toBeGreaterThanOrEqual(3600);
      expect(DAY % p).toBe(0);
      if (d <= 200)
        expect(MAX_QUERIES_PER_CALL * Math.ceil((d * DAY) / p)).toBeLessThanOrEqual(MAX_DATAPOINTS_PER_CALL);
    }
  });
});

describe('metricWindow', () => {
  it('is period-aligned, ends after now and spans the lookback', () => {
    const now = new Date('2026-11-20T12:34:56Z');
    const w = metricWindow(now, 14);
    expect(w.periodSeconds).toBe(7200);
    expect(w.end.toISOString()).toBe('2026-11-20T14:00:00.000Z');
    // It starts at the boundary at or before now - 14 days: the whole lookback before now is inside it.
    expect(w.start.toISOString()).toBe('2026-11-06T12:00:00.000Z');
    expect(now.getTime() - w.start.getTime()).toBeGreaterThanOrEqual(14 * DAY * 1000);
  });
});
