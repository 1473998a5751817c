import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { getMetricDataPage, queryMetrics, toEvidence, type MetricTarget } from './query.js';
import { metricWindow } from './window.js';

const window = metricWindow(new Date('2026-11-20T12:00:00Z'), 14);
const day = (n: number) => new Date(window.start.getTime() + n * 86_400_000 + 3_600_000);
const cwMock = mockClient(CloudWatchClient);
const cw = new CloudWatchClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const running = { state: 'running', launchTime: '2026-01-01T00:00:00Z' };
afterEach(() => cwMock.reset());

function targets(n: number): MetricTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    instanceId: `i-${String(i).padStart(8, '0')}`,
    metric: 'MetadataNoToken',
  }));
}

describe('queryMetrics', () => {
  it('sends at most 500 queries a call: 1,201 series take 3 calls', async () => {
    cwMock.on(GetMetricDataCommand).callsFake((input: GetMetricDataInput) => ({
      MetricDataResults: input.MetricDataQueries!.map((q) => ({
        Id: q.Id,
        StatusCode: 'Complete',
        Timestamps: [day(1)],
        Values: [0],
      })),
    }));
    const out = await queryMetrics(cw, targets(1201), window);
    const calls = cwMock.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.length)).toEqual([500, 500, 201]);
    expect(calls[0]!.args[0].input.MetricDataQueries![0]!.MetricStat).toMatchObject({
      Metric: { Namespace: 'AWS/EC2', MetricName: 'MetadataNoToken', Dimensions: [{ Name: 'InstanceId' }] },
      Period: window.periodSeconds,
      Stat: 'Sum',
    });
    expect(out.size).toBe(1201);
  });

  it('follows NextToken and merges the pages of a series; PartialData then Complete is complete', async () => {
    cwMock
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [{ Id: 'q0', StatusCode: 'PartialData', Timestamps: [day(1)], Values: [2] }],
        NextToken: 'p2',
      })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', StatusCode: 'Complete', Timestamps: [day(3)], Values: [5] }] });
    const out = await queryMetrics(cw, targets(1), window);
    expect(cwMock.commandCalls(GetMetricDataCommand)[1]!.args[0].input.NextToken).toBe('p2');
    const e = toEvidence('MetadataNoToken', out.get('MetadataNoToken/i-00000000'), window, running);
    expect(e).toMatchObject({ status: 'observed', total: 7, daysWithData: 2, lastNonZeroAt: day(3).toISOString() });
    expect(e.daily.map((d) => d.sum)).toEqual([2, 5]);
  });

  it('a failed batch marks its series query-failed and leaves the other batches alone', async () => {
    cwMock
      .on(GetMetricDataCommand)
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDenied' }))
      .callsFake((input: GetMetricDataInput) => ({
        MetricDataResults: input.MetricDataQueries!.map((q) => ({
          Id: q.Id,
          StatusCode: 'Complete',
          Timestamps: [day(1)],
          Values: [1],
        })),
      }));
    const errors: unknown[] = [];
    const out = await queryMetrics(cw, targets(600), window, { onError: (e) => errors.push(e) });
    expect(errors).toHaveLength(1);
    const ev = [...out.values()].map((s) => toEvidence('MetadataNoToken', s, window, running));
    expect(ev.filter((e) => e.unknownReason === 'query-failed')).toHaveLength(500);
    expect(ev.filter((e) => e.status === 'observed')).toHaveLength(100);
  });
});

