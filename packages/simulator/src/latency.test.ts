import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsLatencyModel, modelledLatencyMs, parseLatencyModel } from './latency.js';
import { type Simulator, startSimulator } from './index.js';

describe('parseLatencyModel', () => {
  it.each([
    ['aws', awsLatencyModel],
    ['ec2.DescribeInstances=300+2', { 'ec2.DescribeInstances': { baseMs: 300, perItemMs: 2 } }],
    ['*=50', { '*': { baseMs: 50, perItemMs: 0 } }],
    [
      'aws,ec2.DescribeInstances=400+1.5',
      { ...awsLatencyModel, 'ec2.DescribeInstances': { baseMs: 400, perItemMs: 1.5 } },
    ],
    ['aws,none,sts.AssumeRole=10', { 'sts.AssumeRole': { baseMs: 10, perItemMs: 0 } }],
  ])('%s', (text, model) => {
    expect(parseLatencyModel(text)).toEqual(model);
  });

  it.each(['fast', 'DescribeInstances=200', 'ec2.DescribeInstances=-1', 'ec2.DescribeInstances=1+x', ''])(
    'refuses %j, naming it',
    (text) => {
      expect(() => parseLatencyModel(text)).toThrow(new RegExp(`"${text.replace(/[.*+]/g, '\\$&')}" is not a latency`));
    },
  );

  it('a base plus a cost per item; * for the rest; nothing without a model', () => {
    const m = parseLatencyModel('ec2.DescribeInstances=200+1,*=100');
    expect(modelledLatencyMs(m, 'ec2.DescribeInstances', 1000)).toBe(1200);
    expect(modelledLatencyMs(m, 'sts.GetCallerIdentity', 0)).toBe(100);
    expect(modelledLatencyMs(parseLatencyModel('ec2.DescribeInstances=200'), 'sts.GetCallerIdentity', 0)).toBe(0);
    expect(modelledLatencyMs(undefined, 'ec2.DescribeInstances', 1000)).toBe(0);
  });
});

describe('the simulator holds each answer for its modelled latency', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({
      scenario: 'demo',
      throttling: false,
      latency: 'ec2.DescribeInstances=150+3',
      latencyMs: 100,
    });
  });
  afterAll(async () => sim.stop());

  const timed = async (maxResults: number): Promise<{ ms: number; count: number }> => {
    const ec2 = new EC2Client({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
      disableClockSkewCorrection: true,
    });
    const t0 = performance.now();
    const out = await ec2.send(new DescribeInstancesCommand({ MaxResults: maxResults }));
    const ms = performance.now() - t0;
    ec2.destroy();
    return { ms, count: (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).length };
  };

  it('a page of 100 instances takes the base, 3 ms per instance and the flat latency', async () => {
    const page = await timed(100);
    expect(page.count).toBe(100);
    expect(page.ms).toBeGreaterThanOrEqual(150 + 300 + 100 - 5);
  });

  it('a page of 5 instances takes the base and the flat latency, and its 5 instances', async () => {
    const page = await timed(5);
    expect(page.count).toBe(5);
    expect(page.ms).toBeGreaterThanOrEqual(150 + 15 + 100 - 5);
  });
});
