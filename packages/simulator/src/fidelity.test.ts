import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeInstancesCommand,
  EC2Client,
  GetInstanceMetadataDefaultsCommand,
  ModifyInstanceMetadataDefaultsCommand,
  ModifyInstanceMetadataOptionsCommand,
} from '@aws-sdk/client-ec2';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { ScenarioInput } from '@imdsv2-cutover/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, bundledScenarios, scenarioFrom, startSimulator } from './index.js';
import { agentTruncate, pluginOutput } from './services/ssm.js';

/**
 * The behaviours docs/simulator-fidelity.md lists for CloudWatch, instance metadata options, Run Command and partitions,
 * each checked through the real SDK clients against small scenarios. The table cites the AWS source of each.
 */
const NOW = '2026-06-01T12:00:00Z';
const MIN = 60_000;
const HOUR = 60 * MIN;
const ACCOUNT = '333333333333';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start(input: Omit<ScenarioInput, 'schema' | 'now' | 'name'> & { now?: string }): Promise<Simulator> {
  sim = await startSimulator({
    scenario: scenarioFrom({
      schema: { name: 'imdsv2-cutover/scenario', version: 1 },
      name: 'fidelity',
      now: NOW,
      ...input,
    }),
    applyDelayMs: 10_000,
    throttling: false,
  });
  return sim;
}

const client = <C>(Ctor: new (c: object) => C, region = 'us-east-1', account = ACCOUNT): C =>
  new Ctor({
    endpoint: sim!.url,
    region,
    credentials: { accessKeyId: `AKIA${account}SIMK`, secretAccessKey: 'x' },
    maxAttempts: 1,
  });

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

const group = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  account: ACCOUNT,
  region: 'us-east-1',
  count: 1,
  launchedAt: '-30d',
  ...extra,
});

/** The datapoints of one instance's metric: [timestamp ms, value]. */
async function series(
  instanceId: string,
  metric: string,
  fromMs: number,
  toMs: number,
  period: number,
  stat = 'Sum',
): Promise<[number, number][]> {
  const out = await client(CloudWatchClient).send(
    new GetMetricDataCommand({
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/EC2',
              MetricName: metric,
              Dimensions: [{ Name: 'InstanceId', Value: instanceId }],
            },
            Period: period,
            Stat: stat,
          },
        },
      ],
      StartTime: new Date(fromMs),
      EndTime: new Date(toMs),
      ScanBy: 'TimestampAscending',
    }),
  );
  const r = out.MetricDataResults![0]!;
  return r.Timestamps!.map((t, i) => [t.getTime(), r.Values![i]!]);
}

const id = (s: Simulator, groupName: string) =>
  s.fleet.model.region(ACCOUNT, 'us-east-1')!.instances.find((i) => i.group === groupName)!.id;

const cloudWatchFleet = {
  regions: ['us-east-1'],
  accounts: [{ id: ACCOUNT, name: 'fidelity' }],
  instanceGroups: [
    group('basic-quiet'),
    group('detailed-quiet', { detailedMonitoring: true }),
    group('basic-v1', { callers: [{ process: { comm: 'curl' }, imds: 'v1' as const, callsPerHour: 12 }] }),
    group('required', {
      metadataOptions: { httpTokens: 'required' as const },
      callers: [{ process: { comm: 'curl' }, imds: 'v1' as const, callsPerHour: 12 }],
    }),
    group('stopped', { state: 'stopped' as const }),
  ],
};

