import { randomUUID } from 'node:crypto';
import type {
  AccountDefaults,
  AccountResult,
  Assessment,
  AutoScalingGroup,
  TemplateMetadataOptions,
  Image,
  Instance,
  LaunchTemplate,
  MetricEvidence,
  RegionResult,
  Reporter,
} from '@imdsv2-cutover/core';
import {
  CutoverError,
  classifyReadiness,
  containerEvidenceFromEc2,
  launchesImdsV1,
  resolveEffectiveSettings,
  silentReporter,
} from '@imdsv2-cutover/core';
import pLimit from 'p-limit';
import type { AwsClients } from './clients.js';
import { getAccountDefaults } from './discovery/defaults.js';
import { discoverInstances, type DiscoveredInstance } from './discovery/instances.js';
import {
  discoverGroups,
  discoverImages,
  discoverLaunchConfigurations,
  discoverTemplateVersions,
  fetchPinnedVersions,
  templateVersion,
  type DiscoveredGroup,
  type GroupTemplateRef,
  type ImageInfo,
  type TemplateVersions,
} from './discovery/launch-config.js';
import { awsErrorInfo } from './errors.js';
import { queryMetrics, seriesKey, toEvidence, unqueriedEvidence, type MetricTarget } from './metrics/query.js';
import { metricWindow, type MetricWindow } from './metrics/window.js';
import { enabledRegions, resolveAccounts, type AccountScope, type TargetAccount } from './scope.js';

export interface AssessOptions extends AccountScope {
  clients: AwsClients;
  /** Regions to assess; default the clients' region. */
  regions?: string[];
  /** Every region enabled in each account (DescribeRegions). */
  allRegions?: boolean;
  lookbackDays: number;
  minObservationDays: number;
  /** Regions assessed at once across all accounts. Default 8. */
  concurrency?: number;
  /** GetMetricData calls in flight per region (CloudWatch allows 50 TPS a region). Default 4. */
  metricConcurrency?: number;
  /** Query at 60 s resolution within 15 days (instances with detailed monitoring). */
  detailedMonitoring?: boolean;
  reporter?: Reporter;
  /** The time the window ends at; default the service's clock (`AwsClients.serviceNow`). */
  now?: () => Date;
  tool: { name: string; version: string };
}

interface RegionOutput {
  result: RegionResult;
  instances: Instance[];
  launchTemplates: LaunchTemplate[];
  autoScalingGroups: AutoScalingGroup[];
  images: Image[];
}

/** A new metric needs up to 15 minutes to appear: younger instances are not queried. */
const METRIC_DELAY_MS = 15 * 60_000;

/**
 * Runs discovery and measurement over the accounts and regions of the scope and returns the assessment. Accounts and
 * regions run in parallel, bounded; an account whose role cannot be assumed, or a region that fails, is recorded with
 * its error and the run goes on (`complete: false`). Calls grow with pages, not instances: DescribeInstances 1000 a
 * page, GetMetricData 500 series a call, launch template versions for all templates at once, images 200 a call.
 */
