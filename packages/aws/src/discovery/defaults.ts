import type { EC2Client } from '@aws-sdk/client-ec2';
import { GetInstanceMetadataDefaultsCommand } from '@aws-sdk/client-ec2';
import type { AccountDefaults } from '@imdsv2-cutover/core';

function pick<T extends string>(value: string | undefined, allowed: readonly T[]): T | null {
  return value !== undefined && (allowed as readonly string[]).includes(value) ? (value as T) : null;
}

const epn = ['enabled', 'disabled', 'no-preference'] as const;

/**
 * The account's IMDS defaults for new launches in this region. An account that never set them answers with an empty
 * AccountLevel: every option is then `no-preference`.
 */
export async function getAccountDefaults(ec2: EC2Client): Promise<AccountDefaults> {
  const out = await ec2.send(new GetInstanceMetadataDefaultsCommand({}));
  const a = out.AccountLevel ?? {};
  const hop = a.HttpPutResponseHopLimit;
  return {
    httpTokens: pick(a.HttpTokens, ['optional', 'required', 'no-preference'] as const) ?? 'no-preference',
    httpPutResponseHopLimit: hop === undefined || hop === 0 ? -1 : hop,
    httpEndpoint: pick(a.HttpEndpoint, epn) ?? 'no-preference',
    instanceMetadataTags: pick(a.InstanceMetadataTags, epn) ?? 'no-preference',
    httpTokensEnforced: pick(a.HttpTokensEnforced, epn) ?? 'no-preference',
    managedBy: pick(a.ManagedBy, ['account', 'declarative-policy'] as const) ?? 'account',
    ...(a.ManagedExceptionMessage ? { managedExceptionMessage: a.ManagedExceptionMessage } : {}),
  };
}
