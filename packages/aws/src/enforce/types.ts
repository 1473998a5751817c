import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { MetadataSettings, Reporter } from '@imdsv2-cutover/core';

/**
 * The AWS clients enforcement needs, per account and region. The engine never builds clients: the CLI injects this,
 * backed by the shared client factory (credentials per account, adaptive retry, endpoint override). Implementations
 * should return the same client for the same (account, region), so middleware and retry state are shared.
 */
export interface ClientsFor {
  ec2(accountId: string, region: string): EC2Client;
  cloudwatch(accountId: string, region: string): CloudWatchClient;
  autoScaling(accountId: string, region: string): AutoScalingClient;
}

/** How to treat an instance whose live settings differ from what the plan recorded. */
export type OnDrift = 'fail' | 'skip' | 'adopt';

/** An instance's live state as DescribeInstances reports it (absent from the answer: gone/terminated). */
export interface LiveInstance {
  instanceId: string;
  /** running, stopped, terminated, ... */
  state: string;
  metadataState: 'pending' | 'applied' | null;
  settings: MetadataSettings | null;
}

/** Common engine dependencies. */
export interface EngineDeps {
  clients: ClientsFor;
  reporter?: Reporter;
  /** Sleeps (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
  /** The local clock (tests pair it with `sleep` to make time pass instantly). */
  now?: () => number;
}

export const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
