import { makeAssessment, makeInstance } from '@imdsv2-cutover/test-utils';
import { describe, expect, it } from 'vitest';
import { summarize } from './summary.js';

describe('summarize', () => {
  it('counts per account, region and status, and carries failures', () => {
    const ready = makeInstance();
    const blocked = makeInstance({
      instanceId: 'i-0000000000000002',
      readiness: { status: 'blocked', reasons: [] },
    });
    const west = makeInstance({
      instanceId: 'i-0000000000000003',
      region: 'us-west-2',
      readiness: { status: 'unknown', reasons: [] },
    });
    const a = makeAssessment([ready, blocked, west]);
    a.complete = false;
    a.regions.push({
      accountId: '111111111111',
      region: 'eu-west-1',
      status: 'failed',
      error: { code: 'OptInRequired', message: 'not enabled' },
      accountDefaults: null,
    });
    a.accounts.push({ accountId: '222222222222', status: 'failed', error: { code: 'AccessDenied', message: 'no' } });
    const s = summarize(a);
    expect(s.complete).toBe(false);
    expect(s.totals).toMatchObject({ instances: 3, ready: 1, blocked: 1, unknown: 1, enforced: 0 });
    expect(s.scopes.map((x) => [x.region, x.status, x.instances, x.ready, x.blocked, x.unknown])).toEqual([
      ['eu-west-1', 'failed', 0, 0, 0, 0],
      ['us-east-1', 'ok', 2, 1, 1, 0],
      ['us-west-2', 'ok', 1, 0, 0, 1],
    ]);
    expect(s.failedRegions).toEqual([
      { accountId: '111111111111', region: 'eu-west-1', error: { code: 'OptInRequired', message: 'not enabled' } },
    ]);
    expect(s.failedAccounts.map((x) => x.accountId)).toEqual(['222222222222']);
  });
});