describe('CloudWatch: EC2 metrics as EC2 publishes them', () => {
  it('basic monitoring publishes every 5 minutes, detailed every minute: a 1-minute query shows it', async () => {
    const s = await start(cloudWatchFleet);
    const now = Math.floor(s.clock.nowMs() / HOUR) * HOUR;
    const basic = await series(id(s, 'basic-quiet'), 'MetadataNoToken', now - HOUR, now, 60);
    const detailed = await series(id(s, 'detailed-quiet'), 'MetadataNoToken', now - HOUR, now, 60);
    expect(basic.length).toBeGreaterThanOrEqual(10);
    expect(basic.length).toBeLessThanOrEqual(12);
    expect(basic.every(([t]) => t % (5 * MIN) === 0)).toBe(true);
    expect(detailed.length).toBeGreaterThanOrEqual(55);
    // A 5-minute query of the calling instance sums what its native datapoints hold: 12 calls an hour, 1 per 5 min.
    const calls = await series(id(s, 'basic-v1'), 'MetadataNoToken', now - 2 * HOUR, now - HOUR, 300);
    expect(calls.map(([, v]) => v)).toEqual(Array(12).fill(1));
  });

  it('a quiet running instance publishes zeros; the two IMDS metrics never both; a stopped one nothing', async () => {
    const s = await start(cloudWatchFleet);
    // Whole hours: a query period that the range cuts holds only part of the hour.
    const now = Math.floor(s.clock.nowMs() / HOUR) * HOUR;
    const quiet = await series(id(s, 'basic-quiet'), 'MetadataNoToken', now - 6 * HOUR, now - HOUR, 3600);
    expect(quiet).toHaveLength(5);
    expect(quiet.every(([, v]) => v === 0)).toBe(true);
    expect(await series(id(s, 'basic-quiet'), 'MetadataNoTokenRejected', now - 6 * HOUR, now, 3600)).toEqual([]);
    const req = id(s, 'required');
    expect(await series(req, 'MetadataNoToken', now - 6 * HOUR, now, 3600)).toEqual([]);
    const rejected = await series(req, 'MetadataNoTokenRejected', now - 6 * HOUR, now - HOUR, 3600);
    expect(rejected.map(([, v]) => v)).toEqual([12, 12, 12, 12, 12]);
    expect(await series(id(s, 'stopped'), 'MetadataNoToken', now - 6 * HOUR, now, 3600)).toEqual([]);
  });

  it('with emitZeroDatapoints false a quiet instance publishes nothing (the scenario choice)', async () => {
    const s = await start({ ...cloudWatchFleet, emitZeroDatapoints: false });
    const now = Math.floor(s.clock.nowMs() / HOUR) * HOUR;
    expect(await series(id(s, 'basic-quiet'), 'MetadataNoToken', now - 6 * HOUR, now, 3600)).toEqual([]);
    expect((await series(id(s, 'basic-v1'), 'MetadataNoToken', now - 6 * HOUR, now, 3600)).length).toBeGreaterThan(4);
  });

  it('a datapoint appears only after its period has ended and the ingestion delay has passed', async () => {
    const s = await start({ ...cloudWatchFleet, metricIngestionDelay: '4m' });
    const req = id(s, 'required');
    const t0 = Math.ceil(s.clock.nowMs() / (5 * MIN)) * 5 * MIN;
    s.clock.advance(t0 - s.clock.nowMs());
    const lastAt = async () => (await series(req, 'MetadataNoTokenRejected', t0 - HOUR, t0 + HOUR, 300)).at(-1)?.[0];
    // At t0 the period [t0-5m, t0) ended but is not visible yet; 4 minutes later it is.
    expect(await lastAt()).toBe(t0 - 10 * MIN);
    s.clock.advance(3 * MIN);
    expect(await lastAt()).toBe(t0 - 10 * MIN);
    s.clock.advance(MIN);
    expect(await lastAt()).toBe(t0 - 5 * MIN);
  });

  it('CPUUtilization is published for running instances whatever their IMDS settings, and listed', async () => {
    const s = await start(cloudWatchFleet);
    const now = Math.floor(s.clock.nowMs() / HOUR) * HOUR;
    const cpu = await series(id(s, 'required'), 'CPUUtilization', now - HOUR, now - 10 * MIN, 300, 'Average');
    expect(cpu).toHaveLength(10);
    expect(cpu.every(([, v]) => v >= 2 && v <= 40)).toBe(true);
    expect(await series(id(s, 'stopped'), 'CPUUtilization', now - HOUR, now, 300, 'Average')).toEqual([]);
    const listed = await client(CloudWatchClient).send(
      new ListMetricsCommand({
        Namespace: 'AWS/EC2',
        Dimensions: [{ Name: 'InstanceId', Value: id(s, 'basic-quiet') }],
      }),
    );
    expect(listed.Metrics!.map((m) => m.MetricName).sort()).toEqual(['CPUUtilization', 'MetadataNoToken']);
  });
});

