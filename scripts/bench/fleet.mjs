// The benchmark fleet: one account, N instances spread evenly over the regions. Per region: 80% plain instances of which
// a tenth run an IMDSv1 caller, 10% in an Auto Scaling group with a launch template, 10% already enforced.
export const ACCOUNT = '111111111111';
export const ACCESS_KEY = `AKIA${ACCOUNT}SIMK`;
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2', 'eu-central-1'];
/** Share of the plain instances that make IMDSv1 calls (the suspects a fleet probe would visit). */
export const V1_SHARE = 0.1;

export function benchScenario(count, regionCount = 1) {
  const regions = REGIONS.slice(0, regionCount);
  const per = Math.floor(count / regionCount);
  const images = [];
  const launchTemplates = [];
  const autoScalingGroups = [];
  const instanceGroups = [];
  regions.forEach((region, r) => {
    const ami = `ami-0a1b2c3d4e5f6000${r}`;
    images.push({ id: ami, account: ACCOUNT, region, name: 'al2023' });
    launchTemplates.push({ name: 'app-lt', account: ACCOUNT, region, versions: [{ imageId: ami }] });
    autoScalingGroups.push({ name: 'asg', account: ACCOUNT, region, launchTemplate: { name: 'app-lt' } });
    const asg = Math.round(per * 0.1);
    const enforced = Math.round(per * 0.1);
    instanceGroups.push(
      {
        name: `app-${r}`,
        account: ACCOUNT,
        region,
        count: per - asg - enforced,
        imageId: ami,
        callers: [{ process: { comm: 'aws', user: 'root' }, imds: 'v1', callsPerHour: 2, share: V1_SHARE }],
      },
      {
        name: `asg-${r}`,
        account: ACCOUNT,
        region,
        count: asg,
        autoScalingGroup: 'asg',
        launchTemplate: { name: 'app-lt' },
      },
      {
        name: `enforced-${r}`,
        account: ACCOUNT,
        region,
        count: enforced,
        imageId: ami,
        metadataOptions: { httpTokens: 'required' },
      },
    );
  });
  return {
    schema: { name: 'imdsv2-cutover/scenario', version: 1 },
    name: `bench-${count}x${regionCount}`,
    now: '2025-06-30T06:00:00Z',
    // Quiet instances report zeros, so the probe's suspects are the instances with IMDSv1 calls (as for the baseline).
    emitZeroDatapoints: true,
    regions,
    accounts: [{ id: ACCOUNT, name: 'bench' }],
    images,
    launchTemplates,
    autoScalingGroups,
    instanceGroups,
  };
}
