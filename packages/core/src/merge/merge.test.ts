import type { Assessment } from '@imdsv2-cutover/core';
import { generateFleet, makeAssessment } from '@imdsv2-cutover/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CutoverError } from '../errors.js';
import { Assessment as AssessmentSchema } from '../schemas/assessment.js';
import { mergeAssessments } from './merge.js';
import type { Shard } from './merge.js';

/** Splits an assessment into shards by a key of each (account, region), the way separate jobs would assess it. */
function split(a: Assessment, shardOf: (accountId: string, region: string) => number, n: number): Shard[] {
  return Array.from({ length: n }, (_, k) => {
    const inShard = (x: { accountId: string; region: string }) => shardOf(x.accountId, x.region) === k;
    const instances = a.instances.filter(inShard);
    const shard = makeAssessment(instances, {
      id: `${a.id}-shard-${k}`,
      createdAt: new Date(Date.parse(a.createdAt) + k * 60_000).toISOString(),
      launchTemplates: a.launchTemplates.filter(inShard),
      autoScalingGroups: a.autoScalingGroups.filter(inShard),
      images: a.images.filter(inShard),
    });
    return { file: `shard-${k}.json`, assessment: shard };
  });
}

const fleet = generateFleet({ count: 80, seed: 3 });
const byRegion = (_acc: string, region: string) => ['us-east-1', 'eu-west-1', 'ap-southeast-2'].indexOf(region);
const byAccount = (acc: string) => (acc === '111111111111' ? 0 : 1);

function refusal(shards: Shard[]): CutoverError {
  try {
    mergeAssessments(shards);
  } catch (e) {
    if (e instanceof CutoverError) return e;
    throw e;
  }
  throw new Error('expected the merge to be refused');
}