export async function assess(opts: AssessOptions): Promise<Assessment> {
  const reporter = opts.reporter ?? silentReporter;
  const regionLimit = pLimit(opts.concurrency ?? 8);
  const { clients } = opts;

  reporter.emit({ type: 'phase', phase: 'scope', message: 'Resolving accounts and regions' });
  let targets: TargetAccount[];
  let partition: string;
  try {
    // Every ARN the tool builds (roles to assume, the plan's SCP) is in the partition of the caller's identity.
    partition = (await clients.callerIdentity()).partition;
    targets = await resolveAccounts(clients, opts);
  } catch (e) {
    if (e instanceof CutoverError) throw e;
    const { code, message } = awsErrorInfo(e);
    throw new CutoverError(
      code === 'AccessDenied' || code === 'AccessDeniedException' ? 'ACCESS_DENIED' : 'AWS_ERROR',
      `Cannot resolve the accounts to assess (${opts.organization ? 'Organizations ListAccounts' : 'STS GetCallerIdentity'}): ${code}: ${message}`,
      {
        cause: e,
        suggestions: [
          'Check the credentials (--profile, AWS_PROFILE, environment) and --endpoint-url.',
          ...(opts.organization
            ? ['--org needs organizations:ListAccounts in the management or a delegated account.']
            : []),
        ],
      },
    );
  }
  const now = opts.now ? opts.now() : clients.serviceNow();
  const window = metricWindow(now, opts.lookbackDays, opts.detailedMonitoring);
  const accounts: AccountResult[] = [];
  const outputs: RegionOutput[] = [];

  await Promise.all(
    targets.map(async (account) => {
      const regions = await reachAccount(opts, account);
      if ('error' in regions) {
        accounts.push({ accountId: account.accountId, ...nameOf(account), status: 'failed', error: regions.error });
        reporter.emit({
          type: 'warning',
          code: 'ACCOUNT_FAILED',
          message: `Account ${account.accountId} was not assessed: ${regions.error.code}: ${regions.error.message}`,
          scope: { account: account.accountId },
        });
        return;
      }
      accounts.push({
        accountId: account.accountId,
        ...nameOf(account),
        status: 'ok',
        // From the AssumeRole answer for an account reached through a role, else the caller's identity.
        partition: clients.partitionOf(account.accountId) ?? partition,
      });
      const done = await Promise.all(
        regions.list.map((region) => regionLimit(() => assessRegion(opts, account, region, window, reporter))),
      );
      outputs.push(...done);
    }),
  );

  const byScope = <T extends { accountId: string; region: string }>(a: T, b: T) =>
    a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region);
  const regionResults = outputs.map((o) => o.result).sort(byScope);
  const flat = <K extends keyof Omit<RegionOutput, 'result'>>(k: K): RegionOutput[K] =>
    outputs.flatMap((o) => o[k] as RegionOutput[K][number][]) as RegionOutput[K];
  const createdAt = now.toISOString();
  return {
    schema: { name: 'imdsv2-cutover/assessment', version: 1 },
    id: `assessment-${createdAt.replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`,
    createdAt,
    tool: opts.tool,
    scope: {
      accounts: targets.map((t) => t.accountId),
      regions: [...new Set(regionResults.map((r) => r.region))].sort(),
      organization: opts.organization ?? false,
      partition,
      lookbackDays: opts.lookbackDays,
      minObservationDays: opts.minObservationDays,
      probe: 'none',
      ...(clients.config.endpointUrl ? { endpointUrl: clients.config.endpointUrl } : {}),
    },
    complete: accounts.every((a) => a.status === 'ok') && regionResults.every((r) => r.status === 'ok'),
    accounts: accounts.sort((a, b) => a.accountId.localeCompare(b.accountId)),
    regions: regionResults,
    instances: flat('instances').sort((a, b) => byScope(a, b) || a.instanceId.localeCompare(b.instanceId)),
    launchTemplates: flat('launchTemplates').sort(
      (a, b) => byScope(a, b) || a.launchTemplateId.localeCompare(b.launchTemplateId),
    ),
    autoScalingGroups: flat('autoScalingGroups').sort((a, b) => byScope(a, b) || a.name.localeCompare(b.name)),
    images: flat('images').sort((a, b) => byScope(a, b) || a.imageId.localeCompare(b.imageId)),
  };
}

function nameOf(a: TargetAccount): { name?: string } {
  return a.name ? { name: a.name } : {};
}

/** Assumes the account's role (when it has one) and lists its regions; an error here fails the whole account. */
async function reachAccount(
  opts: AssessOptions,
  account: TargetAccount,
): Promise<{ list: string[] } | { error: { code: string; message: string } }> {
  try {
    if (account.viaRole) await opts.clients.useRole(account.accountId, account.viaRole)();
    const scoped = account.viaRole ? account.accountId : undefined;
    if (opts.allRegions) return { list: await enabledRegions(opts.clients, scoped) };
    return { list: [...new Set(opts.regions ?? [opts.clients.config.region])].sort() };
  } catch (e) {
    return { error: awsErrorInfo(e) };
  }
}

