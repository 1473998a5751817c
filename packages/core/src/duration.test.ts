import { describe, expect, it } from 'vitest';
import { Duration } from './schemas/policy.js';
import { durationSecondsOf, formatDuration, parseDuration } from './duration.js';

describe('the duration grammar (flags and policy files alike)', () => {
  it.each([
    ['30s', 30],
    ['45m', 2700],
    ['1h30m', 5400],
    ['24h', 86_400],
    ['7d', 604_800],
    ['2w', 1_209_600],
    ['250ms', 0.25],
    ['1.5h', 5400],
  ])('%s is %d seconds', (text, seconds) => expect(parseDuration(text, '--soak')).toBe(seconds));

  it.each(['60', '14', '0.5', '', '10 minutes', '1h 30m', 'h', '5y', '-5m'])('refuses %j', (text) => {
    expect(durationSecondsOf(text)).toBeNull();
    expect(() => parseDuration(text, '--soak')).toThrow(/--soak ".*" is not a duration/);
  });

  it('asks for the unit of a bare number', () => {
    try {
      parseDuration('60', '--window');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/a bare number has no unit/);
      expect((e as { suggestions: string[] }).suggestions[0]).toMatch(/60s, 60m or 60d/);
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('the policy file takes the same forms as flags, in whole seconds', () => {
    for (const ok of ['30m', '1h30m', '2w', '24h']) expect(Duration.safeParse(ok).success).toBe(true);
    for (const bad of ['24', '250ms', '1h 30m']) expect(Duration.safeParse(bad).success).toBe(false);
  });

  it.each([
    [0, '0s'],
    [0.25, '250ms'],
    [5400, '1h30m'],
    [86_400, '1d'],
    [1_209_600, '2w'],
    [694_861, '1w1d1h1m1s'],
  ])('formats %d as %s, which reads back', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
    expect(parseDuration(text, 'x')).toBe(seconds);
  });
});
