// The benchmark fleets. One account, N instances spread evenly over the regions, or an organization of many accounts:
// the simulator's generated organization (`organizationScenario`): per account and region 80% plain instances of which
// a tenth run an IMDSv1 caller, 10% in an Auto Scaling group with a launch template, 10% already enforced.
import { load } from './lib.mjs';

const { organizationAccountId, organizationScenario } = await load('simulator');

/** The (management) account of every benchmark fleet; the access key maps to it. */
export const ACCOUNT = organizationAccountId(0);
export const ACCESS_KEY = `AKIA${ACCOUNT}SIMK`;
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2', 'eu-central-1'];
/** Share of the plain instances that make IMDSv1 calls (the suspects a fleet probe would visit). */
export const V1_SHARE = 0.1;

/** `count` instances in one account, spread evenly over the first `regionCount` regions. */
export function benchScenario(count, regionCount = 1) {
  return organizationScenario({
    accounts: 1,
    regions: REGIONS.slice(0, regionCount),
    instancesPerRegion: Math.floor(count / regionCount),
    v1Share: V1_SHARE,
  });
}

/** An organization: `accounts` accounts x `regionCount` regions x `perRegion` instances. */
export function orgScenario(accounts, regionCount, perRegion) {
  return organizationScenario({
    accounts,
    regions: REGIONS.slice(0, regionCount),
    instancesPerRegion: perRegion,
    v1Share: V1_SHARE,
  });
}