/** Discovery and measurement of one account and region. Failures become the region's status, never exceptions. */
async function assessRegion(
  opts: AssessOptions,
  account: TargetAccount,
  region: string,
  window: MetricWindow,
  reporter: Reporter,
): Promise<RegionOutput> {
  const accountId = account.accountId;
  const scope = { account: accountId, region };
  const clientScope = { accountId: account.viaRole ? accountId : undefined, region };
  const ec2 = opts.clients.ec2(clientScope);
  const problems: { code: string; message: string }[] = [];
  const partial = (what: string) => (e: unknown) => {
    const info = awsErrorInfo(e);
    problems.push({ code: info.code, message: `${what}: ${info.message}` });
    reporter.emit({
      type: 'warning',
      code: 'REGION_PARTIAL',
      message: `${what} failed: ${info.code}: ${info.message}`,
      scope,
    });
    return undefined;
  };

  reporter.emit({ type: 'phase', phase: 'discover', message: 'Discovering instances', scope });
  let discovered: DiscoveredInstance[];
  try {
    discovered = await discoverInstances(ec2, accountId, region, (found) =>
      reporter.emit({ type: 'progress', phase: 'discover', done: found, unit: 'instances', scope }),
    );
  } catch (e) {
    const error = awsErrorInfo(e);
    reporter.emit({
      type: 'warning',
      code: 'REGION_FAILED',
      message: `Region ${region} was not assessed: ${error.code}: ${error.message}`,
      scope,
    });
    return {
      result: { accountId, region, status: 'failed', error, accountDefaults: null },
      instances: [],
      launchTemplates: [],
      autoScalingGroups: [],
      images: [],
    };
  }

  const [defaults, templates, groups] = await Promise.all([
    getAccountDefaults(ec2).catch(partial('GetInstanceMetadataDefaults')),
    discoverTemplateVersions(ec2).catch(partial('DescribeLaunchTemplateVersions')),
    discoverGroups(opts.clients.autoScaling(clientScope)).catch(partial('DescribeAutoScalingGroups')),
  ]);
  if (templates && groups) {
    await fetchPinnedVersions(ec2, templates, pinnedVersions(groups, templates)).catch(
      partial('DescribeLaunchTemplateVersions (pinned versions)'),
    );
  }
  const lcNames = (groups ?? []).flatMap((g) => (g.launchConfigurationName ? [g.launchConfigurationName] : []));
  const launchConfigurations =
    lcNames.length > 0
      ? await discoverLaunchConfigurations(opts.clients.autoScaling(clientScope), lcNames).catch(
          partial('DescribeLaunchConfigurations'),
        )
      : undefined;
  const imageIds = [
    ...discovered.map((i) => i.imageId),
    ...[...(templates?.values() ?? [])].map((t) => t.defaultVersion.imageId),
  ].filter((x): x is string => x !== undefined && x.startsWith('ami-'));
  const images = (await discoverImages(ec2, imageIds).catch(partial('DescribeImages'))) ?? new Map<string, ImageInfo>();

  reporter.emit({
    type: 'phase',
    phase: 'measure',
    message: `Measuring IMDSv1 calls of ${discovered.length} instances`,
    scope,
  });
  const { evidence, targets } = planQueries(discovered, window);
  const metricLimit = pLimit(opts.metricConcurrency ?? 4);
  const series = await queryMetrics(opts.clients.cloudwatch(clientScope), targets, window, {
    schedule: (fn) => metricLimit(fn),
    onBatch: (done, total) => reporter.emit({ type: 'progress', phase: 'measure', done, total, unit: 'series', scope }),
    onError: partial('GetMetricData'),
  });

  const groupTags = new Map((groups ?? []).map((g) => [g.name, g.tags]));
  const instances: Instance[] = discovered.map(({ stoppedAt: _stoppedAt, ...d }) => {
    const pre = evidence.get(d.instanceId);
    const ctx = { state: d.state, launchTime: d.launchTime, nowMs: window.now.getTime() };
    const pick = (metric: MetricTarget['metric']): MetricEvidence | undefined => {
      const set = pre?.[metric];
      if (set) return set;
      const s = series.get(seriesKey({ instanceId: d.instanceId, metric }));
      return s ? toEvidence(metric, s, window, ctx) : undefined;
    };
    const noToken = pick('MetadataNoToken') ?? unqueriedEvidence('MetadataNoToken', window, 'not-queried');
    const noTokenRejected = pick('MetadataNoTokenRejected');
    const containers = containerEvidenceFromEc2({
      tags: d.tags,
      ...(d.imageId && images.get(d.imageId)?.name ? { imageName: images.get(d.imageId)!.name! } : {}),
      ...(d.autoScalingGroup && groupTags.has(d.autoScalingGroup)
        ? { groupTags: groupTags.get(d.autoScalingGroup)! }
        : {}),
    });
    const partialInstance = {
      ...d,
      metrics: { noToken, ...(noTokenRejected ? { noTokenRejected } : {}) },
      probe: { outcome: 'not-probed' as const },
      containerHost: containers ? true : null,
      ...(containers ? { containerHostSignal: containers } : {}),
    };
    return { ...partialInstance, readiness: classifyReadiness(partialInstance, opts) };
  });

  const launchTemplates = templates ? templateResults(accountId, region, templates, defaults ?? null, images) : [];
  const autoScalingGroups = groups
    ? groupResults(
        accountId,
        region,
        groups,
        templates ?? new Map<string, TemplateVersions>(),
        defaults ?? null,
        images,
        launchConfigurations ?? new Map<string, TemplateMetadataOptions>(),
      )
    : [];
  reporter.emit({
    type: 'info',
    message: `${instances.length} instances, ${autoScalingGroups.length} Auto Scaling groups, ${launchTemplates.length} launch templates`,
    scope,
  });
  return {
    result: {
      accountId,
      region,
      status: problems.length > 0 ? 'partial' : 'ok',
      ...(problems[0] ? { error: problems[0] } : {}),
      accountDefaults: defaults ?? null,
    },
    instances,
    launchTemplates,
    autoScalingGroups,
    images: [...images.values()].map((i) => ({ accountId, region, ...i })),
  };
}