describe('EC2: instance metadata options under the account defaults', () => {
  const enforcedFleet = {
    regions: ['us-east-1', 'eu-west-1'],
    accounts: [
      {
        id: ACCOUNT,
        name: 'fidelity',
        defaults: {
          'us-east-1': { httpTokens: 'required' as const, httpTokensEnforced: 'enabled' as const },
          'eu-west-1': { managedBy: 'declarative-policy' as const, managedExceptionMessage: 'Ask the platform team.' },
        },
      },
    ],
    instanceGroups: [
      group('enforced', { metadataOptions: { httpTokens: 'required' as const } }),
      group('gone', { state: 'terminated' as const }),
    ],
  };

  it('with HttpTokensEnforced, setting tokens optional is UnsupportedOperation; required and the hop limit are not', async () => {
    const s = await start(enforcedFleet);
    const ec2 = client(EC2Client);
    const inst = id(s, 'enforced');
    const refused = await failure(
      ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: inst, HttpTokens: 'optional' })),
    );
    expect(refused).toMatchObject({ name: 'UnsupportedOperation', status: 400 });
    expect(refused.message).toMatch(/httpTokensEnforced is enabled for this account/);
    // DryRun proves permission only: the enforcement is checked on the real call.
    const dry = await failure(
      ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: inst, HttpTokens: 'optional', DryRun: true })),
    );
    expect(dry).toMatchObject({ name: 'DryRunOperation', status: 412 });
    const ok = await ec2.send(
      new ModifyInstanceMetadataOptionsCommand({
        InstanceId: inst,
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 2,
      }),
    );
    expect(ok.InstanceMetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
    const defaults = await ec2.send(new GetInstanceMetadataDefaultsCommand({}));
    expect(defaults.AccountLevel).toMatchObject({ HttpTokens: 'required', HttpTokensEnforced: 'enabled' });
    // Lifting it (as `imdsv2 rollback` may have to) lets optional through again.
    await ec2.send(new ModifyInstanceMetadataDefaultsCommand({ HttpTokensEnforced: 'disabled' }));
    const back = await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: inst, HttpTokens: 'optional' }));
    expect(back.InstanceMetadataOptions?.HttpTokens).toBe('optional');
  });

  it('a terminated instance is listed as terminated (code 48) and cannot be modified', async () => {
    const s = await start(enforcedFleet);
    const ec2 = client(EC2Client);
    const gone = id(s, 'gone');
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [gone] }));
    expect(d.Reservations![0]!.Instances![0]!.State).toEqual({ Code: 48, Name: 'terminated' });
    expect(
      await failure(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: gone, HttpTokens: 'required' }))),
    ).toMatchObject({ name: 'IncorrectInstanceState' });
  });

  it('defaults managed by a declarative policy show the policy’s message and cannot be changed in the account', async () => {
    await start(enforcedFleet);
    const ec2 = client(EC2Client, 'eu-west-1');
    const d = await ec2.send(new GetInstanceMetadataDefaultsCommand({}));
    expect(d.AccountLevel).toMatchObject({
      ManagedBy: 'declarative-policy',
      ManagedExceptionMessage: 'Ask the platform team.',
    });
    const refused = await failure(ec2.send(new ModifyInstanceMetadataDefaultsCommand({ HttpTokens: 'required' })));
    expect(refused).toMatchObject({ name: 'OperationNotPermitted', message: 'Ask the platform team.' });
  });
});

