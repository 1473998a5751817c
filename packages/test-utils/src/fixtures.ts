import type { Assessment, Instance, MetricEvidence, ProbeReport, ReadinessStatus } from '@imdsv2-cutover/core';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** The fixed "now" of fixtures, so that files built from them are byte-identical across runs. */
export const FIXTURE_NOW = '2026-11-20T12:00:00.000Z';
const DAY = 86_400_000;

function isoDaysBefore(days: number, from = FIXTURE_NOW): string {
  return new Date(Date.parse(from) - days * DAY).toISOString();
}

/** Metric evidence with `total` IMDSv1 calls spread over the last `days` days (unknown when total is null). */
export function makeMetric(
  total: number | null,
  days = 14,
  metric: MetricEvidence['metric'] = 'MetadataNoToken',
): MetricEvidence {
  const windowEnd = FIXTURE_NOW;
  const windowStart = isoDaysBefore(days);
  if (total === null) {
    return {
      metric,
      status: 'unknown',
      unknownReason: 'no-datapoints',
      total: null,
      lastNonZeroAt: null,
      daysWithData: 0,
      windowStart,
      windowEnd,
      periodSeconds: 300,
      daily: [],
    };
  }
  const daily = Array.from({ length: days }, (_, i) => ({
    date: isoDaysBefore(days - i).slice(0, 10),
    sum: i === days - 1 ? total - Math.floor(total / days) * (days - 1) : Math.floor(total / days),
  }));
  return {
    metric,
    status: 'observed',
    total,
    lastNonZeroAt: total > 0 ? isoDaysBefore(0.1) : null,
    daysWithData: days,
    observedSeconds: days * 86_400,
    windowStart,
    windowEnd,
    periodSeconds: 300,
    daily,
  };
}

/** A running Linux instance with tokens optional, no IMDSv1 calls over 14 days, and `ready` readiness. */
export function makeInstance(overrides: Partial<Instance> = {}): Instance {
  return {
    instanceId: 'i-0000000000000001',
    accountId: '111111111111',
    region: 'us-east-1',
    availabilityZone: 'us-east-1a',
    name: 'web-1',
    tags: { Name: 'web-1', Environment: 'dev', Application: 'web', Owner: 'team-web' },
    state: 'running',
    launchTime: isoDaysBefore(90),
    platform: 'linux',
    instanceType: 't3.micro',
    imageId: 'ami-0000000000000001',
    metadataOptions: {
      state: 'applied',
      httpTokens: 'optional',
      httpPutResponseHopLimit: 1,
      httpEndpoint: 'enabled',
      httpProtocolIpv6: 'disabled',
      instanceMetadataTags: 'disabled',
    },
    ssm: { managed: true, pingStatus: 'Online', platformType: 'Linux', agentVersion: '3.3.0.0' },
    metrics: { noToken: makeMetric(0) },
    probe: { outcome: 'not-probed' },
    containerHost: null,
    readiness: {
      status: 'ready',
      reasons: [{ code: 'no-imdsv1-calls', severity: 'info', message: 'No IMDSv1 calls in 14 days of data.' }],
    },
    ...overrides,
  };
}

/** A probe report naming one IMDSv1 caller and one outdated package. */
export function makeProbeReport(overrides: Partial<ProbeReport> = {}): ProbeReport {
  return {
    schema: { name: 'imdsv2-cutover/probe-report', version: 1 },
    formatVersion: 1,
    probeVersion: '0.1.0',
    status: 'ok',
    problems: [],
    host: { hostname: 'ip-10-0-0-1', platform: 'linux', os: 'Amazon Linux 2023', kernel: '6.1.0' },
    tracer: 'bpftrace',
    windowSeconds: 60,
    v1Callers: [
      {
        pid: 4242,
        comm: 'python3',
        exe: '/usr/bin/python3.9',
        argv: '/usr/bin/python3 /opt/backup/backup.py --bucket prod-backups',
        user: 'backup',
        parents: [{ pid: 1, comm: 'systemd' }],
        requests: 12,
        paths: ['/latest/meta-data/iam/security-credentials/'],
        evidence: 'confirmed',
      },
    ],
    v2Callers: [],
    tokenRequests: 0,
    undecidedRequests: 0,
    notes: [],
    packages: [
      {
        ecosystem: 'python',
        name: 'botocore',
        version: '1.12.0',
        path: '/usr/lib/python3.9/site-packages/botocore',
        minimumVersion: '1.13.25',
        status: 'outdated',
        advice: 'upgrade botocore to 1.13.25 or later',
      },
    ],
    containers: { detected: false, runtimes: [] },
    ...overrides,
  };
}

