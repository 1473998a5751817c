import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeInstancesCommand,
  EC2Client,
  GetInstanceMetadataDefaultsCommand,
  ModifyInstanceMetadataOptionsCommand,
} from '@aws-sdk/client-ec2';
import type { MetadataSettings, Plan, PlanEntry, Wave } from '@imdsv2-cutover/core';
import { mockClient } from 'aws-sdk-client-mock';
import { computePlanHash } from '../preflight.js';
import type { ClientsFor } from '../types.js';

export const ACCOUNT = '111111111111';
export const REGION = 'us-east-1';
export const ORIGINAL: MetadataSettings = {
  httpTokens: 'optional',
  httpPutResponseHopLimit: 1,
  httpEndpoint: 'enabled',
};
export const TARGET: MetadataSettings = { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' };

interface FakeInstance {
  state: string;
  settings: MetadataSettings;
  metadataState: 'pending' | 'applied';
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client' });
}

export function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

/**
 * An in-memory EC2 + CloudWatch behind aws-sdk-client-mock, for unit tests before the simulator: DescribeInstances
 * with the instance-id filter, ModifyInstanceMetadataOptions (DryRun answers DryRunOperation; a change is `pending`
 * until the next describe), and MetadataNoTokenRejected for instances whose IMDSv1 caller breaks once tokens are
 * required.
 */
export class FakeFleet {
  readonly instances = new Map<string, FakeInstance>();
  /** Instances with an IMDSv1 caller: each poll reports this many rejected calls while tokens are required. */
  readonly breakers = new Map<string, number>();
  modifyCalls: { id: string; dryRun: boolean }[] = [];
  describeCalls = 0;
  metricCalls = 0;
  denyDryRun = false;
  failModify: (id: string) => Error | undefined = () => undefined;
  /** Makes the change, then fails the call with this error: an answer lost after EC2 applied it. */
  applyThenFail: (id: string) => Error | undefined = () => undefined;
  readonly ec2 = new EC2Client({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly cw = new CloudWatchClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly asg = new AutoScalingClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly clients: ClientsFor = { ec2: () => this.ec2, cloudwatch: () => this.cw, autoScaling: () => this.asg };
  readonly ec2Mock = mockClient(this.ec2);
  readonly cwMock = mockClient(this.cw);

  constructor(count: number) {
    for (let i = 1; i <= count; i++) {
      this.instances.set(instanceId(i), { state: 'running', settings: { ...ORIGINAL }, metadataState: 'applied' });
    }
    this.ec2Mock
      .on(DescribeInstancesCommand)
      .callsFake((input: { Filters?: { Name?: string; Values?: string[] }[] }) => {
        this.describeCalls++;
        const ids = input.Filters?.find((f) => f.Name === 'instance-id')?.Values ?? [];
        const found = ids.flatMap((id) => {
          const i = this.instances.get(id);
          if (!i) return [];
          const out = {
            InstanceId: id,
            State: { Name: i.state },
            MetadataOptions: {
              State: i.metadataState,
              HttpTokens: i.settings.httpTokens,
              HttpPutResponseHopLimit: i.settings.httpPutResponseHopLimit,
              HttpEndpoint: i.settings.httpEndpoint,
            },
          };
          i.metadataState = 'applied';
          return [out];
        });
        return { Reservations: found.length > 0 ? [{ Instances: found }] : [] };
      });
    // No account defaults set (every option "no preference"): HttpTokensEnforced does not stand in the way.
    this.ec2Mock.on(GetInstanceMetadataDefaultsCommand).resolves({ AccountLevel: { ManagedBy: 'account' } });
    this.ec2Mock
      .on(ModifyInstanceMetadataOptionsCommand)
      .callsFake(
        (input: {
          InstanceId: string;
          DryRun?: boolean;
          HttpTokens?: string;
          HttpPutResponseHopLimit?: number;
          HttpEndpoint?: string;
        }) => {
          this.modifyCalls.push({ id: input.InstanceId, dryRun: !!input.DryRun });
          if (input.DryRun) {
            if (this.denyDryRun)
              throw awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.');
            throw awsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
          }
          const failure = this.failModify(input.InstanceId);
          if (failure) throw failure;
          const i = this.instances.get(input.InstanceId);
          if (!i) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceId}' does not exist`);
          i.settings = {
            httpTokens: (input.HttpTokens ?? i.settings.httpTokens) as MetadataSettings['httpTokens'],
            httpPutResponseHopLimit: input.HttpPutResponseHopLimit ?? i.settings.httpPutResponseHopLimit,
            httpEndpoint: (input.HttpEndpoint ?? i.settings.httpEndpoint) as MetadataSettings['httpEndpoint'],
          };
          i.metadataState = 'pending';
          const lost = this.applyThenFail(input.InstanceId);
          if (lost) throw lost;
          return { InstanceId: input.InstanceId, InstanceMetadataOptions: { State: 'pending' } };
        },
      );
    // As EC2 publishes with zeros: one datapoint per period over the whole window asked, newest first; the rejected
    // calls of a breaking instance in the newest one. CPUUtilization (the guard's data watermark) likewise.
    this.cwMock.on(GetMetricDataCommand).callsFake(
      (input: {
        StartTime?: Date;
        EndTime?: Date;
        MetricDataQueries: {
          Id: string;
          Label?: string;
          MetricStat?: { Period?: number; Metric?: { MetricName?: string; Dimensions?: { Value?: string }[] } };
        }[];
      }) => {
        this.metricCalls++;
        return {
          MetricDataResults: input.MetricDataQueries.map((q) => {
            const id = q.MetricStat?.Metric?.Dimensions?.[0]?.Value ?? '';
            const i = this.instances.get(id);
            const rejected = q.MetricStat?.Metric?.MetricName === 'MetadataNoTokenRejected';
            const calls = rejected && i?.settings.httpTokens === 'required' ? (this.breakers.get(id) ?? 0) : 0;
            const periodMs = (q.MetricStat?.Period ?? 300) * 1000;
            const start = input.StartTime ? input.StartTime.getTime() : Date.now() - periodMs;
            const end = input.EndTime ? input.EndTime.getTime() : Date.now();
            const timestamps: Date[] = [];
            for (let t = Math.floor(start / periodMs) * periodMs; t < end; t += periodMs)
              timestamps.unshift(new Date(t));
            const cpu = q.MetricStat?.Metric?.MetricName === 'CPUUtilization' ? 1 : 0;
            const values = timestamps.map((_, k) => (k === 0 ? calls : 0) + cpu);
            return { Id: q.Id, Label: q.Label, StatusCode: 'Complete', Values: values, Timestamps: timestamps };
          }),
        };
      },
    );
  }

  realModifies(): number {
    return this.modifyCalls.filter((c) => !c.dryRun).length;
  }

  restore(): void {
    this.ec2Mock.restore();
    this.cwMock.restore();
  }
}

export function entry(n: number, overrides: Partial<PlanEntry> = {}): PlanEntry {
  return {
    instanceId: instanceId(n),
    accountId: ACCOUNT,
    region: REGION,
    planned: { state: 'applied', ...ORIGINAL, httpProtocolIpv6: 'disabled', instanceMetadataTags: 'disabled' },
    target: { ...TARGET },
    notes: [],
    ...overrides,
  };
}

/** A plan with waves of consecutive instances (sizes given), hashed like `imdsv2 plan` does. */
export function makePlan(
  sizes: number[],
  options: { soakSeconds?: number; maxRejectedCalls?: number; rollback?: 'instance' | 'wave'; createdAt?: string } = {},
): Plan {
  let n = 0;
  const waves: Wave[] = sizes.map((size, index) => ({
    index,
    name: index === 0 ? 'canary' : `wave-${index}`,
    kind: index === 0 ? 'canary' : 'rollout',
    soakSeconds: options.soakSeconds ?? 0,
    startOffsetSeconds: 0,
    guard: { maxRejectedCalls: options.maxRejectedCalls ?? 0, rollback: options.rollback ?? 'wave' },
    instances: Array.from({ length: size }, () => entry(++n)),
  }));
  const plan = {
    schema: { name: 'imdsv2-cutover/plan', version: 1 },
    tool: { name: 'imdsv2-cutover', version: '0.1.0' },
    assessment: { id: 'a1', createdAt: options.createdAt ?? new Date().toISOString(), sha256: 'a'.repeat(64) },
    policy: {} as Plan['policy'],
    policySha256: 'b'.repeat(64),
    waves,
    held: [],
    lockIn: [],
    manualLockIn: [],
    scp: null,
    startDate: null,
    notes: [],
    contentHash: '',
  } as Plan;
  plan.contentHash = computePlanHash(plan);
  return plan;
}
