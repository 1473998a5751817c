import { describe, expect, it } from 'vitest';
import type { JournalRecord } from '../schemas/journal.js';
import { parseDuration } from './duration.js';
import { countWave, replayJournal, targetKey } from './replay.js';
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

describe('parseDuration', () => {
  it.each([
    ['30m', 1800],
    ['1h30m', 5400],
    ['7d', 604_800],
    ['250ms', 0.25],
    ['45', 45],
  ])('%s', (text, seconds) => expect(parseDuration(text, '--soak')).toBe(seconds));
  it('rejects junk naming the flag', () => {
    expect(() => parseDuration('10 minutes', '--soak')).toThrow(/--soak "10 minutes" is not a duration/);
  });
});

describe('replayJournal', () => {
  const target = {
    kind: 'instance' as const,
    instanceId: 'i-0000000000000001',
    accountId: '111111111111',
    region: 'us-east-1',
  };
  const a = { httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' } as const;
  const b = { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' } as const;
  const at = '2026-01-01T00:00:00.000Z';
  const recs: JournalRecord[] = [
    { type: 'wave-start', seq: 0, at, wave: 0, dryRun: false },
    { type: 'intent', seq: 1, at, wave: 0, action: 'apply', target, previous: a, desired: b },
    { type: 'result', seq: 2, at, wave: 0, action: 'apply', target, outcome: 'ok' },
    {
      type: 'intent',
      seq: 3,
      at: '2026-01-02T00:00:00.000Z',
      wave: 0,
      action: 'apply',
      target,
      previous: b,
      desired: b,
    },
  ];

  it('keeps the earliest previous as the original and flags an intent without a result', () => {
    const s = replayJournal(recs);
    const t = s.targets.get(targetKey(target))!;
    expect(t.original).toEqual(a);
    expect(t.phase).toBe('intent-pending');
    expect(s.waves.get('0')).toMatchObject({ state: 'open', firstApplyAt: at });
    expect(countWave(s, [targetKey(target), 'instance:x'])).toMatchObject({ inFlight: 1, pending: 1, total: 2 });
  });

  it('verified, rolled back and wave-end states', () => {
    const s = replayJournal([
      ...recs.slice(0, 3),
      { type: 'verified', seq: 3, at, wave: 0, target, state: 'applied' },
      { type: 'intent', seq: 4, at, wave: 0, action: 'rollback', target, previous: b, desired: a },
      { type: 'result', seq: 5, at, wave: 0, action: 'rollback', target, outcome: 'ok' },
      { type: 'wave-end', seq: 6, at, wave: 0, outcome: 'rolled-back' },
    ]);
    expect(s.targets.get(targetKey(target))!.phase).toBe('rolled-back');
    expect(s.waves.get('0')!.state).toBe('rolled-back');
  });
});
