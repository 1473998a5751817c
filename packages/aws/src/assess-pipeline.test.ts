import { RecordingReporter } from '@imdsv2-cutover/core';
import { organizationScenario, scenarioFrom, startSimulator, type Simulator } from '@imdsv2-cutover/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { assess } from './assess.js';
import { CallLimits } from './call-limits.js';
import { createAwsClients } from './clients.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const tool = { name: 'imdsv2-cutover', version: '0.0.0-test' };

async function run(shape: Parameters<typeof organizationScenario>[0], latency: string, o: { org?: boolean } = {}) {
  sim = await startSimulator({ scenario: scenarioFrom(organizationScenario(shape)), throttling: true, latency });
  const clients = createAwsClients({
    region: 'us-east-1',
    endpointUrl: sim.url,
    credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
  });
  const reporter = new RecordingReporter();
  const limits = new CallLimits({ perService: 4, perAccount: 3 });
  try {
    const a = await assess({
      clients,
      regions: shape?.regions ?? ['us-east-1'],
      lookbackDays: 14,
      minObservationDays: 7,
      tool,
      reporter,
      limits,
      ...(o.org ? { organization: true, roleName: 'Audit' } : {}),
    });
    return { a, reporter, limits };
  } finally {
    clients.destroy();
  }
}

describe('pipelined assess', () => {
  it('measures the first 500 instances while later DescribeInstances pages are still coming', async () => {
    const { a, reporter } = await run(
      { accounts: 1, regions: ['us-east-1'], instancesPerRegion: 3000 },
      'ec2.DescribeInstances=400,cloudwatch.GetMetricData=50,*=20',
    );
    expect(a.instances).toHaveLength(3000);
    const progress = reporter.ofType('progress');
    const lastPage = progress.findIndex((e) => e.phase === 'discover' && e.done === 3000);
    const firstBatch = progress.findIndex((e) => e.phase === 'measure');
    expect(lastPage).toBeGreaterThan(0);
    expect(firstBatch).toBeGreaterThanOrEqual(0);
    expect(firstBatch).toBeLessThan(lastPage);
    // And the series measured then are the ones of the first page: evidence for every instance in the end.
    expect(a.instances.filter((i) => i.metrics.noToken.unknownReason === 'query-failed')).toEqual([]);
  });

  it('an organization: every account and region, within the call limits, with progress by regions and accounts', async () => {
    const regions = ['us-east-1', 'eu-west-1'];
    const { a, reporter, limits } = await run(
      { accounts: 12, regions, instancesPerRegion: 10 },
      '*=30,ec2.DescribeInstances=60+1',
      { org: true },
    );
    expect(a.complete).toBe(true);
    expect(a.accounts).toHaveLength(12);
    expect(a.regions).toHaveLength(24);
    expect(a.instances).toHaveLength(240);
    const peak = limits.peak();
    expect(Math.max(...Object.values(peak.perService))).toBeLessThanOrEqual(4);
    expect(peak.perAccount).toBeLessThanOrEqual(3);
    const overall = reporter.ofType('progress').filter((e) => e.phase === 'assess');
    expect(overall.at(-1)).toMatchObject({
      done: 24,
      total: 24,
      unit: 'regions',
      also: { done: 12, total: 12, unit: 'accounts' },
    });
    // Counts only grow.
    for (let k = 1; k < overall.length; k++) {
      expect(overall[k]!.done).toBeGreaterThanOrEqual(overall[k - 1]!.done);
      expect(overall[k]!.also!.done).toBeGreaterThanOrEqual(overall[k - 1]!.also!.done);
    }
  });
});