describe('mergeAssessments', () => {
  it('gives back every instance of shards split by region, sorted, as a valid assessment', () => {
    const merged = mergeAssessments(split(fleet, byRegion, 3));
    expect(() => AssessmentSchema.parse(merged)).not.toThrow();
    expect(merged.instances.map((i) => i.instanceId).sort()).toEqual(fleet.instances.map((i) => i.instanceId).sort());
    const keys = merged.instances.map((i) => `${i.accountId}/${i.region}/${i.instanceId}`);
    expect(keys).toEqual([...keys].sort());
    expect(merged.accounts.map((a) => a.accountId)).toEqual(['111111111111', '222222222222']);
    expect(merged.regions).toHaveLength(6);
    expect(merged.scope.regions).toEqual(['ap-southeast-2', 'eu-west-1', 'us-east-1']);
    expect(merged.complete).toBe(true);
  });

  it('records the earliest shard time, an id derived from the shard ids, and is independent of shard order', () => {
    const shards = split(fleet, byAccount, 2);
    const merged = mergeAssessments(shards);
    expect(merged.createdAt).toBe(shards[0]!.assessment.createdAt);
    expect(merged.id).toMatch(/^merged-[0-9a-f]{20}$/);
    expect(mergeAssessments([...shards].reverse())).toEqual(merged);
    const other = split(fleet, byAccount, 2).map((s, k) => ({
      ...s,
      assessment: { ...s.assessment, id: `other-${k}` },
    }));
    expect(mergeAssessments(other).id).not.toBe(merged.id);
  });

  it('is incomplete when any shard is, and keeps an account failed when it failed in one shard', () => {
    const shards = split(fleet, byRegion, 3);
    const s1 = shards[1]!.assessment;
    s1.complete = false;
    s1.accounts[0] = { ...s1.accounts[0]!, status: 'failed', error: { code: 'AccessDenied', message: 'no role' } };
    const merged = mergeAssessments(shards);
    expect(merged.complete).toBe(false);
    expect(merged.accounts.find((a) => a.accountId === s1.accounts[0]!.accountId)).toMatchObject({
      status: 'failed',
      error: { code: 'AccessDenied' },
    });
  });

  it.each<[string, (shards: Shard[]) => void, RegExp]>([
    [
      'an (account, region) in two shards',
      (s) => s[1]!.assessment.regions.push({ ...s[0]!.assessment.regions[0]!, status: 'ok' }),
      /^overlapping shards: 1 \(account, region\) pairs in more than one shard: \d{12}\/us-east-1 \(shard-0\.json and shard-1\.json\)$/,
    ],
    [
      'an instance id in two shards',
      (s) => {
        // Same instance id in another region: no (account, region) overlap, still the same instance twice.
        const copy = structuredClone(s[0]!.assessment.instances[0]!);
        copy.region = 'eu-west-1';
        copy.accountId = s[1]!.assessment.instances[0]!.accountId;
        s[1]!.assessment.instances.push(copy);
      },
      /^overlapping shards: 1 instance ids in more than one shard: i-[0-9a-f]+ \(shard-0\.json and shard-1\.json\)$/,
    ],
    [
      'the same shard twice',
      (s) => (s[1]!.assessment.id = s[0]!.assessment.id),
      /^overlapping shards: 1 assessment ids in more than one shard: .* \(shard-0\.json and shard-1\.json\)$/,
    ],
    [
      'a different lookback',
      (s) => (s[2]!.assessment.scope.lookbackDays = 30),
      /^incompatible shards: scope\.lookbackDays is 14 in shard-0\.json but 30 in shard-2\.json$/,
    ],
    [
      'a different minimum observation',
      (s) => (s[1]!.assessment.scope.minObservationDays = 3),
      /^incompatible shards: scope\.minObservationDays is 7 in shard-0\.json but 3 in shard-1\.json$/,
    ],
    [
      'a different probe mode',
      (s) => (s[1]!.assessment.scope.probe = 'none'),
      /^incompatible shards: scope\.probe is "suspects" in shard-0\.json but "none" in shard-1\.json$/,
    ],
    [
      'a different schema version',
      (s) => ((s[1]!.assessment.schema as { version: number }).version = 2),
      /^incompatible shards: schema is "imdsv2-cutover\/assessment v1" in shard-0\.json but "imdsv2-cutover\/assessment v2" in shard-1\.json$/,
    ],
    [
      'a different endpoint',
      (s) => (s[1]!.assessment.scope.endpointUrl = 'http://127.0.0.1:4566'),
      /^incompatible shards: scope\.endpointUrl is "\(none\)" in shard-0\.json but "http:\/\/127\.0\.0\.1:4566" in shard-1\.json$/,
    ],
    [
      'a different partition',
      (s) => {
        const a = s[1]!.assessment;
        a.scope.partition = 'aws-cn';
        a.scope.regions = ['cn-north-1'];
        for (const r of a.regions) r.region = 'cn-north-1';
      },
      /^incompatible shards: partition is "aws" in shard-0\.json but "aws-cn" in shard-1\.json$/,
    ],
  ])('refuses %s, naming the files and values', (_name, spoil, message) => {
    const shards = split(fleet, byRegion, 3);
    spoil(shards);
    const err = refusal(shards);
    expect(err.code).toBe('BAD_INPUT');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
  });

  it('refuses fewer than two shards', () => {
    expect(refusal(split(fleet, () => 0, 1)).exitCode).toBe(2);
  });

  it('property: merging disjoint shards split from one assessment gives back the same instance set', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 2, max: 4 }),
        fc.func(fc.nat()),
        (count, seed, n, assign) => {
          const a = generateFleet({ count, seed });
          const shards = split(a, (acc, region) => assign(`${acc}/${region}`) % n, n);
          const merged = mergeAssessments(shards);
          const key = (i: { accountId: string; region: string; instanceId: string }) =>
            `${i.accountId}/${i.region}/${i.instanceId}`;
          expect(merged.instances.map(key)).toEqual(a.instances.map(key).sort());
          expect(merged.instances).toEqual(expect.arrayContaining(a.instances));
        },
      ),
      { numRuns: 50 },
    );
  });
});
