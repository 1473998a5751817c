import type { ScenarioInput } from '@imdsv2-cutover/core';

/** The shape of a generated organization (`organizationScenario`). */
export interface OrganizationShape {
  /** Member accounts, the management account included (default 1,000). */
  accounts?: number;
  /** Regions enabled in every account (default us-east-1, eu-west-1, ap-southeast-2, us-west-2). */
  regions?: string[];
  /** Instances per account and region (default 25: 1,000 accounts x 4 regions = 100,000 instances). */
  instancesPerRegion?: number;
  /** Share of the plain instances that make IMDSv1 calls (default 0.1). */
  v1Share?: number;
  seed?: number;
}

/** The regions of a generated organization unless told otherwise. */
export const ORGANIZATION_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'];

/** The id of account `i` (0-based) of a generated organization: 100000000000 + i, the first being the management account. */
export const organizationAccountId = (i: number): string => String(100_000_000_000 + i);

/**
 * A generated AWS Organization for rehearsals and benchmarks at organization scale: `accounts` accounts, each with
 * the same `regions`, and in each account and region `instancesPerRegion` instances: 80% plain instances (a share of
 * them calling IMDSv1 twice an hour), 10% in an Auto Scaling group launched from a launch template, 10% already
 * enforced; one image, one launch template and one group per account and region. Account 0 is the management account
 * (`organizationMaster`); every other account is reached with AssumeRole (any role name). Deterministic for a seed.
 * With the defaults: 1,000 accounts x 4 regions x 25 = 100,000 instances (`imdsv2 simulate --scenario org-1000`).
 */
export function organizationScenario(shape: OrganizationShape = {}): ScenarioInput {
  const accountCount = shape.accounts ?? 1000;
  const regions = shape.regions ?? ORGANIZATION_REGIONS;
  const per = shape.instancesPerRegion ?? 25;
  if (!(Number.isInteger(accountCount) && accountCount >= 1 && accountCount <= 100_000))
    throw new RangeError(`accounts must be a whole number from 1 to 100,000, got ${accountCount}`);
  if (!(Number.isInteger(per) && per >= 1)) throw new RangeError(`instancesPerRegion must be >= 1, got ${per}`);
  const asg = Math.round(per * 0.1);
  const enforced = Math.round(per * 0.1);
  const plain = per - asg - enforced;
  const accounts: NonNullable<ScenarioInput['accounts']> = [];
  const images: NonNullable<ScenarioInput['images']> = [];
  const launchTemplates: NonNullable<ScenarioInput['launchTemplates']> = [];
  const autoScalingGroups: NonNullable<ScenarioInput['autoScalingGroups']> = [];
  const instanceGroups: NonNullable<ScenarioInput['instanceGroups']> = [];
  for (let a = 0; a < accountCount; a++) {
    const account = organizationAccountId(a);
    accounts.push({ id: account, name: a === 0 ? 'management' : `member-${a}` });
    regions.forEach((region, r) => {
      const ami = `ami-${(a * regions.length + r).toString(16).padStart(17, '0')}`;
      images.push({ id: ami, account, region, name: 'al2023' });
      launchTemplates.push({ name: 'app-lt', account, region, versions: [{ imageId: ami }] });
      autoScalingGroups.push({ name: 'app-asg', account, region, launchTemplate: { name: 'app-lt' } });
      if (plain > 0)
        instanceGroups.push({
          name: `app-${a}-${r}`,
          account,
          region,
          count: plain,
          imageId: ami,
          callers: [
            { process: { comm: 'aws', user: 'root' }, imds: 'v1', callsPerHour: 2, share: shape.v1Share ?? 0.1 },
          ],
        });
      if (asg > 0)
        instanceGroups.push({
          name: `asg-${a}-${r}`,
          account,
          region,
          count: asg,
          autoScalingGroup: 'app-asg',
          launchTemplate: { name: 'app-lt' },
        });
      if (enforced > 0)
        instanceGroups.push({
          name: `enforced-${a}-${r}`,
          account,
          region,
          count: enforced,
          imageId: ami,
          metadataOptions: { httpTokens: 'required' },
        });
    });
  }
  return {
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: `org-${accountCount}x${regions.length}x${per}`,
    seed: shape.seed ?? 1000,
    now: '2025-06-30T06:00:00Z',
    emitZeroDatapoints: true,
    regions,
    accounts,
    organizationMaster: organizationAccountId(0),
    images,
    launchTemplates,
    autoScalingGroups,
    instanceGroups,
  };
}
