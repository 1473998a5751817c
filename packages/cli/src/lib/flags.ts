import type { ConnectionConfig } from '@imdsv2-cutover/engine';
import { DATE_FORMS, parseDate } from '@imdsv2-cutover/core';
import { Flags } from '@oclif/core';

/** The AWS connection flags, named as in the AWS CLI. Commands that talk to AWS spread these into their flags. */
export const awsFlags = {
  profile: Flags.string({
    description: 'Named profile from the shared AWS config/credentials files (default: the SDK credential chain).',
    env: 'AWS_PROFILE',
    helpGroup: 'AWS',
  }),
  region: Flags.string({
    description:
      'Region of global calls (STS, Organizations) and the default region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile’s region, then the first region of the plan or journal.',
    env: 'AWS_REGION',
    helpGroup: 'AWS',
  }),
  'endpoint-url': Flags.string({
    description: 'Send every AWS call to this endpoint (the fleet simulator, or a VPC endpoint proxy).',
    helpGroup: 'AWS',
  }),
};

/** `--role-name` for commands that act on every account of a plan or journal. */
export const roleNameFlag = {
  'role-name': Flags.string({
    description:
      'Role to assume in each account of the plan other than the one of your credentials (as with `assess --accounts`).',
    helpGroup: 'AWS',
  }),
};

/** The connection config of the engine's workflows, from the AWS flags. */
export function connectionOf(flags: {
  profile?: string;
  region?: string;
  'endpoint-url'?: string;
  'role-name'?: string;
}): ConnectionConfig {
  return {
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags['endpoint-url'] ? { endpointUrl: flags['endpoint-url'] } : {}),
    ...(flags['role-name'] ? { roleName: flags['role-name'] } : {}),
  };
}

/** A comma-separated flag value as a list (blank entries dropped); undefined stays undefined. */
export function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `--start-date` of plan and report: one date grammar (core's `parseDate`), checked before any work. */
export const startDateFlag = (what: string) =>
  Flags.string({ description: `${what}: ${DATE_FORMS}.`, helpValue: 'DATE' });

/** The `--start-date` value as epoch ms, or BAD_USAGE naming it (see `startDateFlag`). */
export function startDateOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDate(value, '--start-date');
}