describe('Run Command', () => {
  const ssmFleet = {
    regions: ['us-east-1'],
    accounts: [{ id: ACCOUNT, name: 'fidelity' }],
    instanceGroups: [
      group('ok', { count: 4 }),
      group('broken', { count: 3, ssm: { failCommands: true } }),
      group('unmanaged', { ssm: { managed: false } }),
      group('terminated', { state: 'terminated' as const }),
      group('forbidden', { ssm: { permitted: false } }),
    ],
  };
  const ids = (s: Simulator, g: string) =>
    s.fleet.model
      .region(ACCOUNT, 'us-east-1')!
      .instances.filter((i) => i.group === g)
      .map((i) => i.id);
  const send = (instanceIds: string[], extra: Record<string, unknown> = {}) =>
    client(SSMClient).send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: instanceIds,
        Parameters: { commands: ['echo hi'] },
        ...extra,
      }),
    );

  it.each(['unmanaged', 'terminated', 'forbidden'])(
    'one %s instance fails the whole SendCommand with InvalidInstanceId and creates no command',
    async (bad) => {
      const s = await start(ssmFleet);
      const r = await failure(send([...ids(s, 'ok'), ...ids(s, bad)]));
      expect(r.name).toBe('InvalidInstanceId');
      expect((await client(SSMClient).send(new ListCommandsCommand({}))).Commands).toEqual([]);
    },
  );

  it('past MaxErrors the invocations not yet started end Cancelled with StatusDetails Terminated', async () => {
    const s = await start(ssmFleet);
    const targets = [...ids(s, 'broken'), ...ids(s, 'ok')];
    const sent = await send(targets, { MaxConcurrency: '1', MaxErrors: '1' });
    s.clock.advance(HOUR);
    const list = await client(SSMClient).send(
      new ListCommandInvocationsCommand({ CommandId: sent.Command!.CommandId! }),
    );
    const byId = new Map(list.CommandInvocations!.map((i) => [i.InstanceId!, i]));
    expect(targets.map((t) => `${byId.get(t)!.Status}/${byId.get(t)!.StatusDetails}`)).toEqual([
      'Failed/Failed',
      'Failed/Failed',
      'Cancelled/Terminated',
      'Cancelled/Terminated',
      'Cancelled/Terminated',
      'Cancelled/Terminated',
      'Cancelled/Terminated',
    ]);
  });

  it('cuts output as the agent does: 24,000 with "--output truncated--", 8,000 of stderr, 2,500 in the details', async () => {
    const s = await start(ssmFleet);
    const big = 'x'.repeat(30_000);
    s.setCommandRunner(() => ({ stdout: big, stderr: 'e'.repeat(9000), exitCode: 0, durationMs: 1000 }));
    const [one] = ids(s, 'ok');
    const sent = await send([one!]);
    s.clock.advance(MIN);
    const inv = await client(SSMClient).send(
      new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: one! }),
    );
    expect(inv.StandardOutputContent).toHaveLength(24_000);
    expect(inv.StandardOutputContent!.endsWith('--output truncated--')).toBe(true);
    expect(inv.StandardErrorContent).toHaveLength(8000);
    const details = await client(SSMClient).send(
      new ListCommandInvocationsCommand({ CommandId: sent.Command!.CommandId!, Details: true }),
    );
    const output = details.CommandInvocations![0]!.CommandPlugins![0]!.Output!;
    expect(output.length).toBeLessThanOrEqual(2500);
    expect(output).toContain('\n---Output truncated---\n----------ERROR-------\n');
    expect(output.endsWith('\n---Error truncated----')).toBe(true);
  });

  it('the agent’s output rules, case by case', () => {
    expect(agentTruncate('a'.repeat(23_999))).toHaveLength(23_999);
    expect(agentTruncate('a'.repeat(24_000))).toBe(`${'a'.repeat(23_980)}--output truncated--`);
    expect(pluginOutput('out', '')).toBe('out');
    expect(pluginOutput('out', 'err')).toBe('out\n----------ERROR-------\nerr');
    const title = '\n----------ERROR-------\n';
    const out = '\n---Output truncated---';
    const err = '\n---Error truncated----';
    const room = 2500 - title.length;
    expect(pluginOutput('o'.repeat(3000), 'e')).toBe(`${'o'.repeat(room - out.length - 1)}${out}${title}e`);
    expect(pluginOutput('o', 'e'.repeat(3000))).toBe(`o${title}${'e'.repeat(room - err.length - 1)}${err}`);
    const half = Math.floor((room - out.length - err.length) / 2);
    expect(pluginOutput('o'.repeat(3000), 'e'.repeat(3000))).toBe(
      `${'o'.repeat(half)}${out}${title}${'e'.repeat(half)}${err}`,
    );
    expect(pluginOutput('o'.repeat(3000), 'e'.repeat(3000)).length).toBeLessThanOrEqual(2500);
  });

  it('a document and its parameters over 64 KB are MaxDocumentSizeExceeded', async () => {
    const s = await start(ssmFleet);
    const r = await failure(
      client(SSMClient).send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ids(s, 'ok'),
          Parameters: { commands: ['x'.repeat(65_000)] },
        }),
      ),
    );
    expect(r).toMatchObject({ name: 'MaxDocumentSizeExceeded' });
  });
});

