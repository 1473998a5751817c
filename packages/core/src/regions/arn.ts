import { CutoverError } from '../errors.js';
import regionsData from './aws-regions.json' with { type: 'json' };
import { partitionOfRegion } from './index.js';

/**
 * ARNs in the caller's partition. An ARN is `arn:partition:service:region:account-id:resource`, and "each AWS account
 * is scoped to one partition" (`aws`, `aws-cn`, `aws-us-gov`, ...: AWS General Reference, "Amazon Resource Names
 * (ARNs)"). So the tool never writes `arn:aws:` itself: it reads the partition from the caller's identity
 * (STS GetCallerIdentity `Arn`) or, before any call, from the region, and builds every ARN from it.
 */

/** The partition ids the tool knows, as ARNs spell them (from the SDK's partition data). */
export const PARTITION_IDS: readonly string[] = regionsData.partitions.map((p) => p.id);

/** The placeholder of ARN patterns that are resolved per partition (`arn:{partition}:iam::*:role/...`). */
export const PARTITION_PLACEHOLDER = '{partition}';

/**
 * The partition of an ARN: `arn:aws-cn:sts::444444444444:assumed-role/R/s` gives `aws-cn`. Null when the string is
 * not an ARN or its partition field is empty or has a wildcard.
 */
export function partitionOfArn(arn: string): string | null {
  const m = /^arn:([a-z][a-z0-9-]*):/.exec(arn);
  return m ? m[1]! : null;
}

/**
 * Checks a partition a user named (`--partition`): one of the known ids, else BAD_USAGE (exit 2) naming the value and
 * the known ones.
 */
export function assertKnownPartition(partition: string, what: string): void {
  if (PARTITION_IDS.includes(partition)) return;
  throw new CutoverError('BAD_USAGE', `${what}: "${partition}" is not an AWS partition`, {
    suggestions: [`Use one of ${PARTITION_IDS.join(', ')} (aws-cn for the China regions, aws-us-gov for GovCloud).`],
  });
}

/** The ARN of an IAM role: `arn:<partition>:iam::<accountId>:role/<roleName>` (a role name may carry a path). */
export function iamRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/** Fills the `{partition}` placeholder of an ARN or ARN pattern. */
export function withPartition(pattern: string, partition: string): string {
  return pattern.replaceAll(PARTITION_PLACEHOLDER, partition);
}

/**
 * An ARN pattern a user wrote (the SCP's admin principal), for `partition`: the placeholder filled in, and a literal
 * partition that is not this one refused (BAD_INPUT, exit 2), since a principal of another partition never matches and
 * the SCP would then deny the admin too. A wildcard partition (`arn:*:iam::...`) is kept as written.
 */
export function arnPatternFor(pattern: string, partition: string, what: string): string {
  const arn = withPartition(pattern, partition);
  const written = /^arn:([^:]*):/.exec(arn)?.[1];
  if (written === undefined) {
    throw new CutoverError('BAD_INPUT', `${what}: "${pattern}" is not an ARN (arn:partition:service:...)`, {
      suggestions: [
        `Write it as arn:${PARTITION_PLACEHOLDER}:iam::*:role/<role-name>; {partition} becomes ${partition}.`,
      ],
    });
  }
  if (written !== partition && !/[*?]/.test(written)) {
    throw new CutoverError(
      'BAD_INPUT',
      `${what}: "${pattern}" is in partition ${written}, but the accounts are in ${partition}`,
      {
        suggestions: [
          `Write arn:${PARTITION_PLACEHOLDER}:... (filled in with the partition of the assessment) or arn:${partition}:...`,
        ],
      },
    );
  }
  return arn;
}

/**
 * The one partition of a set of regions, or null when it is empty or no region is known. Regions of several
 * partitions are BAD_INPUT (exit 2) naming two of them: an account, and so one run of the tool, lives in one partition.
 */
export function partitionOfRegions(regions: Iterable<string>, what: string): string | null {
  let found: { partition: string; region: string } | undefined;
  for (const region of regions) {
    const partition = partitionOfRegion(region);
    if (partition === null) continue;
    if (found === undefined) found = { partition, region };
    else if (found.partition !== partition) {
      throw new CutoverError(
        'BAD_INPUT',
        `${what} spans two partitions: ${found.region} is in ${found.partition}, ${region} in ${partition}`,
        {
          suggestions: [
            'Each AWS account lives in one partition (aws, aws-cn, aws-us-gov): assess, plan and enforce each partition separately.',
          ],
        },
      );
    }
  }
  return found?.partition ?? null;
}

/** What `assessmentPartition` reads of an assessment. */
export interface PartitionedAssessment {
  scope: { partition?: string | undefined; regions: readonly string[] };
  regions: readonly { region: string }[];
  accounts: readonly { accountId: string; partition?: string | undefined }[];
}

/**
 * The partition of an assessment: the one it recorded (the partition of the credentials that took it, from
 * GetCallerIdentity), else, for a file written before the tool recorded it, the partition of its regions, else `aws`.
 * Regions or accounts of another partition than the assessment's are BAD_INPUT (exit 2): one assessment never mixes
 * partitions (credentials of one partition cannot reach another's accounts).
 */
export function assessmentPartition(a: PartitionedAssessment, what = 'the assessment'): string {
  const regions = [...a.scope.regions, ...a.regions.map((r) => r.region)];
  const fromRegions = partitionOfRegions(regions, what);
  const recorded = a.scope.partition;
  if (recorded !== undefined && fromRegions !== null && recorded !== fromRegions) {
    throw new CutoverError(
      'BAD_INPUT',
      `${what} records partition ${recorded} but assessed regions of ${fromRegions} (${regions.find((r) => partitionOfRegion(r) === fromRegions)})`,
      { suggestions: ['Assess again: an assessment is taken with the credentials of one partition.'] },
    );
  }
  const partition = recorded ?? fromRegions ?? 'aws';
  const other = a.accounts.find((x) => x.partition !== undefined && x.partition !== partition);
  if (other) {
    throw new CutoverError(
      'BAD_INPUT',
      `${what} mixes partitions: account ${other.accountId} is in ${other.partition}, the assessment in ${partition}`,
      {
        suggestions: [
          'Each AWS account lives in one partition (aws, aws-cn, aws-us-gov): assess, plan and enforce each partition separately.',
        ],
      },
    );
  }
  return partition;
}
