import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataInput } from '@aws-sdk/client-cloudwatch';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeRegionsCommand,
  EC2Client,
  GetInstanceMetadataDefaultsCommand,
  type Instance as Ec2Instance,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients, type AwsClients } from '../clients.js';

/** A fake AWS for unit tests: a few accounts and regions, answered through aws-sdk-client-mock. */
export interface MockRegion {
  instances: Ec2Instance[];
  /** Error name DescribeInstances fails with (region not enabled, access denied). */
  failWith?: string;
  templates?: LaunchTemplateVersion[];
  groups?: { name: string; ltId?: string; version?: string; instanceIds?: string[] }[];
  imdsV2Images?: string[];
  defaultTokens?: 'optional' | 'required';
}
export interface MockAccount {
  regions: Record<string, MockRegion>;
  assumable?: boolean;
}
export type SeriesFn = (instanceId: string, metric: string) => [Date, number][];

export const BASE_ACCOUNT = '111111111111';

/** Instance fixture as EC2 returns it. */
export function ec2Instance(id: string, o: Partial<Ec2Instance> = {}): Ec2Instance {
  return {
    InstanceId: id,
    State: { Name: 'running' },
    LaunchTime: new Date('2026-01-01T00:00:00Z'),
    ImageId: 'ami-00000001',
    InstanceType: 't3.micro',
    Placement: { AvailabilityZone: 'us-east-1a' },
    MetadataOptions: { State: 'applied', HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
    Tags: [{ Key: 'Name', Value: id }],
    ...o,
  };
}

async function who(getClient: () => { config: unknown }): Promise<{ account: string; region: string }> {
  const config = getClient().config as {
    credentials: () => Promise<{ accessKeyId: string }>;
    region: () => Promise<string>;
  };
  const creds = await config.credentials();
  return { account: creds.accessKeyId.slice(4, 16), region: await config.region() };
}

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 }, $fault: 'client' });
}

/** Installs the mocks; returns the mocks (for call counts) and a client factory wired to them. */
export function mockAws(accounts: Record<string, MockAccount>, series: SeriesFn) {
  const ec2 = mockClient(EC2Client);
  const cw = mockClient(CloudWatchClient);
  const asg = mockClient(AutoScalingClient);
  const sts = mockClient(STSClient);
  const org = mockClient(OrganizationsClient);
  const region = async (g: () => { config: unknown }) => {
    const w = await who(g);
    const r = accounts[w.account]?.regions[w.region];
    if (!r) throw awsError('OptInRequired', `region ${w.region} is not enabled for account ${w.account}`);
    if (r.failWith) throw awsError(r.failWith);
    return r;
  };

  sts.on(GetCallerIdentityCommand).callsFake(async (_i, g) => {
    const account = (await who(g)).account;
    return { Account: account, Arn: `arn:aws:iam::${account}:user/test` };
  });
  sts.on(AssumeRoleCommand).callsFake(async (input: { RoleArn: string }) => {
    await Promise.resolve();
    const account = input.RoleArn.split(':')[4]!;
    if (accounts[account]?.assumable === false)
      throw awsError('AccessDenied', `not authorized to assume ${input.RoleArn}`);
    return {
      Credentials: {
        AccessKeyId: `ASIA${account}XXXX`,
        SecretAccessKey: 'x',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3_600_000),
      },
      AssumedRoleUser: {
        AssumedRoleId: `AROA${account}:imdsv2-cutover`,
        Arn: `${input.RoleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/imdsv2-cutover`,
      },
    };
  });
  org.on(ListAccountsCommand).resolves({
    Accounts: Object.keys(accounts).map((Id) => ({ Id, Name: `acct-${Id}`, State: 'ACTIVE' })),
  });
  ec2.on(DescribeRegionsCommand).callsFake(async (_i, g) => ({
    Regions: Object.keys(accounts[(await who(g)).account]?.regions ?? {}).map((RegionName) => ({ RegionName })),
  }));
  ec2.on(DescribeInstancesCommand).callsFake(async (input: { MaxResults?: number; NextToken?: string }, g) => {
    const r = await region(g);
    const start = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? 1000;
    const page = r.instances.slice(start, start + size);
    return {
      Reservations: [{ Instances: page }],
      NextToken: start + size < r.instances.length ? String(start + size) : undefined,
    };
  });
  ec2.on(GetInstanceMetadataDefaultsCommand).callsFake(async (_i, g) => ({
    AccountLevel: (await region(g)).defaultTokens ? { HttpTokens: (await region(g)).defaultTokens } : {},
  }));
  ec2.on(DescribeLaunchTemplateVersionsCommand).callsFake(async (_i, g) => ({
    LaunchTemplateVersions: (await region(g)).templates ?? [],
  }));
  ec2.on(DescribeImagesCommand).callsFake(async (input: { ImageIds: string[] }, g) => {
    const r = await region(g);
    return {
      Images: input.ImageIds.map((ImageId) => ({
        ImageId,
        ImdsSupport: r.imdsV2Images?.includes(ImageId) ? 'v2.0' : undefined,
      })),
    };
  });
  asg.on(DescribeAutoScalingGroupsCommand).callsFake(async (_i, g) => ({
    AutoScalingGroups: ((await region(g)).groups ?? []).map((x) => ({
      AutoScalingGroupName: x.name,
      DesiredCapacity: x.instanceIds?.length ?? 0,
      ...(x.ltId ? { LaunchTemplate: { LaunchTemplateId: x.ltId, Version: x.version ?? '$Default' } } : {}),
      Instances: (x.instanceIds ?? []).map((InstanceId) => ({ InstanceId })),
    })),
  }));
  cw.on(GetMetricDataCommand).callsFake(async (input: GetMetricDataInput, g) => {
    await region(g);
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
        // As CloudWatch does: one datapoint per period of the query (timestamps on period boundaries), summing the
        // points that fall in it.
        const periodMs = (q.MetricStat!.Period ?? 60) * 1000;
        const buckets = new Map<number, number>();
        for (const [t, v] of series(q.MetricStat!.Metric!.Dimensions![0]!.Value!, q.MetricStat!.Metric!.MetricName!)) {
          if (t < input.StartTime! || t >= input.EndTime!) continue;
          const at = Math.floor(t.getTime() / periodMs) * periodMs;
          buckets.set(at, (buckets.get(at) ?? 0) + v);
        }
        const points = [...buckets].sort(([a], [b]) => a - b);
        return {
          Id: q.Id,
          StatusCode: 'Complete',
          Timestamps: points.map(([t]) => new Date(t)),
          Values: points.map(([, v]) => v),
        };
      }),
    };
  });

  const clients: AwsClients = createAwsClients({
    region: 'us-east-1',
    credentials: { accessKeyId: `AKIA${BASE_ACCOUNT}XXXX`, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const restore = () => [ec2, cw, asg, sts, org].forEach((m) => m.restore());
  return { ec2, cw, asg, sts, org, clients, restore };
}
