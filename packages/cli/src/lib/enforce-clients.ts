import type { AwsClients, ClientsFor } from '@imdsv2-cutover/aws';
import { createAwsClients } from '@imdsv2-cutover/aws';
import { Flags } from '@oclif/core';

/** `--role-name` for commands that act on every account of a plan or journal. */
export const roleNameFlag = {
  'role-name': Flags.string({
    description:
      'Role to assume in each account of the plan other than the one of your credentials (as with `assess --accounts`).',
    helpGroup: 'AWS',
  }),
};

export interface EnforcementClients {
  clients: ClientsFor;
  factory: AwsClients;
}

/**
 * The clients enforce, rollback and status use, from the shared client factory: adaptive retry, the endpoint override,
 * one keep-alive pool, and per-account credentials through `--role-name`. The caller destroys `factory` when done.
 */
export async function enforcementClients(
  flags: { profile?: string; region?: string; 'endpoint-url'?: string; 'role-name'?: string },
  toolVersion: string,
): Promise<EnforcementClients> {
  const factory = createAwsClients({
    region: flags.region ?? 'us-east-1',
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags['endpoint-url'] ? { endpointUrl: flags['endpoint-url'] } : {}),
    toolVersion,
    concurrency: 32,
  });
  const roleName = flags['role-name'];
  const callerAccount = roleName === undefined ? undefined : await factory.callerAccount();
  return {
    factory,
    clients: factory.clientsFor({
      ...(roleName === undefined ? {} : { roleName }),
      ...(callerAccount === undefined ? {} : { callerAccount }),
    }),
  };
}
