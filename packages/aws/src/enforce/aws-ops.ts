import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import { DescribeInstancesCommand, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import type { MetadataSettings } from '@imdsv2-cutover/core';
import { TokenBucket } from '@imdsv2-cutover/core';
import { awsErrorCode, awsFailure } from '../errors.js';
import type { LiveInstance } from './types.js';

/** Instance ids per DescribeInstances call: the `instance-id` filter takes up to 200 values. */
export const DESCRIBE_BATCH = 200;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toLive(i: Instance): LiveInstance | null {
  if (!i.InstanceId) return null;
  const m = i.MetadataOptions;
  const settings: MetadataSettings | null =
    m?.HttpTokens && m.HttpPutResponseHopLimit !== undefined && m.HttpEndpoint
      ? {
          httpTokens: m.HttpTokens,
          httpPutResponseHopLimit: m.HttpPutResponseHopLimit,
          httpEndpoint: m.HttpEndpoint,
        }
      : null;
  return {
    instanceId: i.InstanceId,
    state: i.State?.Name ?? 'unknown',
    metadataState: (m?.State as LiveInstance['metadataState']) ?? null,
    settings,
  };
}

/**
 * Live state of instances, 200 ids a call through the `instance-id` filter (a filter, not `InstanceIds`, so that one
 * terminated-and-gone id does not fail the whole call with InvalidInstanceID.NotFound). Ids missing from the answer are
 * gone; terminated instances come back with state `terminated` until EC2 forgets them.
 */
export async function describeLive(ec2: EC2Client, ids: readonly string[]): Promise<Map<string, LiveInstance>> {
  const out = new Map<string, LiveInstance>();
  for (const batch of chunk(ids, DESCRIBE_BATCH)) {
    let token: string | undefined;
    do {
      const r = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'instance-id', Values: batch }],
          MaxResults: 1000,
          NextToken: token,
        }),
      );
      for (const res of r.Reservations ?? []) {
        for (const i of res.Instances ?? []) {
          const live = toLive(i);
          if (live) out.set(live.instanceId, live);
        }
      }
      token = r.NextToken;
    } while (token);
  }
  return out;
}

/** True when the instance is gone or on its way out. */
export function isGone(live: LiveInstance | undefined): boolean {
  return !live || live.state === 'terminated' || live.state === 'shutting-down';
}

export function sameSettings(a: MetadataSettings | null | undefined, b: MetadataSettings | null | undefined): boolean {
  return (
    !!a &&
    !!b &&
    a.httpTokens === b.httpTokens &&
    a.httpPutResponseHopLimit === b.httpPutResponseHopLimit &&
    a.httpEndpoint === b.httpEndpoint
  );
}

export function settingsText(s: MetadataSettings | null | undefined): string {
  return s ? `tokens ${s.httpTokens}, hop limit ${s.httpPutResponseHopLimit}, endpoint ${s.httpEndpoint}` : 'unknown';
}

/**
 * Sets an instance's metadata settings (the three the tool manages; others keep their value) with
 * ModifyInstanceMetadataOptions. `from`: the instance's settings now, when known; HttpTokens is then left out of the
 * call if it does not change.
 */
export async function modifyMetadata(
  ec2: EC2Client,
  instanceId: string,
  s: MetadataSettings,
  dryRun = false,
  from?: Pick<MetadataSettings, 'httpTokens'> | null,
): Promise<void> {
  await ec2.send(
    new ModifyInstanceMetadataOptionsCommand({
      InstanceId: instanceId,
      // HttpTokens is sent only when it changes: whether EC2 refuses restating `optional` while HttpTokensEnforced is
      // enabled is not documented (docs/simulator-fidelity.md), and an unspecified option keeps its value.
      HttpTokens: from?.httpTokens === s.httpTokens ? undefined : s.httpTokens,
      HttpPutResponseHopLimit: s.httpPutResponseHopLimit,
      HttpEndpoint: s.httpEndpoint,
      DryRun: dryRun || undefined,
    }),
  );
}

/** Error codes meaning the instance no longer exists. */
export function isGoneError(e: unknown): boolean {
  const c = awsErrorCode(e);
  return c === 'InvalidInstanceID.NotFound' || c === 'InvalidInstanceID.Malformed';
}

/** Default Modify bucket per account and region (EC2 throttling, design reference section 5). */
export const MODIFY_BUCKET = { capacity: 100, refillPerSecond: 5 };

/**
 * One token bucket per account and region for mutating calls, so that a wave spread over several regions runs each at
 * EC2's rate. The SDK's adaptive retry still handles RequestLimitExceeded if other tools share the bucket.
 */
export class RegionalLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly spec: { capacity: number; refillPerSecond: number } = MODIFY_BUCKET,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async take(accountId: string, region: string): Promise<void> {
    const key = `${accountId}/${region}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(this.spec.capacity, this.spec.refillPerSecond);
      this.buckets.set(key, b);
    }
    const wait = b.reserve();
    if (wait > 0) await this.sleep(wait);
  }
}

/** Groups items by account and region. */
export function byPair<T extends { accountId: string; region: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = `${it.accountId}/${it.region}`;
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

/**
 * An AWS error of one instance's call, as the journal records it and the user reads it: the service's code, and a
 * message that names the operation, account (`accountId`: the account the call was made in) and region and says what
 * to do (`awsFailure`).
 */
export function callFailure(err: unknown, accountId?: string): { code: string; message: string } {
  const f = awsFailure(err, accountId === undefined ? {} : { callerAccount: accountId });
  const hint = f.suggestions[0];
  return { code: awsErrorCode(err), message: hint ? `${f.message.replace(/\.$/, '')}. ${hint}` : f.message };
}

/**
 * Groups failures that share a cause (the same message once the instance id is taken out), for one line per cause:
 * `3 × ec2:ModifyInstanceMetadataOptions in account ..., region ... could not be reached: ... (i-1, i-2, i-3)`.
 */
export function failureLines(failed: readonly { instanceId: string; message: string }[]): string[] {
  const by = new Map<string, string[]>();
  for (const f of failed) {
    const key = f.message.split(f.instanceId).join('<instance>');
    by.set(key, [...(by.get(key) ?? []), f.instanceId]);
  }
  return [...by].map(([msg, ids]) => {
    const shown = ids.slice(0, 5).join(', ') + (ids.length > 5 ? `, ... (${ids.length - 5} more)` : '');
    return `${ids.length} × ${msg} (${shown})`;
  });
}

/**
 * Waits for every task to settle, then rethrows the first failure: no task is left running (and calling AWS) when the
 * caller moves on, e.g. to close the journal.
 */
export async function settleAll<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/**
 * An instance's settings read back after its Modify call failed: EC2 may have made the change and lost the answer
 * (a connection reset after the handler ran). `gone` for a terminated instance; null when it cannot be read now.
 */
export async function readBack(ec2: EC2Client, instanceId: string): Promise<MetadataSettings | 'gone' | null> {
  try {
    const l = (await describeLive(ec2, [instanceId])).get(instanceId);
    if (isGone(l)) return 'gone';
    return l!.settings;
  } catch {
    return null;
  }
}
