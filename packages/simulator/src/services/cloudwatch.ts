import type { Call, JsonHandler, JsonService, QueryService } from '../context.js';
import type { SimInstance } from '../fleet.js';
import { type Ec2MetricName, imdsMetricNames } from '../metrics.js';
import { ServiceError } from '../protocol/errors.js';
import { queryFromJson } from '../protocol/json-query.js';
import { decodeToken, encodeToken } from './paging.js';

/** CloudWatch: AWS JSON 1.0 (awsQuery-compatible) and the older awsQuery form protocol, same handlers. */

const MAX_QUERIES = 500;
const MAX_DATAPOINTS = 100_800;
const MAX_STATISTICS_DATAPOINTS = 1440;

const invalid = (message: string): ServiceError =>
  new ServiceError('InvalidParameterValue', message, { jsonType: 'InvalidParameterValueException' });
const missing = (name: string): ServiceError =>
  new ServiceError('MissingParameter', `The parameter ${name} is required.`, {
    jsonType: 'MissingRequiredParameterException',
  });

/** Retention by period (facts sheet): how far back datapoints of this period exist. */
export function retentionMs(periodSeconds: number): number {
  const day = 86_400_000;
  if (periodSeconds < 60) return 3 * 3_600_000;
  if (periodSeconds < 300) return 15 * day;
  if (periodSeconds < 3600) return 63 * day;
  return 455 * day;
}

function timeArg(v: unknown, name: string): number {
  if (v === undefined || v === null || v === '') throw missing(name);
  const ms =
    typeof v === 'number'
      ? v * 1000
      : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)
        ? Number(v) * 1000
        : Date.parse(typeof v === 'string' ? v : JSON.stringify(v));
  if (Number.isNaN(ms)) throw invalid(`The parameter ${name} is not a valid timestamp: ${JSON.stringify(v)}`);
  return ms;
}

function periodArg(v: unknown): number {
  const p = Number(v);
  if (!Number.isInteger(p) || p < 1 || (p >= 60 ? p % 60 !== 0 : ![1, 5, 10, 30].includes(p))) {
    throw invalid(`The parameter Period must be 1, 5, 10, 30 or a multiple of 60, got ${String(v)}.`);
  }
  return p;
}

interface MetricRef {
  namespace?: string;
  metricName?: string;
  dimensions: { Name?: string; Value?: string }[];
}

const served: readonly Ec2MetricName[] = [...imdsMetricNames, 'CPUUtilization'];

/** The instance and metric a metric reference names, or undefined when the simulator has no such series. */
function resolveSeries(call: Call, m: MetricRef): { inst: SimInstance; metric: Ec2MetricName } | undefined {
  if (m.namespace !== 'AWS/EC2' || !served.includes(m.metricName as Ec2MetricName)) return undefined;
  if (m.dimensions.length !== 1 || m.dimensions[0]!.Name !== 'InstanceId') return undefined;
  const inst = call.sim.fleet.instance(m.dimensions[0]!.Value ?? '');
  if (!inst || inst.account !== call.account || inst.region !== call.region) return undefined;
  return { inst, metric: m.metricName as Ec2MetricName };
}

/**
 * The period EC2 publishes an instance's metrics at (EC2 User Guide, "Monitor your instances using CloudWatch": "By
 * default, Amazon EC2 sends metric data to CloudWatch in 5-minute periods. To send metric data for your instance to
 * CloudWatch in 1-minute periods, you can enable detailed monitoring").
 */
export function nativePeriodMs(inst: SimInstance): number {
  return (inst.detailedMonitoring ? 60 : 300) * 1000;
}

type Stat = 'Sum' | 'SampleCount' | 'Average' | 'Minimum' | 'Maximum';
const stats: Stat[] = ['Sum', 'SampleCount', 'Average', 'Minimum', 'Maximum'];

/**
 * The series' datapoints (timestamp ms, value) ascending. The instance publishes one datapoint per native period (5
 * minutes, or 1 with detailed monitoring); a query aggregates the native datapoints whose timestamps fall in each of
 * its periods, so a 60-second query of a basic-monitoring instance has a datapoint every fifth minute. A native
 * datapoint is visible once its period has ended and the ingestion delay has passed. Retention follows the query
 * period; zeros are published unless the scenario says otherwise (IMDS metrics only).
 */
