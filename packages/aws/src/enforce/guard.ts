import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { byPair, chunk } from './aws-ops.js';
import type { ClientsFor } from './types.js';

/** GetMetricData takes at most 500 queries a call. */
export const METRIC_QUERIES_PER_CALL = 500;

export interface WatchedInstance {
  instanceId: string;
  accountId: string;
  region: string;
}

/**
 * Sums `MetadataNoTokenRejected` (IMDSv1 calls refused because tokens are required) per instance over
 * [startMs, endMs], 500 instances per GetMetricData call, following NextToken. The window is aligned to the period and
 * taken on the service's clock. An instance without datapoints counts 0: after enforcement the metric is the breakage
 * signal, and no rejected call means nothing broke that we can see.
 */
export async function rejectedCalls(
  clients: ClientsFor,
  instances: readonly WatchedInstance[],
  startMs: number,
  endMs: number,
  periodSeconds: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const periodMs = periodSeconds * 1000;
  const start = new Date(Math.floor(startMs / periodMs) * periodMs);
  const end = new Date(Math.ceil(endMs / periodMs) * periodMs + periodMs);
  for (const list of byPair(instances).values()) {
    const first = list[0]!;
    const cw = clients.cloudwatch(first.accountId, first.region);
    for (const batch of chunk(list, METRIC_QUERIES_PER_CALL)) {
      const queries: MetricDataQuery[] = batch.map((w, i) => ({
        Id: `q${i}`,
        Label: w.instanceId,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/EC2',
            MetricName: 'MetadataNoTokenRejected',
            Dimensions: [{ Name: 'InstanceId', Value: w.instanceId }],
          },
          Period: periodSeconds,
          Stat: 'Sum',
        },
        ReturnData: true,
      }));
      let token: string | undefined;
      do {
        const r = await cw.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: start,
            EndTime: end,
            NextToken: token,
            ScanBy: 'TimestampAscending',
          }),
        );
        for (const res of r.MetricDataResults ?? []) {
          const idx = Number(res.Id?.slice(1));
          const w = batch[idx];
          if (!w) continue;
          const sum = (res.Values ?? []).reduce((a, v) => a + v, 0);
          out.set(w.instanceId, (out.get(w.instanceId) ?? 0) + sum);
        }
        token = r.NextToken;
      } while (token);
    }
  }
  return out;
}
