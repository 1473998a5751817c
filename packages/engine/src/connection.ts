import type { AwsClients, ClientsFor } from '@imdsv2-cutover/aws';
import { CutoverError, assertKnownPartition, assertKnownRegions, partitionOfRegion } from '@imdsv2-cutover/core';
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

/** The region of a run by the region rule, or undefined when no source gives one (names checked). */
async function findRegion(
  config: ConnectionConfig,
  o: { regions?: readonly string[]; inputRegions?: InputRegions } = {},
): Promise<{ region: string; source: RegionSource } | undefined> {
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
  return undefined;
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
  const found = await findRegion(config, o);
  if (found) return found;
  throw new CutoverError('BAD_USAGE', 'No region: pass --region, set AWS_REGION, or set a region in your AWS profile', {
    suggestions: [
      'e.g. --region us-east-1 (the region of global calls such as STS, and the default region to work in)',
      'or `aws configure set region us-east-1` for the profile you use',
    ],
  });
}

/** Where the partition of a run came from, for messages. */
export type PartitionSource = 'flag' | RegionSource | 'default';

/**
 * The partition ARNs are written in before any AWS call (`imdsv2 policy`): `--partition` when given (checked against
 * the known partitions), else the partition of the region the region rule finds (`--region`, AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's region), else `aws`. Commands that call AWS take the partition from the caller's
 * identity instead (GetCallerIdentity), which a region of another partition contradicts (BAD_USAGE).
 */
export async function resolvePartition(
  config: ConnectionConfig,
  partition?: string,
): Promise<{ partition: string; source: PartitionSource }> {
  if (partition !== undefined) {
    assertKnownPartition(partition, '--partition');
    return { partition, source: 'flag' };
  }
  const found = await findRegion(config);
  const fromRegion = found ? partitionOfRegion(found.region) : null;
  if (found && fromRegion !== null) return { partition: fromRegion, source: found.source };
  return { partition: 'aws', source: 'default' };
}

/**
 * Refuses a run whose regions are of two partitions (BAD_USAGE, exit 2): the region of its global calls (STS,
 * Organizations) must be in the partition of the regions it acts in (`--regions`, the plan's or journal's), since
 * credentials of one partition reach no account of another. Input regions that cannot be read are left to the
 * workflow, which reads them itself and says what is wrong.
 */
async function assertOnePartition(
  found: { region: string; source: RegionSource },
  o: { regions?: readonly string[]; inputRegions?: InputRegions },
): Promise<void> {
  const partition = partitionOfRegion(found.region);
  if (partition === null) return;
  let input: readonly string[] = [];
  try {
    input = (typeof o.inputRegions === 'function' ? await o.inputRegions() : o.inputRegions) ?? [];
  } catch {
    input = [];
  }
  const sets: [string, readonly string[]][] = [
    ['--regions', o.regions ?? []],
    ['the input file', input],
  ];
  for (const [what, regions] of sets) {
    for (const r of regions) {
      const other = partitionOfRegion(r);
      if (other === null || other === partition) continue;
      const named = found.source === 'flag' ? '--region' : `the region (from ${found.source})`;
      throw new CutoverError(
        'BAD_USAGE',
        `${named} ${found.region} is in partition ${partition}, but ${what} names ${r}, in ${other}`,
        {
          suggestions: [
            `Pass --region ${r} (the region of global calls must be in the partition of the accounts).`,
            'Each AWS account lives in one partition (aws, aws-cn, aws-us-gov): run each partition separately.',
          ],
        },
      );
    }
  }
}

/**
 * Builds the client factory of a run from its connection config (one keep-alive pool, adaptive retry, the command log,
 * per-account credentials through the role). The caller destroys it when done. The region comes from the region rule
 * (`resolveRegion`) and must be in the partition of the regions the run acts in (BAD_USAGE otherwise).
 */
export async function connect(
  config: ConnectionConfig,
  o: { regions?: readonly string[]; inputRegions?: InputRegions; toolVersion: string },
): Promise<AwsClients> {
  const found = await resolveRegion(config, o);
  await assertOnePartition(found, o);
  const { region } = found;
  // Loaded here, not at the top: commands that only resolve a region or partition (policy) never load the SDK.
  const { createAwsClients } = await import('@imdsv2-cutover/aws');
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
