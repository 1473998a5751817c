import { effectiveImds, type SimCaller, type SimInstance } from './fleet.js';
import { hash32 } from './random.js';
import { cronFires } from './schedule.js';

export type ImdsMetricName = 'MetadataNoToken' | 'MetadataNoTokenRejected';
export const imdsMetricNames: readonly ImdsMetricName[] = ['MetadataNoToken', 'MetadataNoTokenRejected'];
/** Other EC2 metrics the simulator serves: CPUUtilization, which every running instance publishes. */
export type Ec2MetricName = ImdsMetricName | 'CPUUtilization';

/** A window of equal buckets: bucket k covers [startMs + k*periodMs, startMs + (k+1)*periodMs). */
export interface MetricWindow {
  startMs: number;
  periodMs: number;
  buckets: number;
  /** The simulated present: nothing is counted after it. */
  nowMs: number;
}

/**
 * Where an instance's IMDS metric counts come from. The default computes them from the scenario's callers and the
 * instance's settings history; a live instance (a network namespace with a fake IMDS that counts real calls) plugs in its
 * own source with `MetricsEngine.setSource`.
 */
export interface MetricSource {
  /**
   * The metric's sum per bucket; `NaN` where the instance published nothing. A 0 means the instance reported but made
   * no such call; the service decides whether to publish zeros. The two IMDS metrics are mutually exclusive (EC2 User
   * Guide, "Transition to using IMDSv2": "When IMDSv1 is enabled (httpTokens = optional), only MetadataNoToken emits.
   * When IMDSv1 is disabled (httpTokens = required), only MetadataNoTokenRejected emits."): a bucket reports the metric
   * only for the time the instance ran with the matching setting and its IMDS endpoint enabled.
   */
  sums(inst: SimInstance, metric: ImdsMetricName, w: MetricWindow): Float64Array;
}

/** Computes counts lazily from caller definitions: nothing is materialised up front. */
export const callerMetricSource: MetricSource = {
  sums(inst, metric, w) {
    const out = new Float64Array(w.buckets).fill(Number.NaN);
    const end = Math.min(w.startMs + w.buckets * w.periodMs, w.nowMs);
    if (end <= w.startMs) return out;
    // Callers that make IMDSv1 calls at some hop limit: v1 callers, and v2 callers in containers (at hop limit 1).
    const v1 = inst.callers.filter((c) => c.imds === 'v1' || c.container);
    const fires = v1.map((c) =>
      c.cron ? cronFires(c.cron, Math.max(w.startMs, c.sinceMs ?? inst.launchTimeMs), Math.min(end, c.untilMs)) : null,
    );
    const wantTokens = metric === 'MetadataNoToken' ? 'optional' : 'required';
    const h = inst.history;
    for (let k = 0; k < w.buckets; k++) {
      const a = w.startMs + k * w.periodMs;
      const b = Math.min(a + w.periodMs, end);
      if (b <= a) break;
      let reported = false;
      let sum = 0;
      for (let s = 0; s < h.length; s++) {
        const seg = h[s]!;
        const segEnd = s + 1 < h.length ? h[s + 1]!.at : Number.POSITIVE_INFINITY;
        const lo = Math.max(a, seg.at, inst.launchTimeMs);
        const hi = Math.min(b, segEnd);
        if (hi <= lo || !seg.running || seg.httpEndpoint !== 'enabled' || seg.httpTokens !== wantTokens) continue;
        reported = true;
        for (let ci = 0; ci < v1.length; ci++) {
          if (effectiveImds(v1[ci]!, seg.httpPutResponseHopLimit) !== 'v1') continue;
          sum += callsIn(inst, v1[ci]!, fires[ci]!, lo, hi);
        }
      }
      if (reported) out[k] = sum;
    }
    return out;
  },
};

/** Calls a caller makes in [lo, hi); `fires` are its cron runs (null for continuous callers). */
export function callsIn(inst: SimInstance, c: SimCaller, fires: number[] | null, lo: number, hi: number): number {
  const a = Math.max(lo, c.sinceMs ?? inst.launchTimeMs);
  const b = Math.min(hi, c.untilMs);
  if (b <= a) return 0;
  if (fires) return (lowerBound(fires, b) - lowerBound(fires, a)) * c.callsPerRun;
  if (c.callsPerHour <= 0) return 0;
  // Evenly spaced calls, each instance with its own phase so that a group does not call in lockstep.
  const interval = 3_600_000 / c.callsPerHour;
  const phase = (hash32(inst.id) / 0x1_0000_0000) * interval;
  return Math.floor((b - phase) / interval) - Math.floor((a - phase) / interval);
}

function lowerBound(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * CPUUtilization (percent, Average) of a running instance: any instance that runs publishes it, whatever its IMDS
 * settings, so it tells whether CloudWatch holds an instance's data for a period. Values are a deterministic 2 to 40%.
 * `NaN` where the instance did not run.
 */
export function cpuUtilization(inst: SimInstance, w: MetricWindow): Float64Array {
  const out = new Float64Array(w.buckets).fill(Number.NaN);
  const end = Math.min(w.startMs + w.buckets * w.periodMs, w.nowMs);
  const h = inst.history;
  for (let k = 0; k < w.buckets; k++) {
    const a = w.startMs + k * w.periodMs;
    const b = Math.min(a + w.periodMs, end);
    if (b <= a) break;
    for (let s = 0; s < h.length; s++) {
      const seg = h[s]!;
      const segEnd = s + 1 < h.length ? h[s + 1]!.at : Number.POSITIVE_INFINITY;
      if (seg.running && Math.min(b, segEnd) > Math.max(a, seg.at, inst.launchTimeMs)) {
        out[k] = 2 + (hash32(`${inst.id}/${a}`) % 3800) / 100;
        break;
      }
    }
  }
  return out;
}

/** Chooses each instance's metric source: the caller model unless a live source was plugged in. */
export class MetricsEngine {
  private readonly overrides = new Map<string, MetricSource>();

  setSource(instanceId: string, source: MetricSource | undefined): void {
    if (source) this.overrides.set(instanceId, source);
    else this.overrides.delete(instanceId);
  }

  /** Per-bucket values of an EC2 metric (sums for the IMDS metrics, the average for CPUUtilization). */
  sums(inst: SimInstance, metric: Ec2MetricName, w: MetricWindow): Float64Array {
    if (metric === 'CPUUtilization') return cpuUtilization(inst, w);
    return (this.overrides.get(inst.id) ?? callerMetricSource).sums(inst, metric, w);
  }
}
