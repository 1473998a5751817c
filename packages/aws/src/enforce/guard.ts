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

/** What CloudWatch holds for one watched instance over a window. */
export interface GuardSeries {
  /** Sum of the datapoints (0 without any). */
  sum: number;
  /** Timestamp (ms) of the latest datapoint, null without any. */
  lastAt: number | null;
}

/** The window of a guard query, aligned to the period on the service's clock. */
function aligned(startMs: number, endMs: number, periodMs: number): { start: Date; end: Date } {
  return {
    start: new Date(Math.floor(startMs / periodMs) * periodMs),
    end: new Date(Math.ceil(endMs / periodMs) * periodMs + periodMs),
  };
}

/**
 * One EC2 metric per instance over [startMs, endMs] (service clock), 500 instances a GetMetricData call, following
 * NextToken: the sum and the latest datapoint of each. `stat` is Sum for the IMDS metrics, Average for CPUUtilization.
 */
export async function metricSeries(
  clients: ClientsFor,
  instances: readonly WatchedInstance[],
  metric: 'MetadataNoTokenRejected' | 'CPUUtilization',
  startMs: number,
  endMs: number,
  periodSeconds: number,
): Promise<Map<string, GuardSeries>> {
  const out = new Map<string, GuardSeries>();
  const { start, end } = aligned(startMs, endMs, periodSeconds * 1000);
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
            MetricName: metric,
            Dimensions: [{ Name: 'InstanceId', Value: w.instanceId }],
          },
          Period: periodSeconds,
          Stat: metric === 'CPUUtilization' ? 'Average' : 'Sum',
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
          const w = batch[Number(res.Id?.slice(1))];
          if (!w) continue;
          const s = out.get(w.instanceId) ?? { sum: 0, lastAt: null };
          for (const v of res.Values ?? []) s.sum += v;
          for (const t of res.Timestamps ?? []) s.lastAt = Math.max(s.lastAt ?? 0, t.getTime());
          out.set(w.instanceId, s);
        }
        token = r.NextToken;
      } while (token);
    }
  }
  return out;
}

/**
 * Sums `MetadataNoTokenRejected` (IMDSv1 calls refused because tokens are required) per instance over
 * [startMs, endMs]. An instance without datapoints counts 0 here; whether its data has arrived at all is
 * `dataCoverage`'s question.
 */
export async function rejectedCalls(
  clients: ClientsFor,
  instances: readonly WatchedInstance[],
  startMs: number,
  endMs: number,
  periodSeconds: number,
): Promise<Map<string, number>> {
  const series = await metricSeries(clients, instances, 'MetadataNoTokenRejected', startMs, endMs, periodSeconds);
  return new Map([...series].map(([id, s]) => [id, s.sum]));
}

/**
 * Which instances have CloudWatch data covering up to `untilMs`: datapoints arrive minutes after the period they
 * describe (docs/simulator-fidelity.md, "Ingestion delay"), so a soak is clean only once its last period is in.
 * An instance is covered when its latest MetadataNoTokenRejected datapoint's period reaches `untilMs` (AWS documents
 * the metric as published while tokens are required); when it has none at all (an account that publishes no zeros),
 * when its CPUUtilization, which every running instance publishes, reaches `untilMs`: CloudWatch holds that period for
 * the instance, and it has no rejected call in it. Returns the instances not yet covered.
 */
export async function uncoveredInstances(
  clients: ClientsFor,
  instances: readonly WatchedInstance[],
  rejected: ReadonlyMap<string, GuardSeries>,
  sinceMs: number,
  untilMs: number,
  periodSeconds: number,
): Promise<WatchedInstance[]> {
  const periodMs = periodSeconds * 1000;
  const reaches = (s: GuardSeries | undefined) => s?.lastAt != null && s.lastAt + periodMs >= untilMs;
  const silent = instances.filter(
    (w) => !reaches(rejected.get(w.instanceId)) && rejected.get(w.instanceId)?.lastAt == null,
  );
  const late = instances.filter(
    (w) => !reaches(rejected.get(w.instanceId)) && rejected.get(w.instanceId)?.lastAt != null,
  );
  if (silent.length === 0) return late;
  const cpu = await metricSeries(
    clients,
    silent,
    'CPUUtilization',
    Math.max(sinceMs, untilMs - 6 * periodMs),
    untilMs,
    periodSeconds,
  );
  return [...late, ...silent.filter((w) => !reaches(cpu.get(w.instanceId)))];
}
