// The latency-bound minimum of an assessment under the simulator's latency model (docs/benchmarks.md, "The
// latency-bound minimum"): the least wall time any client could take, given the calls `assess` must make, what each
// must wait for, and the calls it may have in flight. The largest of:
// - the longest chain of calls that cannot overlap, per account and region: the organization's account list up to the
//   account's page, its AssumeRole, the DescribeInstances pages one after another, then the last GetMetricData batch
//   (or the DescribeImages call, which needs every page's image ids);
// - per service, the sum of its calls' latencies over the calls in flight allowed per service;
// - per account, the sum of its regional calls' latencies over the calls in flight allowed per account;
// - per token bucket, the calls beyond the burst at the refill rate.
import { bucketSeconds, load } from './lib.mjs';

const { bucketSpecs, modelledLatencyMs, parseLatencyModel } = await load('simulator');

const ORG_PAGE = 20; // ListAccounts MaxResults
const DI_PAGE = 1000;
const GMD_BATCH = 500;

/**
 * The calls of one account and region of `perRegion` instances, each with its latency (seconds) under `model`, and
 * its chain: DescribeInstances pages in sequence, then the longer of the last metric batch and DescribeImages; the
 * other calls (defaults, launch template versions, Auto Scaling groups) run beside them.
 */
function regionCalls(model, perRegion) {
  const s = (op, items) => modelledLatencyMs(model, op, items) / 1000;
  const pages = [];
  for (let left = perRegion; left > 0 || pages.length === 0; left -= DI_PAGE)
    pages.push(Math.min(DI_PAGE, Math.max(0, left)));
  const batches = [];
  for (let left = perRegion; left > 0; left -= GMD_BATCH) batches.push(Math.min(GMD_BATCH, left));
  const calls = [
    ...pages.map((n) => ({ service: 'ec2', category: 'ec2.describe', seconds: s('ec2.DescribeInstances', n) })),
    ...batches.map((n) => ({
      service: 'cloudwatch',
      category: 'cloudwatch.GetMetricData',
      seconds: s('cloudwatch.GetMetricData', n),
    })),
    { service: 'ec2', category: 'ec2.describe', seconds: s('ec2.GetInstanceMetadataDefaults', 0) },
    { service: 'ec2', category: 'ec2.describe', seconds: s('ec2.DescribeLaunchTemplateVersions', 2) },
    { service: 'ec2', category: 'ec2.describe', seconds: s('ec2.DescribeImages', 1) },
    {
      service: 'autoscaling',
      category: 'autoscaling.describe',
      seconds: s('autoscaling.DescribeAutoScalingGroups', 1),
    },
  ];
  const pagesChain = pages.reduce((a, n) => a + s('ec2.DescribeInstances', n), 0);
  const lastBatch = batches.length > 0 ? s('cloudwatch.GetMetricData', batches.at(-1)) : 0;
  const chain = Math.max(
    pagesChain + Math.max(lastBatch, s('ec2.DescribeImages', 1)),
    s('ec2.GetInstanceMetadataDefaults', 0),
    s('ec2.DescribeLaunchTemplateVersions', 2),
    s('autoscaling.DescribeAutoScalingGroups', 1),
  );
  return { calls, chain };
}

/**
 * The latency-bound minimum (seconds) of `assess` over `accounts` accounts (an organization when more than one: the
 * first is the caller's own, the others are reached through AssumeRole) x `regions` regions x `perRegion` instances,
 * under the latency `model` (the `--latency` grammar or a model), with `perService` and `perAccount` calls in flight.
 * Returns the bound and each of its terms.
 */
export function latencyBound({ accounts = 1, regions = 1, perRegion, model = 'aws', perService = 32, perAccount = 8 }) {
  const m = typeof model === 'string' ? parseLatencyModel(model) : model;
  const s = (op, items) => modelledLatencyMs(m, op, items) / 1000;
  const org = accounts > 1;
  const region = regionCalls(m, perRegion);
  const identity = s('sts.GetCallerIdentity', 0);
  // The account list: page k (0-based) answers accounts 20k..20k+19.
  const listPage = s('organizations.ListAccounts', ORG_PAGE);
  const chains = [];
  for (let a = 0; a < accounts; a++) {
    const listed = org ? (Math.floor(a / ORG_PAGE) + 1) * listPage : 0;
    const assume = org && a > 0 ? s('sts.AssumeRole', 0) : 0;
    chains.push(identity + listed + assume + region.chain);
  }
  const chain = Math.max(...chains);

  const perServiceSeconds = {};
  const add = (service, seconds) => (perServiceSeconds[service] = (perServiceSeconds[service] ?? 0) + seconds);
  for (const c of region.calls) add(c.service, c.seconds * accounts * regions);
  add('sts', identity + (org ? (accounts - 1) * s('sts.AssumeRole', 0) : 0));
  if (org) add('organizations', Math.ceil(accounts / ORG_PAGE) * listPage);
  const serviceBound = Math.max(...Object.values(perServiceSeconds).map((x) => x / perService));
  const accountSeconds = region.calls.reduce((a, c) => a + c.seconds, 0) * regions;
  const accountBound = accountSeconds / perAccount;

  const perBucket = {};
  for (const c of region.calls) perBucket[c.category] = (perBucket[c.category] ?? 0) + 1;
  const bucketBound = Math.max(
    0,
    ...Object.entries(perBucket).map(([cat, n]) => bucketSeconds(n, bucketSpecs[cat])),
    bucketSeconds(org ? accounts : 1, bucketSpecs['sts.all']),
    org ? bucketSeconds(Math.ceil(accounts / ORG_PAGE), bucketSpecs['organizations.all']) : 0,
  );
  const seconds = Math.max(chain, serviceBound, accountBound, bucketBound);
  const binding = { chain, serviceBound, accountBound, bucketBound };
  return {
    seconds,
    terms: binding,
    bindingTerm: Object.entries(binding).sort((a, b) => b[1] - a[1])[0][0],
    calls: region.calls.length * accounts * regions + 1 + (org ? accounts - 1 + Math.ceil(accounts / ORG_PAGE) : 0),
  };
}