describe('bundled scenarios', () => {
  it.each(bundledScenarios.filter((n) => !n.startsWith('large-')))('%s loads and serves its fleet', async (name) => {
    sim = await startSimulator({ scenario: name, port: 0, live: false });
    expect(sim.fleet.instanceCount).toBeGreaterThan(0);
  });
});

describe('partitions', () => {
  const CN = '444444444444';
  const CN2 = '555555555555';
  const cnFleet = {
    regions: ['cn-north-1', 'cn-northwest-1'],
    accounts: [
      { id: CN, name: 'cn-management' },
      { id: CN2, name: 'cn-member' },
    ],
    instanceGroups: [{ ...group('web'), account: CN2, region: 'cn-north-1' }],
  };

  it('an account in aws-cn gets aws-cn ARNs, and a role ARN of another partition is refused', async () => {
    await start(cnFleet);
    const sts = client(STSClient, 'cn-north-1', CN);
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws-cn:iam::${CN}:user/simulator`);
    const wrong = await failure(
      sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${CN2}:role/Audit`, RoleSessionName: 's' })),
    );
    expect(wrong).toMatchObject({ name: 'AccessDenied' });
    const ok = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws-cn:iam::${CN2}:role/Audit`, RoleSessionName: 's' }),
    );
    expect(ok.AssumedRoleUser!.Arn).toBe(`arn:aws-cn:sts::${CN2}:assumed-role/Audit/s`);
    const orgs = await client(OrganizationsClient, 'cn-north-1', CN).send(new ListAccountsCommand({}));
    expect(orgs.Accounts!.every((a) => a.Arn!.startsWith('arn:aws-cn:organizations::'))).toBe(true);
    const inst = await client(EC2Client, 'cn-north-1', CN2).send(new DescribeInstancesCommand({}));
    expect(inst.Reservations![0]!.Instances![0]!.IamInstanceProfile!.Arn).toMatch(/^arn:aws-cn:iam::/);
  });

  it('an account with regions in two partitions is a scenario error naming the account', () => {
    expect(() =>
      scenarioFrom({
        schema: { name: 'imdsv2-cutover/scenario', version: 1 },
        name: 'two-partitions',
        now: NOW,
        regions: ['us-east-1', 'cn-north-1'],
        accounts: [{ id: CN, name: 'both' }],
      }),
    ).toThrow(/accounts\[0\].*one partition.*aws, aws-cn/);
  });
});
