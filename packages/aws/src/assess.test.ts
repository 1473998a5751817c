import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  GetInstanceMetadataDefaultsCommand,
} from '@aws-sdk/client-ec2';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { Assessment, RecordingReporter, summarize } from '@imdsv2-cutover/core';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_ACCOUNT, ec2Instance, mockAws, type MockAccount, type SeriesFn } from './__fixtures__/mock-aws.js';
import { assess, type AssessOptions } from './assess.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const tool = { name: 'imdsv2-cutover', version: '0.0.0-test' };

/** A point every hour over `days` days ending `endDaysAgo` ago, with `calls` on each (zeros are published). */
function points(days: number, calls: number, endDaysAgo = 0): [Date, number][] {
  const out: [Date, number][] = [];
  for (let t = ago(endDaysAgo + days).getTime(); t < ago(endDaysAgo).getTime(); t += 3_600_000)
    out.push([new Date(t), calls]);
  return out;
}

let env: ReturnType<typeof mockAws> | undefined;
afterEach(() => env?.restore());

async function run(accounts: Record<string, MockAccount>, series: SeriesFn, o: Partial<AssessOptions> = {}) {
  env = mockAws(accounts, series);
  const reporter = new RecordingReporter();
  const a = await assess({
    clients: env.clients,
    lookbackDays: 14,
    minObservationDays: 7,
    now: () => NOW,
    tool,
    reporter,
    ...o,
  });
  expect(() => Assessment.parse(a)).not.toThrow();
  return { a, reporter, byId: new Map(a.instances.map((i) => [i.instanceId, i])) };
}

describe('observation time', () => {
  it('an instance launched late on a day six days ago is not ready at 7 days, whatever calendar days it touched', async () => {
    // Launched at 22:00 UTC six days (and 14 hours) before NOW: its datapoints touch 8 calendar days but cover 6d 14h.
    const launch = new Date(ago(7).getTime() + 10 * 3_600_000);
    const { byId } = await run(
      {
        [BASE_ACCOUNT]: {
          regions: { 'us-east-1': { instances: [ec2Instance('i-00000011', { LaunchTime: launch })] } },
        },
      },
      () => points(14, 0).filter(([t]) => t.getTime() >= launch.getTime() - 2 * 3_600_000),
    );
    const i = byId.get('i-00000011')!;
    expect(i.metrics.noToken.daysWithData).toBe(8);
    expect(i.metrics.noToken.observedSeconds).toBe(NOW.getTime() / 1000 - launch.getTime() / 1000);
    expect(i.readiness.status).toBe('unknown');
    expect(i.readiness.reasons[0]!.message).toContain('The data covers 6d 14h; 7d of observation are needed');
  });
});

