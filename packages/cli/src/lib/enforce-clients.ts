import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { ClientsFor } from '@imdsv2-cutover/aws';

/**
 * AWS clients for enforce, rollback and status: one per (service, region), with adaptive retry (RequestLimitExceeded
 * backs off) and the `--endpoint-url` override. Credentials come from the SDK's default chain (or `--profile`), so
 * every account is reached with the same credentials.
 * TODO(integration): replace with the shared client factory (per-account role assumption) from the assess engine.
 */
export function enforcementClients(flags: { profile?: string; 'endpoint-url'?: string }): ClientsFor {
  const cache = new Map<string, EC2Client | CloudWatchClient | AutoScalingClient>();
  const config = (region: string) => ({
    region,
    endpoint: flags['endpoint-url'],
    profile: flags.profile,
    retryMode: 'adaptive',
    maxAttempts: 8,
    // The simulator's accelerated clock moves the server time between any two responses; with skew correction on, the
    // SDK takes every error (DryRunOperation included) for a clock-skew fix and retries it to maxAttempts. Against
    // AWS itself (no endpoint override) skew correction stays on.
    disableClockSkewCorrection: flags['endpoint-url'] !== undefined,
  });
  function get<T extends EC2Client | CloudWatchClient | AutoScalingClient>(
    kind: string,
    region: string,
    make: () => T,
  ): T {
    const key = `${kind}/${region}`;
    let c = cache.get(key);
    if (!c) {
      c = make();
      cache.set(key, c);
    }
    return c as T;
  }
  return {
    ec2: (_account, region) => get('ec2', region, () => new EC2Client(config(region))),
    cloudwatch: (_account, region) => get('cw', region, () => new CloudWatchClient(config(region))),
    autoScaling: (_account, region) => get('asg', region, () => new AutoScalingClient(config(region))),
  };
}
