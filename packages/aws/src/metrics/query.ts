import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { MetricEvidence } from '@imdsv2-cutover/core';
import { MAX_QUERIES_PER_CALL, type MetricWindow } from './window.js';

export type MetricName = MetricEvidence['metric'];

/** One series to fetch: a metric of an instance. */
export interface MetricTarget {
  instanceId: string;
  metric: MetricName;
}

/** What came back for one series, merged over all pages. */
export interface SeriesResult {
  timestamps: number[];
  values: number[];
  /** The last StatusCode CloudWatch gave the series; `failed` when its batch's call failed. */
  status: 'Complete' | 'PartialData' | 'InternalError' | 'Forbidden' | 'failed';
}

export const seriesKey = (t: MetricTarget): string => `${t.metric}/${t.instanceId}`;

function query(t: MetricTarget, id: string, periodSeconds: number): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: 'AWS/EC2', MetricName: t.metric, Dimensions: [{ Name: 'InstanceId', Value: t.instanceId }] },
      Period: periodSeconds,
      Stat: 'Sum',
    },
    ReturnData: true,
  };
}

export interface QueryMetricsOptions {
  /** Runs each GetMetricData batch (a p-limit for the region's CloudWatch); default: sequential. */
  schedule?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Called after each batch with the number of series done. */
  onBatch?: (done: number, total: number) => void;
  /** Called when a batch's call failed after the SDK's retries: its series are recorded as `failed`. */
  onError?: (error: unknown) => void;
}

/**
 * Fetches the targets' series in batches of 500 queries per GetMetricData call, following NextToken and merging
 * the pages of each series. A failed batch does not fail the others.
 */
export async function queryMetrics(
  cw: CloudWatchClient,
  targets: MetricTarget[],
  window: MetricWindow,
  options: QueryMetricsOptions = {},
): Promise<Map<string, SeriesResult>> {
  const schedule = options.schedule ?? ((fn) => fn());
  const results = new Map<string, SeriesResult>();
  let done = 0;
  const batches: MetricTarget[][] = [];
  for (let i = 0; i < targets.length; i += MAX_QUERIES_PER_CALL)
    batches.push(targets.slice(i, i + MAX_QUERIES_PER_CALL));
  await Promise.all(
    batches.map((batch) =>
      schedule(async () => {
        const byId = new Map<string, SeriesResult>();
        batch.forEach((t, i) => {
          const r: SeriesResult = { timestamps: [], values: [], status: 'Complete' };
          byId.set(`q${i}`, r);
          results.set(seriesKey(t), r);
        });
        const queries = batch.map((t, i) => query(t, `q${i}`, window.periodSeconds));
        try {
          let nextToken: string | undefined;
          do {
            const out = await cw.send(
              new GetMetricDataCommand({
                MetricDataQueries: queries,
                StartTime: window.start,
                EndTime: window.end,
                ScanBy: 'TimestampAscending',
                NextToken: nextToken,
              }),
            );
            for (const r of out.MetricDataResults ?? []) {
              const series = r.Id === undefined ? undefined : byId.get(r.Id);
              if (!series) continue;
              const ts = r.Timestamps ?? [];
              const vs = r.Values ?? [];
              for (let k = 0; k < Math.min(ts.length, vs.length); k++) {
                series.timestamps.push(ts[k]!.getTime());
                series.values.push(vs[k]!);
              }
              if (r.StatusCode) series.status = r.StatusCode;
            }
            nextToken = out.NextToken;
          } while (nextToken);
        } catch (e) {
          for (const s of byId.values()) s.status = 'failed';
          options.onError?.(e);
        }
        done += batch.length;
        options.onBatch?.(done, targets.length);
      }),
    ),
  );
  return results;
}

/** Facts about the instance that explain missing data and bound the time its data covers. */
export interface EvidenceContext {
  state: string;
  launchTime: string;
  /** When the assessment was taken (ms): the last datapoint covers no time after it. Default: the window's end. */
  nowMs?: number;
}

