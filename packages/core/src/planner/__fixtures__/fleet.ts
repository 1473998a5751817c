import type { Instance, Policy, PolicyInput } from '../../index.js';
import { Policy as PolicySchema } from '../../index.js';
import { makeInstance } from '@imdsv2-cutover/test-utils';

/** A policy with the given fields over the defaults. */
export function policyOf(input: Omit<PolicyInput, 'schema'> = {}): Policy {
  return PolicySchema.parse({ schema: { name: 'imdsv2-cutover/policy', version: 1 }, ...input });
}

/** Instance id number `n` (unique, valid). */
export function iid(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

export interface Spec {
  n: number;
  /** Environment tag; default `dev`, null for no tag. */
  env?: string | null;
  app?: string;
  asg?: string;
  status?: Instance['readiness']['status'];
  account?: string;
  region?: string;
  hop?: number;
  containerHost?: boolean | null;
  state?: Instance['state'];
  tags?: Record<string, string>;
}

/** A compact instance: `ready`, running, in `dev`, application `web`, unless the spec says otherwise. */
export function inst(s: Spec): Instance {
  const base = makeInstance();
  const tags: Record<string, string> = { Name: `host-${s.n}`, Owner: `team-${s.app ?? 'web'}` };
  if (s.env !== null) tags.Environment = s.env ?? 'dev';
  if (s.app !== undefined) tags.Application = s.app;
  const status = s.status ?? 'ready';
  return {
    ...base,
    instanceId: iid(s.n),
    name: `host-${s.n}`,
    accountId: s.account ?? '111111111111',
    region: s.region ?? 'us-east-1',
    tags: { ...tags, ...s.tags },
    state: s.state ?? 'running',
    autoScalingGroup: s.asg,
    containerHost: s.containerHost ?? false,
    metadataOptions: {
      ...base.metadataOptions,
      httpTokens: status === 'enforced' ? 'required' : 'optional',
      httpPutResponseHopLimit: s.hop ?? 1,
      httpEndpoint: status === 'imds-disabled' ? 'disabled' : 'enabled',
    },
    readiness: {
      status,
      reasons:
        status === 'ready'
          ? []
          : [
              {
                code: `${status}-reason`,
                severity: status === 'blocked' ? 'blocker' : 'info',
                message: `is ${status}`,
              },
            ],
    },
  };
}