function datapoints(
  call: Call,
  ref: MetricRef,
  periodS: number,
  stat: Stat,
  startMs: number,
  endMs: number,
): [number, number][] {
  const series = resolveSeries(call, ref);
  if (!series) return [];
  const periodMs = periodS * 1000;
  const nativeMs = nativePeriodMs(series.inst);
  const visibleEnd = Math.floor((call.nowMs - call.sim.metricDelayMs) / nativeMs) * nativeMs;
  const oldest = call.nowMs - retentionMs(periodS);
  const first = Math.ceil(Math.max(startMs, oldest) / periodMs) * periodMs;
  const last = Math.min(endMs, visibleEnd);
  if (last <= first) return [];
  const buckets = Math.ceil((last - first) / periodMs);
  const values = new Float64Array(buckets).fill(Number.NaN);
  const samples = new Float64Array(buckets);
  if (periodMs % nativeMs === 0) {
    // Query periods are whole native periods: the model sums them directly (up to the visible end).
    const sums = call.sim.metrics.sums(series.inst, series.metric, {
      startMs: first,
      periodMs,
      buckets,
      nowMs: visibleEnd,
    });
    values.set(sums);
    samples.fill(periodMs / nativeMs);
  } else {
    // Shorter (or unaligned) query periods: each native datapoint lands in the query period holding its timestamp.
    const nativeFirst = Math.floor(first / nativeMs) * nativeMs;
    const n = Math.ceil((last - nativeFirst) / nativeMs);
    const native = call.sim.metrics.sums(series.inst, series.metric, {
      startMs: nativeFirst,
      periodMs: nativeMs,
      buckets: n,
      nowMs: visibleEnd,
    });
    for (let j = 0; j < n; j++) {
      const t = nativeFirst + j * nativeMs;
      const v = native[j]!;
      if (t < first || t >= last || Number.isNaN(v)) continue;
      const k = Math.floor((t - first) / periodMs);
      values[k] = Number.isNaN(values[k]!) ? v : values[k]! + v;
      samples[k]! += 1;
    }
  }
  const isImds = series.metric !== 'CPUUtilization';
  const out: [number, number][] = [];
  for (let k = 0; k < buckets; k++) {
    const v = values[k]!;
    if (Number.isNaN(v) || (isImds && v === 0 && !call.sim.emitZeroDatapoints)) continue;
    const value = isImds ? statValue(stat, v, samples[k]!) : cpuStat(stat, v, samples[k]!);
    out.push([first + k * periodMs, value]);
  }
  return out;
}

/** CPUUtilization is a percentage: its per-period value is already an average. */
function cpuStat(stat: Stat, avg: number, samples: number): number {
  if (stat === 'SampleCount') return samples;
  if (stat === 'Sum') return avg * samples;
  return avg;
}

/** Statistics other than Sum are approximations: calls spread evenly over the period's samples. */
function statValue(stat: Stat, sum: number, samples: number): number {
  switch (stat) {
    case 'Sum':
      return sum;
    case 'SampleCount':
      return samples;
    default:
      return sum / samples;
  }
}

function metricRef(raw: unknown): MetricRef {
  const m = (raw ?? {}) as {
    Namespace?: string;
    MetricName?: string;
    Dimensions?: { Name?: string; Value?: string }[];
  };
  return { namespace: m.Namespace, metricName: m.MetricName, dimensions: m.Dimensions ?? [] };
}

interface QueryInput {
  Id?: string;
  Label?: string;
  ReturnData?: boolean | string;
  Expression?: string;
  MetricStat?: { Metric?: unknown; Period?: number | string; Stat?: string };
}