/**
 * Which series to query. MetadataNoToken for instances that accept IMDSv1, MetadataNoTokenRejected for enforced ones
 * (calls failing now); nothing for a disabled endpoint, an instance stopped since before the window, or one launched
 * less than 15 minutes before its end (no metric can exist yet). Both metrics share batches.
 */
function planQueries(
  instances: DiscoveredInstance[],
  window: MetricWindow,
): { evidence: Map<string, Partial<Record<MetricTarget['metric'], MetricEvidence>>>; targets: MetricTarget[] } {
  const evidence = new Map<string, Partial<Record<MetricTarget['metric'], MetricEvidence>>>();
  const targets: MetricTarget[] = [];
  for (const i of instances) {
    const mo = i.metadataOptions;
    const metric = mo.httpTokens === 'required' ? 'MetadataNoTokenRejected' : 'MetadataNoToken';
    const pre: Partial<Record<MetricTarget['metric'], MetricEvidence>> = {};
    if (metric === 'MetadataNoTokenRejected')
      pre.MetadataNoToken = unqueriedEvidence('MetadataNoToken', window, 'not-queried');
    if (mo.httpEndpoint === 'disabled') {
      pre.MetadataNoToken = unqueriedEvidence('MetadataNoToken', window, 'not-queried');
    } else if (Date.parse(i.launchTime) > window.end.getTime() - METRIC_DELAY_MS) {
      pre[metric] = unqueriedEvidence(metric, window, 'launched-recently');
    } else if (
      i.state === 'stopped' &&
      i.stoppedAt !== undefined &&
      Date.parse(i.stoppedAt) <= window.start.getTime()
    ) {
      pre[metric] = unqueriedEvidence(metric, window, 'instance-stopped');
    } else {
      targets.push({ instanceId: i.instanceId, metric });
    }
    evidence.set(i.instanceId, pre);
  }
  return { evidence, targets };
}

function pinnedVersions(groups: DiscoveredGroup[], templates: Map<string, TemplateVersions>): Map<string, Set<number>> {
  const byName = new Map([...templates].map(([id, t]) => [t.defaultVersion.name, id]));
  const wanted = new Map<string, Set<number>>();
  for (const g of groups) {
    for (const lt of [g.launchTemplate, ...(g.overrideLaunchTemplates ?? [])]) {
      const id = lt?.launchTemplateId ?? (lt?.name ? byName.get(lt.name) : undefined);
      const n = Number(lt?.version);
      if (id && Number.isInteger(n) && n > 0) wanted.set(id, (wanted.get(id) ?? new Set()).add(n));
    }
  }
  return wanted;
}

