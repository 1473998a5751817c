import type { AwsClients, ClientsFor } from '@imdsv2-cutover/aws';
import { createAwsClients } from '@imdsv2-cutover/aws';
import { CutoverError, assertKnownRegions } from '@imdsv2-cutover/core';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * How a run reaches AWS, as the user gave it (the AWS CLI's own flags and variables): every workflow builds its
 * clients from one of these.
 */
export interface ConnectionConfig {
  /** `--profile` / AWS_PROFILE; the SDK's default credential chain when absent. */
  profile?: string;
  /** `--region` / AWS_REGION: the region of global calls (STS, Organizations) and the default region to work in. */
  region?: string;
  /** `--endpoint-url`: every call goes there (the simulator, a proxy). */
  endpointUrl?: string;
  /** `--role-name`: the role assumed in every account other than the credentials' own. */
  roleName?: string;
  /** Base credentials replacing the default chain (the demo's simulated keys, library users). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Expected parallel calls (sizes the connection pool). */
  concurrency?: number;
  /** Environment to read AWS_DEFAULT_REGION, the profile and IMDSV2_EXTRA_REGIONS from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** The regions of the input file a command acts on (a plan, a journal), or how to read them when needed. */
export type InputRegions = readonly string[] | (() => Promise<readonly string[]>);

/** Where the region of a run came from, for messages. */
export type RegionSource = 'flag' | 'regions' | 'environment' | 'profile' | 'input file';

/** The region of the profile in the shared config file (`region = ...`), through the SDK's own config loader. */
async function profileRegion(
  profile: string | undefined,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const { loadSharedConfigFiles } = await import('@smithy/core/config');
  const name = profile ?? env.AWS_PROFILE ?? 'default';
  try {
    const files = await loadSharedConfigFiles({ ignoreCache: true });
    return files.configFile[name]?.region ?? files.credentialsFile[name]?.region;
  } catch {
    return undefined;
  }
}

/**
 * The one region rule of every command. The region is, in order: `--region` (or AWS_REGION, which oclif maps onto
 * it), the first of `--regions`, AWS_DEFAULT_REGION, the profile's `region` in the shared config file, then the first
 * region of the input file (the plan or journal the command acts on). Every name given is checked against the known
 * regions (a typo is exit 2 naming the closest one). No region at all is BAD_USAGE (exit 2) with the same message
 * for every command.
 */
export async function resolveRegion(
  config: ConnectionConfig,
  o: { regions?: readonly string[]; inputRegions?: InputRegions } = {},
): Promise<{ region: string; source: RegionSource }> {
  const env = config.env ?? process.env;
  if (o.regions && o.regions.length > 0) assertKnownRegions(o.regions, '--regions', env);
  if (config.region !== undefined && config.region !== '') {
    assertKnownRegions([config.region], '--region', env);
    return { region: config.region, source: 'flag' };
  }
  if (o.regions && o.regions.length > 0) return { region: o.regions[0]!, source: 'regions' };
  const fromEnv = env.AWS_DEFAULT_REGION;
  if (fromEnv) {
    assertKnownRegions([fromEnv], 'AWS_DEFAULT_REGION', env);
    return { region: fromEnv, source: 'environment' };
  }
  const fromProfile = await profileRegion(config.profile, env);
  if (fromProfile) {
    assertKnownRegions([fromProfile], `the region of profile ${config.profile ?? env.AWS_PROFILE ?? 'default'}`, env);
    return { region: fromProfile, source: 'profile' };
  }
  const input = typeof o.inputRegions === 'function' ? await o.inputRegions() : o.inputRegions;
  const first = input?.[0];
  if (first !== undefined) return { region: first, source: 'input file' };
  throw new CutoverError('BAD_USAGE', 'No region: pass --region, set AWS_REGION, or set a region in your AWS profile', {
    suggestions: [
      'e.g. --region us-east-1 (the region of global calls such as STS, and the default region to work in)',
      'or `aws configure set region us-east-1` for the profile you use',
    ],
  });
}

/**
 * Builds the client factory of a run from its connection config (one keep-alive pool, adaptive retry, the command log,
 * per-account credentials through the role). The caller destroys it when done.
 */
export async function connect(
  config: ConnectionConfig,
  o: { regions?: readonly string[]; inputRegions?: InputRegions; toolVersion: string },
): Promise<AwsClients> {
  const { region } = await resolveRegion(config, o);
  return createAwsClients({
    region,
    ...(config.profile ? { profile: config.profile } : {}),
    ...(config.endpointUrl ? { endpointUrl: config.endpointUrl } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    concurrency: config.concurrency ?? 32,
    toolVersion: o.toolVersion,
  });
}

/**
 * The per-(account, region) clients that enforce, rollback and status take: accounts other than the credentials' own
 * are reached through `config.roleName` (a GetCallerIdentity tells which account is one's own).
 */
export async function clientsForAccounts(factory: AwsClients, config: ConnectionConfig): Promise<ClientsFor> {
  const roleName = config.roleName;
  if (roleName === undefined) return factory.clientsFor({});
  return factory.clientsFor({ roleName, callerAccount: await factory.callerAccount() });
}