const getMetricData: JsonHandler = (call, body) => {
  const queries = (body.MetricDataQueries ?? []) as QueryInput[];
  if (queries.length === 0) throw missing('MetricDataQueries');
  if (queries.length > MAX_QUERIES)
    throw invalid(`The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`);
  const startMs = timeArg(body.StartTime, 'StartTime');
  const endMs = timeArg(body.EndTime, 'EndTime');
  if (endMs <= startMs) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
  const pageSize = Math.min(
    MAX_DATAPOINTS,
    body.MaxDatapoints === undefined ? MAX_DATAPOINTS : Number(body.MaxDatapoints),
  );
  const descending = (body.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
  const ids = new Set<string>();
  const series = queries.map((q) => {
    if (!q.Id || !/^[a-z][a-zA-Z0-9_]*$/.test(q.Id))
      throw invalid(
        `The value ${String(q.Id)} for parameter MetricDataQueries.member.Id is not valid: it must start with a lowercase letter and contain only letters, digits and underscores.`,
      );
    if (ids.has(q.Id)) throw invalid(`The value ${q.Id} for parameter MetricDataQueries.member.Id is duplicated.`);
    ids.add(q.Id);
    if (q.Expression !== undefined) throw invalid('The simulator supports MetricStat queries only, not Expression.');
    if (!q.MetricStat) throw missing('MetricDataQueries.member.MetricStat');
    const stat = (q.MetricStat.Stat ?? '') as Stat;
    if (!stats.includes(stat))
      throw invalid(`The simulator supports the statistics ${stats.join(', ')}; got ${String(q.MetricStat.Stat)}.`);
    const ref = metricRef(q.MetricStat.Metric);
    const points = datapoints(call, ref, periodArg(q.MetricStat.Period), stat, startMs, endMs);
    if (descending) points.reverse();
    return { q, ref, points };
  });
  call.items = queries.length;
  const offset = decodeToken(body.NextToken as string | undefined, 'GetMetricData', 'InvalidNextToken');
  // Datapoints are served query by query; a page ends after `pageSize` of them.
  let skip = offset;
  let room = pageSize;
  const results = [];
  for (const s of series) {
    if (s.q.ReturnData === false || s.q.ReturnData === 'false') continue;
    const from = Math.min(skip, s.points.length);
    skip -= from;
    const take = s.points.slice(from, from + room);
    room -= take.length;
    const done = from + take.length >= s.points.length;
    results.push({
      Id: s.q.Id,
      Label: s.q.Label ?? s.ref.metricName,
      Timestamps: take.map(([t]) => new Date(t)),
      Values: take.map(([, v]) => v),
      StatusCode: done ? 'Complete' : 'PartialData',
    });
  }
  const served = offset + pageSize - room;
  const total = series.reduce(
    (n, s) => n + (s.q.ReturnData === false || s.q.ReturnData === 'false' ? 0 : s.points.length),
    0,
  );
  return {
    MetricDataResults: results,
    NextToken: served < total ? encodeToken('GetMetricData', served) : undefined,
    Messages: [],
  };
};

const getMetricStatistics: JsonHandler = (call, body) => {
  const startMs = timeArg(body.StartTime, 'StartTime');
  const endMs = timeArg(body.EndTime, 'EndTime');
  if (endMs <= startMs) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
  const period = periodArg(body.Period);
  const requested = Math.ceil((endMs - startMs) / (period * 1000));
  if (requested > MAX_STATISTICS_DATAPOINTS) {
    throw new ServiceError(
      'InvalidParameterCombination',
      `You have requested up to ${requested} datapoints, which exceeds the limit of ${MAX_STATISTICS_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
      {
        jsonType: 'InvalidParameterCombinationException',
      },
    );
  }
  const wanted = (body.Statistics ?? []) as Stat[];
  if (wanted.length === 0) throw missing('Statistics');
  for (const s of wanted) if (!stats.includes(s)) throw invalid(`Unknown statistic ${String(s)}`);
  const ref = metricRef(body);
  const sums = datapoints(call, ref, period, 'Sum', startMs, endMs);
  return {
    Label: ref.metricName,
    Datapoints: sums.map(([t]) => {
      const dp: Record<string, unknown> = { Timestamp: new Date(t), Unit: 'Count' };
      for (const s of wanted) dp[s] = datapoints(call, ref, period, s, t, t + period * 1000)[0]?.[1] ?? 0;
      return dp;
    }),
  };
};

const listMetrics: JsonHandler = (call, body) => {
  const namespace = body.Namespace as string | undefined;
  const metricName = body.MetricName as string | undefined;
  if (namespace !== undefined && namespace !== 'AWS/EC2') return { Metrics: [] };
  const names = served.filter((n) => metricName === undefined || n === metricName);
  const dims = (body.Dimensions ?? []) as { Name?: string; Value?: string }[];
  const wantedId = dims.find((d) => d.Name === 'InstanceId')?.Value;
  const instances = call.sim.fleet.region(call.account, call.region)!.instances;
  let k = decodeToken(body.NextToken as string | undefined, 'ListMetrics', 'InvalidNextToken');
  const metrics: unknown[] = [];
  // A metric is listed while it has data in the past two weeks (and RecentlyActive=PT3H narrows that to three hours).
  const lookback = body.RecentlyActive === 'PT3H' ? 3 * 3_600_000 : 14 * 86_400_000;
  for (; k < instances.length && metrics.length < 500; k++) {
    const inst = instances[k]!;
    if (wantedId !== undefined && inst.id !== wantedId) continue;
    for (const n of names) {
      const s = call.sim.metrics.sums(inst, n, {
        startMs: call.nowMs - lookback,
        periodMs: lookback,
        buckets: 1,
        nowMs: call.nowMs,
      });
      const v = s[0]!;
      const published = !Number.isNaN(v) && (v > 0 || n === 'CPUUtilization' || call.sim.emitZeroDatapoints);
      if (published)
        metrics.push({ Namespace: 'AWS/EC2', MetricName: n, Dimensions: [{ Name: 'InstanceId', Value: inst.id }] });
    }
  }
  return { Metrics: metrics, NextToken: k < instances.length ? encodeToken('ListMetrics', k) : undefined };
};

const handlers = { GetMetricData: getMetricData, GetMetricStatistics: getMetricStatistics, ListMetrics: listMetrics };
const category = (op: string): string => `cloudwatch.${op}`;

export const cloudWatchJsonService: JsonService = {
  kind: 'json',
  name: 'cloudwatch',
  contentType: 'application/x-amz-json-1.0',
  namespace: 'com.amazonaws.cloudwatch',
  queryCompatible: true,
  handlers,
  category,
};

export const cloudWatchQueryService: QueryService = {
  kind: 'query',
  name: 'cloudwatch',
  xmlns: 'http://monitoring.amazonaws.com/doc/2010-08-01/',
  ec2: false,
  handlers: Object.fromEntries(Object.entries(handlers).map(([k, h]) => [k, queryFromJson(h)])),
  category,
};