function templateResults(
  accountId: string,
  region: string,
  templates: Map<string, TemplateVersions>,
  defaults: AccountDefaults | null,
  images: Map<string, ImageInfo>,
): LaunchTemplate[] {
  return [...templates].map(([id, t]) => {
    const d = t.defaultVersion;
    const effective = resolveEffectiveSettings({
      template: d.options,
      accountDefaults: defaults,
      imageImdsSupport: d.imageId ? (images.get(d.imageId)?.imdsSupport ?? null) : null,
    });
    return {
      accountId,
      region,
      launchTemplateId: id,
      name: d.name,
      defaultVersion: d.versionNumber,
      latestVersion: t.latestVersion.versionNumber,
      defaultVersionOptions: d.options,
      latestVersionOptions: t.latestVersion.options,
      ...(d.imageId ? { defaultVersionImageId: d.imageId } : {}),
      effective,
      launchesImdsV1: launchesImdsV1(effective),
    };
  });
}

/**
 * What each group launches. A group on a launch configuration, or whose template version could not be read, is not
 * resolved (`effective: null`). It counts as launching IMDSv1 unless its launch configuration says HttpTokens=required
 * (or HttpEndpoint=disabled): for an option a launch configuration leaves unset, the Auto Scaling API reference says
 * "the default state is optional" while the EC2 precedence would take the account default, and AWS does not say which
 * applies, so unset is read as optional. A mixed instances policy launches IMDSv1 when its template or any override's
 * does. Unknown is never reported as safe.
 */
function groupResults(
  accountId: string,
  region: string,
  groups: DiscoveredGroup[],
  templates: Map<string, TemplateVersions>,
  defaults: AccountDefaults | null,
  images: Map<string, ImageInfo>,
  launchConfigurations: Map<string, TemplateMetadataOptions>,
): AutoScalingGroup[] {
  const byName = new Map([...templates].map(([id, t]) => [t.defaultVersion.name, id]));
  const resolve = (lt: GroupTemplateRef | undefined) => {
    const id = lt?.launchTemplateId ?? (lt?.name ? byName.get(lt.name) : undefined);
    const t = id ? templates.get(id) : undefined;
    const v = t ? templateVersion(t, lt?.version) : undefined;
    const effective = v
      ? resolveEffectiveSettings({
          template: v.options,
          accountDefaults: defaults,
          imageImdsSupport: v.imageId ? (images.get(v.imageId)?.imdsSupport ?? null) : null,
        })
      : null;
    const ref = id
      ? {
          launchTemplateId: id,
          ...(t ? { name: t.defaultVersion.name } : lt?.name ? { name: lt.name } : {}),
          ...(lt?.version ? { version: lt.version } : {}),
        }
      : undefined;
    return { ref, effective, launchesImdsV1: effective ? launchesImdsV1(effective) : true };
  };
  return groups.map((g) => {
    const main = resolve(g.launchTemplate);
    const overrides = g.overrideLaunchTemplates?.map(resolve);
    const lcOptions = g.launchConfigurationName ? launchConfigurations.get(g.launchConfigurationName) : undefined;
    const launchesV1 = g.launchConfigurationName
      ? lcOptions?.httpTokens !== 'required' && lcOptions?.httpEndpoint !== 'disabled'
      : main.launchesImdsV1 || (overrides ?? []).some((o) => o.launchesImdsV1);
    return {
      accountId,
      region,
      name: g.name,
      ...(main.ref ? { launchTemplate: main.ref } : {}),
      ...(g.launchConfigurationName ? { launchConfigurationName: g.launchConfigurationName } : {}),
      ...(lcOptions ? { launchConfigurationOptions: lcOptions } : {}),
      // An override whose template was not found is left out here, but still counts as launching IMDSv1 above.
      ...(overrides
        ? {
            overrideLaunchTemplates: overrides.flatMap((o) =>
              o.ref ? [{ ...o.ref, launchesImdsV1: o.launchesImdsV1 }] : [],
            ),
          }
        : {}),
      ...managedBy(g.tags),
      desiredCapacity: g.desiredCapacity,
      instanceIds: g.instanceIds.filter((x) => /^i-[0-9a-f]{8,17}$/.test(x)),
      effective: g.launchConfigurationName ? null : main.effective,
      launchesImdsV1: launchesV1,
    };
  });
}

/** The CloudFormation stack or Elastic Beanstalk environment a group's AWS tags name. */
function managedBy(tags: Record<string, string>): Pick<AutoScalingGroup, 'managedBy'> {
  const stack = tags['aws:cloudformation:stack-name'];
  if (stack) return { managedBy: { service: 'cloudformation', name: stack } };
  const env = tags['elasticbeanstalk:environment-name'];
  return env ? { managedBy: { service: 'elasticbeanstalk', name: env } } : {};
}
