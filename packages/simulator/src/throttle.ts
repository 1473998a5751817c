/**
 * Token buckets per account, region and API category, refilled on wall-clock time (not the simulated clock) so that a
 * benchmark measures real throttle-bound time.
 */
export interface BucketSpec {
  size: number;
  refillPerSecond: number;
}

/**
 * Bucket sizes. EC2 and CloudWatch values are AWS's documented ones (facts sheet). SSM, Auto Scaling, STS and
 * Organizations do not publish theirs: the values here are assumptions, documented in docs/simulator.md.
 */
export const bucketSpecs: Record<string, BucketSpec> = {
  'ec2.describe': { size: 100, refillPerSecond: 20 },
  'ec2.describe-unfiltered': { size: 50, refillPerSecond: 10 },
  'ec2.modify-instance-metadata-options': { size: 100, refillPerSecond: 5 },
  'ec2.modify-instance-metadata-defaults': { size: 2, refillPerSecond: 2 },
  'ec2.mutate-template-image': { size: 100, refillPerSecond: 5 },
  'cloudwatch.GetMetricData': { size: 50, refillPerSecond: 50 },
  'cloudwatch.GetMetricStatistics': { size: 400, refillPerSecond: 400 },
  'cloudwatch.ListMetrics': { size: 25, refillPerSecond: 25 },
  'ssm.describe': { size: 40, refillPerSecond: 20 },
  'ssm.SendCommand': { size: 20, refillPerSecond: 5 },
  'ssm.invocations': { size: 50, refillPerSecond: 25 },
  'autoscaling.describe': { size: 40, refillPerSecond: 20 },
  'autoscaling.mutate': { size: 20, refillPerSecond: 5 },
  'sts.all': { size: 600, refillPerSecond: 600 },
  'organizations.all': { size: 20, refillPerSecond: 10 },
};

interface Bucket {
  tokens: number;
  lastMs: number;
}

export class Throttler {
  private readonly buckets = new Map<string, Bucket>();
  enabled: boolean;
  private readonly realNow: () => number;

  constructor(enabled: boolean, realNow: () => number = () => performance.now()) {
    this.enabled = enabled;
    this.realNow = realNow;
  }

  /** Takes one token; false when the bucket is empty (the call must be throttled). */
  take(account: string, region: string, category: string): boolean {
    if (!this.enabled) return true;
    const spec = bucketSpecs[category];
    if (!spec) return true;
    const key = `${account}/${region}/${category}`;
    const now = this.realNow();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: spec.size, lastMs: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(spec.size, b.tokens + ((now - b.lastMs) / 1000) * spec.refillPerSecond);
    b.lastMs = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
