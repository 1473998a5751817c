import type { Assessment } from '@imdsv2-cutover/core';
import { bucketSpecs, scenarioFrom, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { imdsv2, readAssessment } from './assess-helpers.js';

const tempDir = useTempDirs('imdsv2-assess-calls-');
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

/**
 * What must not depend on throttling: every instance's readiness and the evidence behind it. Totals are left out:
 * continuous callers keep calling while the slower run is under way, so the current period's sum grows.
 */
function essence(a: Assessment) {
  return a.instances.map((i) => ({
    id: i.instanceId,
    status: i.readiness.status,
    reasons: i.readiness.reasons.map((r) => r.code),
    evidence: i.metrics.noToken.status,
    days: i.metrics.noToken.daysWithData,
  }));
}

/** One account, one region, `n` instances: 80% tokens optional (a tenth calling IMDSv1), 10% in an ASG, 10% enforced. */
function fleet(n: number) {
  return scenarioFrom({
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: 'calls-5k',
    now: '2025-06-30T06:00:00Z',
    regions: ['us-east-1'],
    accounts: [{ id: '111111111111', name: 'prod' }],
    images: [{ id: 'ami-0a1b2c3d4e5f60001', account: '111111111111', region: 'us-east-1', name: 'al2023' }],
    launchTemplates: [
      {
        name: 'app-lt',
        account: '111111111111',
        region: 'us-east-1',
        versions: [{ imageId: 'ami-0a1b2c3d4e5f60001' }],
      },
    ],
    autoScalingGroups: [
      { name: 'asg', account: '111111111111', region: 'us-east-1', launchTemplate: { name: 'app-lt' } },
    ],
    instanceGroups: [
      {
        name: 'app',
        account: '111111111111',
        region: 'us-east-1',
        count: n * 0.8,
        imageId: 'ami-0a1b2c3d4e5f60001',
        callers: [{ process: { comm: 'aws', user: 'root' }, imds: 'v1', callsPerHour: 2, share: 0.1 }],
      },
      {
        name: 'asg-members',
        account: '111111111111',
        region: 'us-east-1',
        count: n * 0.1,
        autoScalingGroup: 'asg',
        launchTemplate: { name: 'app-lt' },
      },
      {
        name: 'enforced',
        account: '111111111111',
        region: 'us-east-1',
        count: n * 0.1,
        imageId: 'ami-0a1b2c3d4e5f60001',
        metadataOptions: { httpTokens: 'required' },
      },
    ],
  });
}

describe('assess API efficiency and throttling', () => {
  it('5,000 instances: calls per operation are the lower bound', async () => {
    const n = 5000;
    const scenario = fleet(n);
    sim = await startSimulator({ scenario, port: 0, throttling: false });
    const out = await tempDir();
    // Discovery and measurement only: probing has its own call-count test (packages/aws/src/probe-fleet).
    const r = await imdsv2([
      'assess',
      '--endpoint-url',
      sim.url,
      '--regions',
      'us-east-1',
      '--probe',
      'none',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const a = await readAssessment(out);
    expect(a.instances).toHaveLength(n);
    const templates = a.launchTemplates.length;
    expect(templates).toBe(1);
    // Lower bounds: pages of 1000 instances, 500 metric series per call (4,500 MetadataNoToken + 500
    // MetadataNoTokenRejected), one page of ASGs, one DescribeImages batch (1 image), one defaults call.
    // Launch templates: one account-wide DescribeLaunchTemplateVersions ($Default and $Latest of every template) per
    // 200 versions.
    expect(sim.counters.snapshot().calls).toEqual({
      'sts.GetCallerIdentity': 1,
      'ec2.DescribeInstances': Math.ceil(n / 1000),
      'cloudwatch.GetMetricData': Math.ceil(n / 500),
      'ec2.GetInstanceMetadataDefaults': 1,
      'autoscaling.DescribeAutoScalingGroups': 1,
      'ec2.DescribeImages': 1,
      'ec2.DescribeLaunchTemplateVersions': Math.ceil((2 * templates) / 200),
    });
  });

  it('heavy throttling gives the same assessment as a clean run, only slower', async () => {
    sim = await startSimulator({ scenario: fleet(2000), port: 0, throttling: false });
    const cleanDir = await tempDir();
    const args = (url: string) => ['assess', '--endpoint-url', url, '--regions', 'us-east-1', '--probe', 'none'];
    const clean = await imdsv2([...args(sim.url), '--out', cleanDir]);
    expect(clean.code, clean.stderr).toBe(0);
    await sim.stop();

    const saved = { ...bucketSpecs };
    Object.assign(bucketSpecs, {
      // A tenth of AWS's EC2 refill rate and a fiftieth of CloudWatch's.
      'ec2.describe': { size: 5, refillPerSecond: 2 },
      'cloudwatch.GetMetricData': { size: 1, refillPerSecond: 1 },
      'autoscaling.describe': { size: 1, refillPerSecond: 1 },
      'sts.all': { size: 1, refillPerSecond: 1 },
    });
    try {
      sim = await startSimulator({ scenario: fleet(2000), port: 0, throttling: true });
      const throttledDir = await tempDir();
      const throttled = await imdsv2([...args(sim.url), '--out', throttledDir]);
      expect(throttled.code, throttled.stderr).toBe(0);
      const snap = sim.counters.snapshot();
      const throttledCalls = Object.values(snap.throttled).reduce((x, y) => x + y, 0);
      expect(throttledCalls).toBeGreaterThanOrEqual(4);
      const [a, b] = [await readAssessment(cleanDir), await readAssessment(throttledDir)];
      expect(b.complete, JSON.stringify(b.regions)).toBe(true);
      expect(essence(b)).toEqual(essence(a));
    } finally {
      Object.assign(bucketSpecs, saved);
    }
  });
});
