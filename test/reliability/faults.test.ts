import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Assessment } from '@imdsv2-cutover/core';
import { metricWindow, queryMetrics, type MetricTarget } from '@imdsv2-cutover/aws';
import { bucketSpecs, startSimulator, type FaultConfig, type Simulator } from '@imdsv2-cutover/simulator';
import { useTempDirs } from '@imdsv2-cutover/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assessAll, essence, faultFleet, imdsv2, lostInstances, readAssessment } from './helpers.js';
import { injected, tally } from './tally.js';

const tempDir = useTempDirs('imdsv2-rel-faults-');
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

/** Runs assess over the fault fleet under `faults`; returns the run, the assessment and what the simulator injected. */
async function assessUnder(opts: { faults?: FaultConfig; throttling?: boolean }, extra: string[] = []) {
  sim = await startSimulator({
    scenario: faultFleet(),
    port: 0,
    throttling: opts.throttling ?? false,
    faults: opts.faults,
  });
  const out = await tempDir();
  const r = await imdsv2(assessAll(sim, out, extra));
  const snap = sim.counters.snapshot();
  const a = r.code === 0 || r.code === 1 ? await readAssessment(out) : undefined;
  const lost = a ? lostInstances(sim, a) : [];
  tally({ scenarios: 1, faults: injected(snap), recordsLost: lost.length });
  return { r, a, snap, lost, out };
}

let clean: Assessment;
beforeAll(async () => {
  const { r, a, lost } = await assessUnder({});
  expect(r.code, r.stderr).toBe(0);
  expect(lost).toEqual([]);
  clean = a!;
  expect(clean.instances).toHaveLength(660);
  expect(clean.complete, JSON.stringify([clean.regions, clean.accounts])).toBe(true);
  await sim?.stop();
  sim = undefined;
});

describe('assess under injected faults', () => {
  const saved = { ...bucketSpecs };
  afterAll(() => Object.assign(bucketSpecs, saved));

  it('a throttling storm (about half the calls throttled) gives the same assessment as a clean run', async () => {
    // Scaled down: AWS's storm is "half the calls throttled for a minute"; a run of this fleet makes ~60 calls in a few
    // seconds, so every API's bucket is shrunk to 1 token refilled at 1/s for the whole run, which throttles about
    // a quarter to half of all calls (measured below, at least 25%) while six scopes call at once. What is proven is the same: throttled calls
    // are retried until they succeed and change no result.
    for (const k of Object.keys(bucketSpecs)) bucketSpecs[k] = { size: 1, refillPerSecond: 1 };
    const { r, a, snap, lost } = await assessUnder({ throttling: true });
    Object.assign(bucketSpecs, saved);
    expect(r.code, r.stderr).toBe(0);
    const throttled = Object.values(snap.throttled).reduce((x, y) => x + y, 0);
    expect(throttled / snap.totalCalls, JSON.stringify(snap)).toBeGreaterThanOrEqual(0.25);
    expect(a!.complete, JSON.stringify(a!.regions)).toBe(true);
    expect(lost).toEqual([]);
    expect(essence(a!)).toEqual(essence(clean));
  });

  it('500s, 503s and connection resets on a fifth of all calls are ridden out', async () => {
    const { r, a, snap, lost } = await assessUnder({
      faults: { errorRate: 0.08, unavailableRate: 0.06, resetRate: 0.06, seed: 5 },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(snap.faults.error ?? 0).toBeGreaterThan(0);
    expect(snap.faults.reset ?? 0).toBeGreaterThan(0);
    expect(a!.complete, JSON.stringify(a!.regions)).toBe(true);
    expect(lost).toEqual([]);
    expect(essence(a!)).toEqual(essence(clean));
  });

  it('a region down is recorded as incomplete, the others complete; exit 0, and 1 with --strict', async () => {
    const { r, a, lost } = await assessUnder({ faults: { regionsDown: ['eu-west-1'] } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('INCOMPLETE ASSESSMENT');
    expect(a!.complete).toBe(false);
    const byScope = a!.regions.map((x) => `${x.accountId}/${x.region}:${x.status}`).sort();
    expect(byScope).toEqual([
      '111111111111/ap-southeast-2:ok',
      '111111111111/eu-west-1:failed',
      '111111111111/us-east-1:ok',
      '222222222222/ap-southeast-2:ok',
      '222222222222/eu-west-1:failed',
      '222222222222/us-east-1:ok',
    ]);
    expect(lost).toEqual([]);
    // The complete regions are exactly what a clean run found there.
    const up = (x: Assessment) => ({ ...x, instances: x.instances.filter((i) => i.region !== 'eu-west-1') });
    expect(essence(a!)).toEqual(essence(up(clean)));

    const strict = await imdsv2(assessAll(sim!, await tempDir(), ['--strict']));
    tally({ scenarios: 1, faults: injected(sim!.counters.snapshot()) });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('INCOMPLETE');
  });
});

describe('GetMetricData paging', () => {
  it('PartialData pages are followed to the end and merged into the same series', async () => {
    sim = await startSimulator({ scenario: faultFleet(), port: 0, throttling: false });
    const targets: MetricTarget[] = [...sim.fleet.model.allInstances()]
      .filter((i) => i.account === '111111111111' && i.region === 'us-east-1')
      .map((i) => ({ instanceId: i.id, metric: 'MetadataNoToken' }));
    const window = metricWindow(sim.clock.now(), 14);
    const client = (pageSize?: number) => {
      const cw = new CloudWatchClient({
        endpoint: sim!.url,
        region: 'us-east-1',
        credentials: { accessKeyId: sim!.defaultAccessKeyId, secretAccessKey: 'x' },
      });
      // The tool never asks for small pages (its period is chosen so a batch fits one page); forcing them makes the
      // simulator answer PartialData with a NextToken as CloudWatch does past 100,800 datapoints.
      if (pageSize !== undefined) {
        cw.middlewareStack.add(
          (next) => (args) => {
            (args.input as { MaxDatapoints?: number }).MaxDatapoints = pageSize;
            return next(args);
          },
          { step: 'initialize' },
        );
      }
      return cw;
    };
    const whole = await queryMetrics(client(), targets, window);
    sim.counters.reset();
    const paged = await queryMetrics(client(997), targets, window);
    const calls = sim.counters.get('cloudwatch.GetMetricData');
    const points = [...whole.values()].reduce((n, s) => n + s.values.length, 0);
    tally({ scenarios: 1 });
    expect(points).toBeGreaterThan(997 * 5);
    expect(calls).toBe(Math.ceil(points / 997));
    expect([...paged.entries()]).toEqual([...whole.entries()]);
    expect([...paged.values()].every((s) => s.status === 'Complete')).toBe(true);
  });
});
