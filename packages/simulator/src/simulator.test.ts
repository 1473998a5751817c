import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeRegionsCommand,
  EC2Client,
  GetInstanceMetadataDefaultsCommand,
  ModifyInstanceMetadataOptionsCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rejection } from './__fixtures__/sdk.js';
import { type Simulator, startSimulator } from './index.js';

const prodKey = 'AKIA111111111111TEST';
const devKey = 'AKIA222222222222TEST';
const CANARY = 'i-0c0ffee0000d0e0a1';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let sim: Simulator;
const cfg = (region = 'us-east-1', accessKeyId = prodKey) => ({
  endpoint: sim.url,
  region,
  credentials: { accessKeyId, secretAccessKey: 'x' },
});

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'demo', applyDelayMs: 60_000 });
});
afterAll(async () => sim.stop());
beforeEach(() => sim.setThrottling(false));

function metricQuery(id: string, instanceId: string, metric: string, period: number): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: 'AWS/EC2', MetricName: metric, Dimensions: [{ Name: 'InstanceId', Value: instanceId }] },
      Period: period,
      Stat: 'Sum',
    },
  };
}

async function sumOf(
  cw: CloudWatchClient,
  instanceId: string,
  metric: string,
  fromMs: number,
  toMs: number,
  period = 3600,
): Promise<number> {
  const out = await cw.send(
    new GetMetricDataCommand({
      MetricDataQueries: [metricQuery('m', instanceId, metric, period)],
      StartTime: new Date(fromMs),
      EndTime: new Date(toMs),
    }),
  );
  return (out.MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0);
}

describe('EC2', () => {
  it('pages DescribeInstances at the limits and honours filters', async () => {
    const ec2 = new EC2Client(cfg());
    const ids: string[] = [];
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {})) {
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) ids.push(i.InstanceId!);
    }
    expect(ids.length).toBe(120 + 40 + 15 + 29);
    expect(new Set(ids).size).toBe(ids.length);
    const windows = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'platform', Values: ['windows'] }], MaxResults: 1000 }),
    );
    const winInst = windows.Reservations!.flatMap((r) => r.Instances!);
    expect(winInst).toHaveLength(40);
    expect(winInst[0]!.MetadataOptions).toMatchObject({
      HttpTokens: 'optional',
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'enabled',
      State: 'applied',
    });
    const tagged = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:Application', Values: ['pay*'] },
          { Name: 'metadata-options.http-tokens', Values: ['required'] },
        ],
      }),
    );
    expect(tagged.Reservations!.flatMap((r) => r.Instances!)).toHaveLength(29);
    const stopped = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['stopped'] }] }),
    );
    expect(stopped.Reservations!.flatMap((r) => r.Instances!).every((i) => i.State?.Name === 'stopped')).toBe(true);
  });

  it('rejects what AWS rejects', async () => {
    const ec2 = new EC2Client(cfg());
    expect(await rejection(ec2.send(new DescribeInstancesCommand({ MaxResults: 4 })))).toMatchObject({
      name: 'InvalidParameterValue',
      status: 400,
    });
    expect(await rejection(ec2.send(new DescribeInstancesCommand({ MaxResults: 1001 })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(
      await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))),
    ).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    expect(await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['bogus'] })))).toMatchObject({
      name: 'InvalidInstanceID.Malformed',
    });
    expect(
      await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: [CANARY], MaxResults: 5 }))),
    ).toMatchObject({ name: 'InvalidParameterCombination' });
    expect(
      await rejection(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }))),
    ).toMatchObject({ name: 'InvalidParameterValue' });
    // The canary lives in the dev account: the prod account does not see it.
    expect(
      await rejection(
        ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: CANARY, HttpTokens: 'required' })),
      ),
    ).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    const dev = new EC2Client(cfg('us-east-1', devKey));
    expect(
      await rejection(
        dev.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: CANARY, HttpPutResponseHopLimit: 65 })),
      ),
    ).toMatchObject({ name: 'InvalidParameterValue' });
    expect(
      await rejection(
        dev.send(
          new ModifyInstanceMetadataOptionsCommand({ InstanceId: CANARY, HttpTokens: 'sometimes' as 'required' }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidParameterValue' });
    expect(
      await rejection(new EC2Client(cfg('ap-southeast-2', devKey)).send(new DescribeRegionsCommand({}))),
    ).toMatchObject({ name: 'AuthFailure' });
  });

  it('answers DryRun with 412 DryRunOperation and changes nothing', async () => {
    const dev = new EC2Client(cfg('us-east-1', devKey));
    const r = await rejection(
      dev.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: CANARY, HttpTokens: 'required', DryRun: true })),
    );
    expect(r).toMatchObject({ name: 'DryRunOperation', status: 412 });
    expect(sim.fleet.metadataOptions(CANARY)?.httpTokens).toBe('optional');
  });

  it('reads launch templates, ASGs and account defaults', async () => {
    const ec2 = new EC2Client(cfg());
    const v = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'web-lt', Versions: ['$Default'] }),
    );
    expect(v.LaunchTemplateVersions?.[0]).toMatchObject({
      VersionNumber: 2,
      DefaultVersion: true,
      LaunchTemplateData: { InstanceType: 'm6i.large' },
    });
    const d = await new EC2Client(cfg('eu-west-1')).send(new GetInstanceMetadataDefaultsCommand({}));
    expect(d.AccountLevel).toMatchObject({ HttpPutResponseHopLimit: 2, ManagedBy: 'account' });
    const asg = await new AutoScalingClient(cfg()).send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }),
    );
    expect(asg.AutoScalingGroups?.[0]).toMatchObject({
      AutoScalingGroupName: 'web-asg',
      LaunchTemplate: { LaunchTemplateName: 'web-lt', Version: '$Default' },
    });
    expect(asg.AutoScalingGroups?.[0]?.Instances).toHaveLength(120);
  });
});