/** An assessment holding `instances`, with the accounts and regions they name. */
export function makeAssessment(instances: Instance[], overrides: Partial<Assessment> = {}): Assessment {
  const accounts = [...new Set(instances.map((i) => i.accountId))].sort();
  const pairs = [...new Set(instances.map((i) => `${i.accountId}/${i.region}`))].sort();
  return {
    schema: { name: 'imdsv2-cutover/assessment', version: 1 },
    id: 'assessment-fixture',
    createdAt: FIXTURE_NOW,
    tool: { name: 'imdsv2-cutover', version: '0.1.0' },
    scope: {
      accounts,
      regions: [...new Set(instances.map((i) => i.region))].sort(),
      organization: false,
      lookbackDays: 14,
      minObservationDays: 7,
      probe: 'suspects',
    },
    complete: true,
    accounts: accounts.map((accountId) => ({ accountId, status: 'ok' as const })),
    regions: pairs.map((p) => {
      const [accountId, region] = p.split('/') as [string, string];
      return { accountId, region, status: 'ok' as const, accountDefaults: null };
    }),
    instances,
    launchTemplates: [],
    autoScalingGroups: [],
    images: [],
    ...overrides,
  };
}

export interface FleetOptions {
  count: number;
  seed?: number;
  accounts?: string[];
  regions?: string[];
  /** Share of instances per readiness status; the rest are `ready`. */
  shares?: Partial<Record<Exclude<ReadinessStatus, 'ready'>, number>>;
}

const ENVS = ['dev', 'test', 'staging', 'prod'];
const APPS = ['web', 'api', 'batch', 'search', 'billing', 'etl', 'auth', 'reports'];

/**
 * A deterministic synthetic fleet of `count` instances across accounts and regions, with a realistic mix of readiness
 * statuses, ASGs, environments, owners, container hosts and probe findings. For tests and benchmarks of the pure
 * stages (plan, report, diff); the simulator generates fleets for the AWS-facing stages.
 */
export function generateFleet(options: FleetOptions): Assessment {
  const rng = xoroshiro128plus(options.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[uniformInt(rng, 0, xs.length - 1)]!;
  const accounts = options.accounts ?? ['111111111111', '222222222222'];
  const regions = options.regions ?? ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
  const shares = { enforced: 0.2, blocked: 0.1, unknown: 0.08, 'imds-disabled': 0.01, excluded: 0, ...options.shares };
  const instances: Instance[] = [];
  for (let n = 0; n < options.count; n++) {
    const instanceId = `i-${(0x1000000000000 + n).toString(16).padStart(17, '0')}`;
    const env = pick(ENVS);
    const app = pick(APPS);
    const inAsg = uniformInt(rng, 0, 9) < 6;
    const asg = inAsg ? `${app}-${env}-asg-${uniformInt(rng, 1, 3)}` : undefined;
    const roll = uniformInt(rng, 0, 9999) / 10000;
    let status: ReadinessStatus = 'ready';
    let acc = 0;
    for (const [s, share] of Object.entries(shares) as [ReadinessStatus, number][]) {
      acc += share;
      if (roll < acc) {
        status = s;
        break;
      }
    }
    const container = uniformInt(rng, 0, 9) < 2;
    const name = `${app}-${env}-${n}`;
    const base = makeInstance({
      instanceId,
      accountId: pick(accounts),
      region: pick(regions),
      name,
      tags: { Name: name, Environment: env, Application: app, Owner: `team-${app}` },
      autoScalingGroup: asg,
      containerHost: container,
    });
    const i: Instance = { ...base };
    switch (status) {
      case 'enforced':
        i.metadataOptions = {
          ...i.metadataOptions,
          httpTokens: 'required',
          httpPutResponseHopLimit: container ? 2 : 1,
        };
        i.metrics = { noToken: makeMetric(null), noTokenRejected: makeMetric(0, 14, 'MetadataNoTokenRejected') };
        i.readiness = {
          status,
          reasons: [{ code: 'tokens-required', severity: 'info', message: 'HttpTokens is already required.' }],
        };
        break;
      case 'blocked': {
        const calls = uniformInt(rng, 1, 5000);
        i.metrics = { noToken: makeMetric(calls) };
        i.probe = {
          outcome: 'ok',
          report: makeProbeReport({ containers: { detected: container, runtimes: container ? ['docker'] : [] } }),
        };
        i.readiness = {
          status,
          reasons: [
            { code: 'imdsv1-calls-seen', severity: 'blocker', message: `${calls} IMDSv1 calls in the last 14 days.` },
            {
              code: 'v1-caller-found',
              severity: 'blocker',
              message: 'python3 (/opt/backup/backup.py) makes IMDSv1 calls.',
              remediation: 'upgrade botocore to 1.13.25 or later',
            },
          ],
        };
        break;
      }
      case 'unknown':
        i.metrics = { noToken: makeMetric(null) };
        i.readiness = {
          status,
          reasons: [
            { code: 'no-metric-data', severity: 'blocker', message: 'No MetadataNoToken datapoints in the window.' },
          ],
        };
        break;
      case 'imds-disabled':
        i.metadataOptions = { ...i.metadataOptions, httpEndpoint: 'disabled' };
        i.readiness = {
          status,
          reasons: [{ code: 'endpoint-disabled', severity: 'info', message: 'The metadata endpoint is disabled.' }],
        };
        break;
      case 'excluded':
        i.readiness = { status, reasons: [{ code: 'excluded', severity: 'info', message: 'Excluded by policy.' }] };
        break;
      case 'ready':
        break;
    }
    instances.push(i);
  }
  return makeAssessment(instances);
}