describe('assess', () => {
  it('classifies a small fleet from its evidence', async () => {
    const fleet: MockAccount = {
      regions: {
        'us-east-1': {
          instances: [
            ec2Instance('i-00000001'), // quiet for 14 days → ready
            ec2Instance('i-00000002'), // calls → blocked
            ec2Instance('i-00000003', {
              State: { Name: 'stopped' },
              StateTransitionReason: 'User initiated (2026-10-01 10:00:00 GMT)',
            }),
            ec2Instance('i-00000004', { LaunchTime: ago(1) }), // launched yesterday: 1 day of zeros
            ec2Instance('i-00000005'), // IMDSv1 calls 20 days ago only, 7-day lookback → quiet
            ec2Instance('i-00000006', {
              MetadataOptions: {
                HttpTokens: 'required',
                HttpEndpoint: 'enabled',
                State: 'applied',
                HttpPutResponseHopLimit: 2,
              },
            }),
            ec2Instance('i-00000007', {
              MetadataOptions: {
                HttpTokens: 'optional',
                HttpEndpoint: 'disabled',
                State: 'applied',
                HttpPutResponseHopLimit: 1,
              },
            }),
            ec2Instance('i-00000008'), // no datapoints at all
            ec2Instance('i-00000009', { LaunchTime: new Date(NOW.getTime() - 5 * 60_000) }), // 5 minutes old
          ],
        },
      },
    };
    const series: SeriesFn = (id, metric) => {
      if (metric === 'MetadataNoTokenRejected') return id === 'i-00000006' ? points(2, 1) : [];
      if (id === 'i-00000002') return points(14, 3);
      if (id === 'i-00000004') return points(1, 0);
      if (id === 'i-00000005') return [...points(10, 0), [ago(20), 50]];
      if (id === 'i-00000008') return [];
      return points(14, 0);
    };
    const { byId } = await run({ [BASE_ACCOUNT]: fleet }, series, { lookbackDays: 7 });
    const st = (id: string) => [byId.get(id)!.readiness.status, byId.get(id)!.readiness.reasons[0]!.code];
    expect(st('i-00000001')).toEqual(['ready', 'no-imdsv1-calls']);
    expect(st('i-00000002')).toEqual(['blocked', 'imdsv1-calls-seen']);
    expect(st('i-00000003')).toEqual(['unknown', 'instance-stopped']);
    expect(st('i-00000004')).toEqual(['unknown', 'short-observation']);
    expect(st('i-00000005')).toEqual(['ready', 'no-imdsv1-calls']);
    expect(st('i-00000006')).toEqual(['enforced', 'tokens-required']);
    expect(byId.get('i-00000006')!.readiness.reasons.map((r) => r.code)).toContain('imdsv1-calls-failing');
    expect(st('i-00000007')).toEqual(['imds-disabled', 'imds-disabled']);
    expect(st('i-00000008')).toEqual(['unknown', 'no-datapoints']);
    expect(st('i-00000009')).toEqual(['unknown', 'launched-recently']);
    // Only instances where a metric can exist are queried: not the disabled, long-stopped or 5-minute-old ones.
    const queried = env!.cw
      .commandCalls(GetMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricDataQueries!.map((q) => q.MetricStat!.Metric!.Dimensions![0]!.Value));
    expect(queried.sort()).toEqual([
      'i-00000001',
      'i-00000002',
      'i-00000004',
      'i-00000005',
      'i-00000006',
      'i-00000008',
    ]);
  });

  it('resolves what each ASG and launch template launches', async () => {
    const lt = (
      id: string,
      v: number,
      isDefault: boolean,
      tokens?: 'required' | 'optional',
      image = 'ami-00000001',
    ) => ({
      LaunchTemplateId: id,
      LaunchTemplateName: `name-${id}`,
      VersionNumber: v,
      DefaultVersion: isDefault,
      LaunchTemplateData: { ImageId: image, ...(tokens ? { MetadataOptions: { HttpTokens: tokens } } : {}) },
    });
    const { a } = await run(
      {
        [BASE_ACCOUNT]: {
          regions: {
            'us-east-1': {
              instances: [ec2Instance('i-00000001', { Tags: [{ Key: 'aws:autoscaling:groupName', Value: 'web' }] })],
              templates: [
                lt('lt-0a', 1, true), // nothing set: v1
                lt('lt-0a', 2, false, 'required'), // latest fixed, not yet default
                lt('lt-0b', 3, true, undefined, 'ami-0v2'), // AMI v2.0
              ],
              imdsV2Images: ['ami-0v2'],
              groups: [
                { name: 'web', ltId: 'lt-0a', version: '$Default', instanceIds: ['i-00000001'] },
                { name: 'api', ltId: 'lt-0a', version: '$Latest' },
                { name: 'batch', ltId: 'lt-0b' },
              ],
            },
          },
        },
      },
      () => points(14, 0),
    );
    const group = (n: string) => a.autoScalingGroups.find((g) => g.name === n)!;
    expect(group('web').launchesImdsV1).toBe(true);
    expect(group('api').launchesImdsV1).toBe(false);
    expect(group('batch').effective!.httpTokens).toEqual({ value: 'required', source: 'ami' });
    const t = a.launchTemplates.find((x) => x.launchTemplateId === 'lt-0a')!;
    expect([t.defaultVersion, t.latestVersion, t.launchesImdsV1]).toEqual([1, 2, true]);
    expect(summarize(a).launchingImdsV1).toEqual({ autoScalingGroups: 1, launchTemplates: 1 });
  });

  it('records an account whose role cannot be assumed and a failing region, and goes on', async () => {
    const { a, reporter } = await run(
      {
        [BASE_ACCOUNT]: { regions: { 'us-east-1': { instances: [ec2Instance('i-00000001')] } } },
        '222222222222': {
          regions: {
            'us-east-1': { instances: [ec2Instance('i-00000002')] },
            'eu-west-1': { instances: [], failWith: 'UnauthorizedOperation' },
          },
        },
        '333333333333': { assumable: false, regions: { 'us-east-1': { instances: [ec2Instance('i-00000003')] } } },
      },
      () => points(14, 0),
      { organization: true, roleName: 'Audit', allRegions: true },
    );
    expect(a.complete).toBe(false);
    expect(a.accounts.map((x) => [x.accountId, x.status, x.error?.code, x.partition])).toEqual([
      [BASE_ACCOUNT, 'ok', undefined, 'aws'],
      ['222222222222', 'ok', undefined, 'aws'],
      ['333333333333', 'failed', 'AccessDenied', undefined],
    ]);
    // The partition of the caller's identity, and the role ARNs built in it.
    expect(a.scope.partition).toBe('aws');
    expect(env!.sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual(
      expect.arrayContaining(['arn:aws:iam::222222222222:role/Audit', 'arn:aws:iam::333333333333:role/Audit']),
    );
    expect(a.regions.map((r) => [r.accountId, r.region, r.status, r.error?.code])).toEqual([
      [BASE_ACCOUNT, 'us-east-1', 'ok', undefined],
      ['222222222222', 'eu-west-1', 'failed', 'UnauthorizedOperation'],
      ['222222222222', 'us-east-1', 'ok', undefined],
    ]);
    expect(a.instances.map((i) => i.instanceId)).toEqual(['i-00000001', 'i-00000002']);
    expect(
      reporter
        .ofType('warning')
        .map((w) => w.code)
        .sort(),
    ).toEqual(['ACCOUNT_FAILED', 'REGION_FAILED']);
  });

  it('a region that is not enabled fails alone', async () => {
    const { a } = await run(
      { [BASE_ACCOUNT]: { regions: { 'us-east-1': { instances: [ec2Instance('i-00000001')] } } } },
      () => points(14, 0),
      { regions: ['us-east-1', 'ap-east-1'] },
    );
    expect(a.regions.map((r) => [r.region, r.status, r.error?.code])).toEqual([
      ['ap-east-1', 'failed', 'OptInRequired'],
      ['us-east-1', 'ok', undefined],
    ]);
    expect(a.complete).toBe(false);
  });

  it('5,000 instances in one region cost the lower bound of calls per operation', async () => {
    const instances = Array.from({ length: 5000 }, (_, i) => ec2Instance(`i-${(i + 1).toString(16).padStart(8, '0')}`));
    const { a } = await run({ [BASE_ACCOUNT]: { regions: { 'us-east-1': { instances } } } }, () => points(14, 0));
    expect(a.instances).toHaveLength(5000);
    expect(a.instances.every((i) => i.readiness.status === 'ready')).toBe(true);
    const e = env!;
    expect({
      DescribeInstances: e.ec2.commandCalls(DescribeInstancesCommand).length,
      GetMetricData: e.cw.commandCalls(GetMetricDataCommand).length,
      DescribeImages: e.ec2.commandCalls(DescribeImagesCommand).length,
      DescribeLaunchTemplateVersions: e.ec2.commandCalls(DescribeLaunchTemplateVersionsCommand).length,
      GetInstanceMetadataDefaults: e.ec2.commandCalls(GetInstanceMetadataDefaultsCommand).length,
      DescribeAutoScalingGroups: e.asg.commandCalls(DescribeAutoScalingGroupsCommand).length,
    }).toEqual({
      DescribeInstances: 5,
      GetMetricData: 10,
      DescribeImages: 1,
      DescribeLaunchTemplateVersions: 1,
      GetInstanceMetadataDefaults: 1,
      DescribeAutoScalingGroups: 1,
    });
    expect(e.ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.MaxResults).toBe(1000);
  });
});
