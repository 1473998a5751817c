import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CutoverError } from '@imdsv2-cutover/core';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, resolvePartition, resolveRegion } from './connection.js';

const tempDir = useTempDirs('imdsv2-connection-');
const saved = { config: process.env.AWS_CONFIG_FILE, credentials: process.env.AWS_SHARED_CREDENTIALS_FILE };
const none = { env: {} as Record<string, string | undefined> };

/** Points the SDK's shared config at a file with `region` for the default profile (or at nothing). */
async function profileRegion(region: string | undefined): Promise<void> {
  const dir = await tempDir();
  const file = path.join(dir, 'config');
  await writeFile(file, region === undefined ? '' : `[default]\nregion = ${region}\n`);
  process.env.AWS_CONFIG_FILE = file;
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials');
}

beforeEach(() => profileRegion(undefined));
afterEach(() => {
  for (const [k, v] of [
    ['AWS_CONFIG_FILE', saved.config],
    ['AWS_SHARED_CREDENTIALS_FILE', saved.credentials],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof CutoverError)) throw new Error(`expected a CutoverError, got ${String(e)}`);
  return `${e.code}: ${e.message}`;
}

describe('the region rule', () => {
  it('takes --region, then --regions, AWS_DEFAULT_REGION, the profile, then the input file', async () => {
    await profileRegion('eu-west-1');
    const env = { AWS_DEFAULT_REGION: 'ap-south-1' };
    expect(await resolveRegion({ region: 'cn-north-1', env }, { regions: ['cn-northwest-1'] })).toEqual({
      region: 'cn-north-1',
      source: 'flag',
    });
    expect(await resolveRegion({ env }, { regions: ['cn-northwest-1'] })).toEqual({
      region: 'cn-northwest-1',
      source: 'regions',
    });
    expect(await resolveRegion({ env }, { inputRegions: ['us-gov-west-1'] })).toEqual({
      region: 'ap-south-1',
      source: 'environment',
    });
    expect(await resolveRegion(none, { inputRegions: ['us-gov-west-1'] })).toEqual({
      region: 'eu-west-1',
      source: 'profile',
    });
    await profileRegion(undefined);
    expect(await resolveRegion(none, { inputRegions: async () => ['us-gov-west-1'] })).toEqual({
      region: 'us-gov-west-1',
      source: 'input file',
    });
    expect(await refusal(resolveRegion(none))).toBe(
      'BAD_USAGE: No region: pass --region, set AWS_REGION, or set a region in your AWS profile',
    );
  });
});

describe('the partition before any call (imdsv2 policy)', () => {
  it('is --partition, else that of the region the rule finds, else aws', async () => {
    expect(await resolvePartition(none, 'aws-us-gov')).toEqual({ partition: 'aws-us-gov', source: 'flag' });
    expect(await resolvePartition({ region: 'cn-north-1', env: {} })).toEqual({ partition: 'aws-cn', source: 'flag' });
    expect(await resolvePartition({ env: { AWS_DEFAULT_REGION: 'us-gov-east-1' } })).toEqual({
      partition: 'aws-us-gov',
      source: 'environment',
    });
    await profileRegion('cn-northwest-1');
    expect(await resolvePartition(none)).toEqual({ partition: 'aws-cn', source: 'profile' });
    await profileRegion(undefined);
    expect(await resolvePartition(none)).toEqual({ partition: 'aws', source: 'default' });
    // --partition wins over a region default (printing policies for another partition ahead of time).
    expect(await resolvePartition({ region: 'us-east-1', env: {} }, 'aws-cn')).toEqual({
      partition: 'aws-cn',
      source: 'flag',
    });
  });

  it('refuses an unknown partition and a mistyped region with exit 2', async () => {
    expect(await refusal(resolvePartition(none, 'aws-china'))).toBe(
      'BAD_USAGE: --partition: "aws-china" is not an AWS partition',
    );
    expect(await refusal(resolvePartition({ region: 'cn-nort-1', env: {} }))).toMatch(
      /^BAD_USAGE: --region: "cn-nort-1" is not an AWS region \(did you mean cn-north-1\?\)/,
    );
  });
});

describe('connect: one partition a run', () => {
  const toolVersion = 'test';

  it('refuses a region of another partition than the regions the run acts in, naming both', async () => {
    expect(await refusal(connect({ region: 'us-east-1', env: {} }, { regions: ['cn-north-1'], toolVersion }))).toBe(
      'BAD_USAGE: --region us-east-1 is in partition aws, but --regions names cn-north-1, in aws-cn',
    );
    expect(
      await refusal(connect({ region: 'us-east-1', env: {} }, { inputRegions: ['us-gov-west-1'], toolVersion })),
    ).toBe('BAD_USAGE: --region us-east-1 is in partition aws, but the input file names us-gov-west-1, in aws-us-gov');
    expect(await refusal(connect(none, { inputRegions: async () => ['cn-north-1', 'us-east-1'], toolVersion }))).toBe(
      'BAD_USAGE: the region (from input file) cn-north-1 is in partition aws-cn, but the input file names us-east-1, in aws',
    );
  });

  it('builds the clients when the regions agree, and leaves an unreadable input file to the workflow', async () => {
    const ok = await connect({ region: 'cn-north-1', env: {} }, { inputRegions: ['cn-northwest-1'], toolVersion });
    expect(ok.config.region).toBe('cn-north-1');
    ok.destroy();
    const unread = await connect(
      { region: 'us-gov-east-1', env: {} },
      {
        inputRegions: () => Promise.reject(new Error('no journal')),
        toolVersion,
      },
    );
    expect(unread.config.region).toBe('us-gov-east-1');
    unread.destroy();
  });
});
