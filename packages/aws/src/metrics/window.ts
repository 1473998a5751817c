/** GetMetricData allows at most 500 queries a call. */
export const MAX_QUERIES_PER_CALL = 500;
/** GetMetricData returns at most 100,800 datapoints a call; beyond that it pages with NextToken. */
export const MAX_DATAPOINTS_PER_CALL = 100_800;

const DAY = 86_400;
/** Periods that divide a UTC day, so every datapoint belongs to exactly one day of the daily series. */
const DAY_DIVISORS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400];

export interface MetricWindow {
  start: Date;
  /** The next period boundary after `now`. */
  end: Date;
  /** When the window was taken: no datapoint covers time after it. */
  now: Date;
  periodSeconds: number;
}

/**
 * The period of the MetadataNoToken queries. Two rules decide it:
 * - retention: data older than 15 days exists only at 300 s or coarser, older than 63 days only at 3600 s or coarser
 *   (60 s is possible within 15 days, but only with detailed monitoring);
 * - one page per batch: a full batch of 500 series must fit the 100,800 datapoints of one response, otherwise
 *   CloudWatch pages and calls grow with instances × window instead of instances / 500.
 * The result is the finest period meeting both that divides a day (14 days → 7200 s, 7 days → 3600 s).
 */
export function choosePeriod(lookbackSeconds: number, detailedMonitoring = false): number {
  const retention =
    lookbackSeconds <= 15 * DAY ? (detailedMonitoring ? 60 : 300) : lookbackSeconds <= 63 * DAY ? 300 : 3600;
  // One period more than the lookback: the window starts a period before `now - lookback` (see metricWindow).
  const pointsPerSeries = Math.floor(MAX_DATAPOINTS_PER_CALL / MAX_QUERIES_PER_CALL) - 1;
  const pageFit = Math.ceil(lookbackSeconds / pointsPerSeries);
  const min = Math.max(retention, pageFit);
  return DAY_DIVISORS.find((p) => p >= min) ?? DAY;
}

/**
 * The query window: ends at the next period boundary after `now`, starts at the period boundary at or before
 * `now - lookbackDays`, so the whole lookback before `now` is in it (a 7-day lookback can show 7 days of data).
 */
export function metricWindow(now: Date, lookbackDays: number, detailedMonitoring = false): MetricWindow {
  const lookback = Math.round(lookbackDays * DAY);
  const periodSeconds = choosePeriod(lookback, detailedMonitoring);
  const p = periodSeconds * 1000;
  const end = Math.ceil(now.getTime() / p) * p;
  const start = Math.floor((now.getTime() - lookback * 1000) / p) * p;
  return { start: new Date(start), end: new Date(end), now, periodSeconds };
}