describe('toEvidence', () => {
  const series = (values: number[], days: number[], status = 'Complete' as const) => ({
    timestamps: days.map((d) => day(d).getTime()),
    values,
    status,
  });
  it.each([
    ['zeros are observed zero, not unknown', series([0, 0, 0], [0, 1, 2]), running, 'observed', 0, undefined],
    ['no datapoints is unknown', series([], []), running, 'unknown', null, 'no-datapoints'],
    [
      'no datapoints on a stopped instance',
      series([], []),
      { ...running, state: 'stopped' },
      'unknown',
      null,
      'instance-stopped',
    ],
    [
      'no datapoints, launched within the last day',
      series([], []),
      { ...running, launchTime: new Date(window.end.getTime() - 3_600_000).toISOString() },
      'unknown',
      null,
      'launched-recently',
    ],
    [
      'partial data summing to zero stays unknown',
      { ...series([0], [1]), status: 'PartialData' as const },
      running,
      'unknown',
      null,
      'partial-data',
    ],
    [
      'partial data with calls is evidence',
      { ...series([4], [1]), status: 'PartialData' as const },
      running,
      'observed',
      4,
      undefined,
    ],
    [
      'internal error without data',
      { ...series([], []), status: 'InternalError' as const },
      running,
      'unknown',
      null,
      'query-failed',
    ],
  ])('%s', (_n, s, ctx, status, total, reason) => {
    const e = toEvidence('MetadataNoToken', s, window, ctx);
    expect([e.status, e.total, e.unknownReason]).toEqual([status, total, reason]);
  });
});

describe('GetMetricData answers read without the SDK deserializer', () => {
  it('give the same series as the SDK reads, across pages', async () => {
    const { startSimulator } = await import('@imdsv2-cutover/simulator');
    const sim = await startSimulator({ scenario: 'demo', throttling: false });
    cwMock.restore();
    try {
      const real = new CloudWatchClient({
        endpoint: sim.url,
        region: 'us-east-1',
        credentials: { accessKeyId: sim.defaultAccessKeyId, secretAccessKey: 'x' },
        disableClockSkewCorrection: true,
      });
      const ids = [...sim.fleet.model.allInstances()]
        .filter((i) => i.account === '111111111111' && i.region === 'us-east-1' && i.running)
        .slice(0, 40)
        .map((i) => i.id);
      const w = metricWindow(sim.clock.now(), 14);
      const ts = ids.map((instanceId) => ({ instanceId, metric: 'MetadataNoToken' as const }));
      const ours = await queryMetrics(real, ts, w);
      // The SDK's own reading of the same call, in pages of 1,000 datapoints so NextToken is followed.
      const sdk = new Map<string, { timestamps: number[]; values: number[] }>();
      let NextToken: string | undefined;
      do {
        const out = await real.send(
          new GetMetricDataCommand({
            MetricDataQueries: ts.map((t, i) => ({
              Id: `q${i}`,
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/EC2',
                  MetricName: t.metric,
                  Dimensions: [{ Name: 'InstanceId', Value: t.instanceId }],
                },
                Period: w.periodSeconds,
                Stat: 'Sum',
              },
            })),
            StartTime: w.start,
            EndTime: w.end,
            ScanBy: 'TimestampAscending',
            MaxDatapoints: 1000,
            NextToken,
          }),
        );
        for (const r of out.MetricDataResults ?? []) {
          const key = `MetadataNoToken/${ts[Number(r.Id!.slice(1))]!.instanceId}`;
          const s = sdk.get(key) ?? { timestamps: [], values: [] };
          s.timestamps.push(...(r.Timestamps ?? []).map((d) => d.getTime()));
          s.values.push(...(r.Values ?? []));
          sdk.set(key, s);
        }
        NextToken = out.NextToken;
      } while (NextToken);
      expect([...ours.keys()].sort()).toEqual([...sdk.keys()].sort());
      let points = 0;
      for (const [key, s] of ours) {
        expect({ timestamps: s.timestamps, values: s.values }, key).toEqual(sdk.get(key));
        points += s.timestamps.length;
      }
      expect(points).toBeGreaterThan(1000);
      // The answers were read from their bodies, not through the SDK's output.
      const one = await getMetricDataPage(real, {
        MetricDataQueries: [
          {
            Id: 'q0',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/EC2',
                MetricName: 'MetadataNoToken',
                Dimensions: [{ Name: 'InstanceId', Value: ids[0]! }],
              },
              Period: w.periodSeconds,
              Stat: 'Sum',
            },
          },
        ],
        StartTime: w.start,
        EndTime: w.end,
      });
      expect(one.readBy).toBe('json');
      expect(one.MetricDataResults![0]!.Timestamps![0]).toBeGreaterThan(w.start.getTime() - 1);
      real.destroy();
    } finally {
      await sim.stop();
    }
  });
});