const DAY_MS = 86_400_000;

/** Evidence for a series that was not queried (the metric cannot exist, or is not the one that matters). */
export function unqueriedEvidence(
  metric: MetricName,
  window: MetricWindow,
  reason: NonNullable<MetricEvidence['unknownReason']>,
): MetricEvidence {
  return {
    metric,
    status: 'unknown',
    unknownReason: reason,
    total: null,
    lastNonZeroAt: null,
    daysWithData: 0,
    observedSeconds: 0,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    periodSeconds: window.periodSeconds,
    daily: [],
  };
}

/**
 * The time a series' datapoints cover: each datapoint stands for its period, clipped to the window, the instance's
 * launch (a period it was launched in counts only from the launch) and the assessment's time. Seconds, whole.
 */
export function coveredSeconds(timestamps: readonly number[], window: MetricWindow, ctx: EvidenceContext): number {
  const periodMs = window.periodSeconds * 1000;
  const from = Math.max(window.start.getTime(), Date.parse(ctx.launchTime) || 0);
  const to = Math.min(window.end.getTime(), ctx.nowMs ?? window.end.getTime());
  // The union of the periods (timestamps from CloudWatch are one per period, but a union never counts time twice).
  let ms = 0;
  let reached = Number.NEGATIVE_INFINITY;
  for (const t of [...timestamps].sort((a, b) => a - b)) {
    const lo = Math.max(t, from, reached);
    const hi = Math.min(t + periodMs, to);
    if (hi > lo) ms += hi - lo;
    reached = Math.max(reached, hi);
  }
  return Math.floor(ms / 1000);
}

/**
 * Turns a series into evidence. No datapoints is `unknown`, never zero: the reason says why (stopped, launched within
 * the last day, the query failed or came back partial, or simply no datapoints). Datapoints that sum to zero while
 * CloudWatch said the data is partial stay unknown too; a non-zero sum is evidence whatever the status.
 */
export function toEvidence(
  metric: MetricName,
  series: SeriesResult | undefined,
  window: MetricWindow,
  ctx: EvidenceContext,
): MetricEvidence {
  if (!series) return unqueriedEvidence(metric, window, 'not-queried');
  const daily = new Map<string, number>();
  let total = 0;
  let last: number | null = null;
  series.timestamps.forEach((t, k) => {
    const v = series.values[k] ?? 0;
    const date = new Date(t).toISOString().slice(0, 10);
    daily.set(date, (daily.get(date) ?? 0) + v);
    total += v;
    if (v > 0 && (last === null || t > last)) last = t;
  });
  const incomplete = series.status !== 'Complete';
  if (series.timestamps.length === 0 || (incomplete && total === 0)) {
    let reason: NonNullable<MetricEvidence['unknownReason']> = 'no-datapoints';
    if (series.status === 'failed' || series.status === 'Forbidden' || series.status === 'InternalError') {
      reason = series.timestamps.length === 0 ? 'query-failed' : 'partial-data';
    } else if (series.status === 'PartialData') reason = 'partial-data';
    else if (ctx.state === 'stopped' || ctx.state === 'stopping') reason = 'instance-stopped';
    else if (Date.parse(ctx.launchTime) > window.end.getTime() - DAY_MS) reason = 'launched-recently';
    return unqueriedEvidence(metric, window, reason);
  }
  const days = [...daily.entries()].sort(([a], [b]) => a.localeCompare(b));
  return {
    metric,
    status: 'observed',
    total,
    lastNonZeroAt: last === null ? null : new Date(last).toISOString(),
    daysWithData: days.length,
    observedSeconds: coveredSeconds(series.timestamps, window, ctx),
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    periodSeconds: window.periodSeconds,
    daily: days.map(([date, sum]) => ({ date, sum })),
  };
}
