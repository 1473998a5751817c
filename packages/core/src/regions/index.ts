import { closestName } from '../closest.js';
import { CutoverError } from '../errors.js';
import regionsData from './aws-regions.json' with { type: 'json' };

/**
 * The AWS regions and partitions the tool knows, generated from the AWS SDK's own partition data
 * (`node scripts/gen-regions.mjs`; a test fails when it is stale). Regions launched after this release can be added
 * at run time with `IMDSV2_EXTRA_REGIONS=xx-new-1,...` (see docs/troubleshooting.md, BAD_USAGE).
 */
export interface PartitionInfo {
  /** `aws`, `aws-cn`, `aws-us-gov`, ... as ARNs spell it. */
  id: string;
  regionRegex: string;
  regions: string[];
}

export const AWS_PARTITIONS: readonly PartitionInfo[] = regionsData.partitions;

function extraRegions(env: Record<string, string | undefined>): string[] {
  return (env.IMDSV2_EXTRA_REGIONS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The partition of a region (`aws`, `aws-cn`, `aws-us-gov`...): from the known list, else from the partition's region
 * pattern (a region added with IMDSV2_EXTRA_REGIONS), else null.
 */
export function partitionOfRegion(region: string): string | null {
  for (const p of AWS_PARTITIONS) if (p.regions.includes(region)) return p.id;
  for (const p of AWS_PARTITIONS) if (new RegExp(p.regionRegex).test(region)) return p.id;
  return null;
}

/** Every known region name (and those added with IMDSV2_EXTRA_REGIONS). */
export function knownRegions(env: Record<string, string | undefined> = {}): string[] {
  return [...AWS_PARTITIONS.flatMap((p) => p.regions), ...extraRegions(env)];
}

/** The known region closest to `name` by edit distance (ties: the first in partition order). */
export function closestRegion(name: string, env: Record<string, string | undefined> = {}): string {
  return closestName(name, knownRegions(env)) ?? 'us-east-1';
}

/**
 * Checks region names a user gave (`--region`, `--regions`, a profile's region): each must be a known region. A typo
 * is BAD_USAGE (exit 2) naming the value, the flag and the closest region. `env` carries IMDSV2_EXTRA_REGIONS.
 */
export function assertKnownRegions(
  regions: readonly string[],
  what: string,
  env: Record<string, string | undefined> = {},
): void {
  const known = new Set(knownRegions(env));
  for (const r of regions) {
    if (known.has(r)) continue;
    const near = closestRegion(r, env);
    throw new CutoverError('BAD_USAGE', `${what}: "${r}" is not an AWS region (did you mean ${near}?)`, {
      suggestions: [
        `Use a region name such as ${near}.`,
        'If AWS launched the region after this release of the tool, list it in IMDSV2_EXTRA_REGIONS (comma-separated).',
      ],
    });
  }
}

export * from './arn.js';