describe('identity', () => {
  it('maps keys to accounts and issues keys for other accounts', async () => {
    const sts = new STSClient(cfg());
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe('111111111111');
    const assumed = await sts.send(
      new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/Auditor', RoleSessionName: 's' }),
    );
    const c = assumed.Credentials!;
    const asDev = new STSClient({
      ...cfg(),
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! },
    });
    expect((await asDev.send(new GetCallerIdentityCommand({}))).Account).toBe('222222222222');
    expect(
      await rejection(
        sts.send(
          new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/NoAccessRole', RoleSessionName: 's' }),
        ),
      ),
    ).toMatchObject({ name: 'AccessDenied' });
    const orgs = await new OrganizationsClient(cfg()).send(new ListAccountsCommand({}));
    expect(orgs.Accounts?.map((a) => a.Id)).toEqual(['111111111111', '222222222222']);
  });
});

describe('metrics and enforcement', () => {
  it('moves from pending to applied, and MetadataNoToken gives way to MetadataNoTokenRejected', async () => {
    const cw = new CloudWatchClient(cfg('us-east-1', devKey));
    const dev = new EC2Client(cfg('us-east-1', devKey));
    const now = sim.clock.nowMs();
    // The month-end job is outside the last 14 days but inside 60 days.
    expect(await sumOf(cw, CANARY, 'MetadataNoToken', now - 14 * DAY, now)).toBe(0);
    expect(await sumOf(cw, CANARY, 'MetadataNoToken', now - 60 * DAY, now)).toBe(4);
    const mod = await dev.send(
      new ModifyInstanceMetadataOptionsCommand({ InstanceId: CANARY, HttpTokens: 'required' }),
    );
    expect(mod.InstanceMetadataOptions).toMatchObject({ State: 'pending', HttpTokens: 'required' });
    sim.clock.advance(61_000);
    const after = await dev.send(new DescribeInstancesCommand({ InstanceIds: [CANARY] }));
    expect(after.Reservations![0]!.Instances![0]!.MetadataOptions).toMatchObject({
      State: 'applied',
      HttpTokens: 'required',
    });
    const enforcedAt = sim.clock.nowMs();
    sim.clock.advance(DAY);
    const soakEnd = sim.clock.nowMs();
    expect(await sumOf(cw, CANARY, 'MetadataNoTokenRejected', enforcedAt, soakEnd)).toBe(4);
    expect(await sumOf(cw, CANARY, 'MetadataNoToken', enforcedAt, soakEnd)).toBe(0);
    // The service's clock is in the Date header.
    const res = await fetch(sim.url, { method: 'POST' });
    expect(Math.abs(Date.parse(res.headers.get('date')!) - sim.clock.nowMs())).toBeLessThan(2000);
  });

  it('shows a caller that stopped 20 days ago in the history but not in the last week', async () => {
    const cw = new CloudWatchClient(cfg());
    const web = [...sim.fleet.model.region('111111111111', 'us-east-1')!.instances].find(
      (i) => i.group === 'web' && i.callers.some((c) => c.imds === 'v1'),
    )!;
    const now = sim.clock.nowMs();
    expect(await sumOf(cw, web.id, 'MetadataNoToken', now - 7 * DAY, now)).toBe(0);
    expect(await sumOf(cw, web.id, 'MetadataNoToken', now - 40 * DAY, now, 3600)).toBeGreaterThan(0);
  });

  it('limits GetMetricData to 500 queries, pages at 100,800 datapoints and applies retention', async () => {
    const cw = new CloudWatchClient(cfg('eu-west-1'));
    const api = sim.fleet.model
      .region('111111111111', 'eu-west-1')!
      .instances.filter((i) => i.group === 'api' && i.callers.length > 0);
    expect(api.length).toBeGreaterThan(5);
    const now = sim.clock.nowMs();
    const tooMany = Array.from({ length: 501 }, (_, k) => metricQuery(`q${k}`, api[0]!.id, 'MetadataNoToken', 300));
    expect(
      await rejection(
        cw.send(
          new GetMetricDataCommand({
            MetricDataQueries: tooMany,
            StartTime: new Date(now - DAY),
            EndTime: new Date(now),
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidParameterValueException' });
    // 60 queries x 2,016 five-minute datapoints (7 days) = 120,960 > 100,800: two pages.
    const queries = Array.from({ length: 60 }, (_, k) =>
      metricQuery(`q${k}`, api[k % api.length]!.id, 'MetadataNoToken', 300),
    );
    const first = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: new Date(now - 7 * DAY),
        EndTime: new Date(now),
      }),
    );
    const firstCount = first.MetricDataResults!.reduce((n, r) => n + r.Values!.length, 0);
    expect(firstCount).toBe(100_800);
    expect(first.MetricDataResults!.some((r) => r.StatusCode === 'PartialData')).toBe(true);
    const second = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: new Date(now - 7 * DAY),
        EndTime: new Date(now),
        NextToken: first.NextToken,
      }),
    );
    expect(second.NextToken).toBeUndefined();
    expect(second.MetricDataResults!.every((r) => r.StatusCode === 'Complete')).toBe(true);
    // 1-minute data is kept 15 days: a 1-minute query 20 days back returns nothing.
    expect(await sumOf(cw, api[0]!.id, 'MetadataNoToken', now - 20 * DAY, now - 19 * DAY, 60)).toBe(0);
    expect(await sumOf(cw, api[0]!.id, 'MetadataNoToken', now - 20 * DAY, now - 19 * DAY, 300)).toBeGreaterThan(0);
    expect(
      await rejection(
        cw.send(
          new GetMetricStatisticsCommand({
            Namespace: 'AWS/EC2',
            MetricName: 'MetadataNoToken',
            StartTime: new Date(now - 2 * DAY),
            EndTime: new Date(now),
            Period: 60,
            Statistics: ['Sum'],
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidParameterCombinationException' });
  });
});

describe('SSM', () => {
  it('runs a command through its lifecycle', async () => {
    const ssm = new SSMClient(cfg());
    const info = await ssm.send(
      new DescribeInstanceInformationCommand({
        MaxResults: 50,
        Filters: [{ Key: 'PlatformTypes', Values: ['Windows'] }],
      }),
    );
    expect(info.InstanceInformationList).toHaveLength(40);
    expect(await rejection(ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 51 })))).toMatchObject({
      name: 'ValidationException',
    });
    const ids = info.InstanceInformationList!.slice(0, 3).map((i) => i.InstanceId!);
    sim.setCommandRunner(({ instance, commands }) => ({
      stdout: `${instance.id}:${commands.join(';')}`,
      stderr: '',
      exitCode: instance.id === ids[2] ? 1 : 0,
      durationMs: 10_000,
    }));
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunPowerShellScript',
        InstanceIds: ids,
        Parameters: { commands: ['Get-Date'] },
        MaxErrors: '1',
      }),
    );
    const commandId = sent.Command!.CommandId!;
    expect(
      await rejection(ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: ids[0]! }))),
    ).toMatchObject({ name: 'InvocationDoesNotExist' });
    sim.clock.advance(2000);
    expect(
      (await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: ids[0]! }))).Status,
    ).toBe('InProgress');
    sim.clock.advance(20_000);
    const done = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: ids[0]! }));
    expect(done).toMatchObject({ Status: 'Success', ResponseCode: 0, StandardOutputContent: `${ids[0]!}:Get-Date` });
    const all = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    expect(all.CommandInvocations!.map((i) => i.Status)).toEqual(['Success', 'Success', 'Failed']);
    const legacy = sim.fleet.model.region('111111111111', 'eu-west-1')!.instances.find((i) => !i.ssm.managed)!;
    const ssmEu = new SSMClient(cfg('eu-west-1'));
    expect(
      await rejection(
        ssmEu.send(
          new SendCommandCommand({
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: [legacy.id],
            Parameters: { commands: ['id'] },
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidInstanceId' });
    const many = Array.from({ length: 51 }, (_, k) => `i-${String(k).padStart(17, '0')}`);
    expect(
      await rejection(
        ssm.send(
          new SendCommandCommand({
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: many,
            Parameters: { commands: ['id'] },
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException' });
  });
});

describe('throttling', () => {
  it('throttles with RequestLimitExceeded and the adaptive retry recovers', async () => {
    sim.setThrottling(true);
    sim.counters.reset();
    const ec2 = new EC2Client({ ...cfg('ap-southeast-2'), retryMode: 'adaptive', maxAttempts: 10 });
    // 20 unfiltered describes per burst exceed the 50-token bucket only after a while: send 80.
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 80 }, () => ec2.send(new DescribeInstancesCommand({})).then(() => 'ok')),
    );
    const seconds = (performance.now() - started) / 1000;
    expect(results.every((r) => r === 'ok')).toBe(true);
    const snap = sim.counters.snapshot();
    const throttled = snap.throttled['ec2.DescribeInstances'] ?? 0;
    // The bucket (50, refilled 10 a second on real time) throttles 80 calls that arrive within 3 s. A machine too busy
    // to send them that fast is never throttled, rightly: then only the accounting is checked.
    if (seconds < (80 - 50) / 10) expect(throttled, `80 calls in ${seconds.toFixed(1)} s`).toBeGreaterThan(0);
    expect(snap.calls['ec2.DescribeInstances']).toBe(80 + throttled);
  }, 120_000);
});
