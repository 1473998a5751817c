import { randomUUID } from 'node:crypto';
import type {
  AccountDefaults,
  AccountResult,
  Assessment,
  AutoScalingGroup,
  TemplateMetadataOptions,
  EngineEvent,
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
import { CallLimits } from './call-limits.js';
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
import { MetricBatcher, seriesKey, toEvidence, unqueriedEvidence, type MetricTarget } from './metrics/query.js';
import { metricWindow, type MetricWindow } from './metrics/window.js';
import { accountsOf, enabledRegions, type AccountScope, type TargetAccount } from './scope.js';

export interface AssessOptions extends AccountScope {
  clients: AwsClients;
  /** Regions to assess; default the clients' region. */
  regions?: string[];
  /** Every region enabled in each account (DescribeRegions). */
  allRegions?: boolean;
  lookbackDays: number;
  minObservationDays: number;
  /** AWS calls in flight per service (EC2, CloudWatch, Auto Scaling, STS) across the run. Default 32. */
  concurrency?: number;
  /** AWS calls in flight per account, all its regions together. Default 8. */
  accountConcurrency?: number;
  /** The call limits to use instead of ones made from `concurrency` and `accountConcurrency` (to read their peaks). */
  limits?: CallLimits;
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
 * Regions in progress at once, per slot of the per-service bound: enough to keep every slot busy (a region's calls
 * are mostly one chain), few enough that the clients and partial results of waiting regions do not pile up.
 */
const REGIONS_PER_SERVICE_SLOT = 4;

/** Counts regions and accounts done, for the progress display. */
class ScopeProgress {
  private regionsDone = 0;
  private regionsTotal = 0;
  private accountsDone = 0;
  private accountsTotal = 0;
  private listed = false;
  private readonly pending = new Map<string, number>();

  constructor(private readonly reporter: Reporter) {}

  /** An account whose regions are known (`regions` of them; 0 when it failed before). */
  account(accountId: string, regions: number): void {
    this.accountsTotal++;
    this.regionsTotal += regions;
    if (regions === 0) this.accountsDone++;
    else this.pending.set(accountId, regions);
    this.emit();
  }

  region(accountId: string): void {
    this.regionsDone++;
    const left = (this.pending.get(accountId) ?? 1) - 1;
    if (left <= 0) {
      this.pending.delete(accountId);
      this.accountsDone++;
    } else this.pending.set(accountId, left);
    this.emit();
  }

  /** Every account of the run is known (and so, once each has its regions, every region). */
  allListed(): void {
    this.listed = true;
    this.emit();
  }

  private emit(): void {
    this.reporter.emit({
      type: 'progress',
      phase: 'assess',
      done: this.regionsDone,
      ...(this.listed ? { total: this.regionsTotal } : {}),
      unit: 'regions',
      also: { done: this.accountsDone, ...(this.listed ? { total: this.accountsTotal } : {}), unit: 'accounts' },
    });
  }
}

/**
 * Runs discovery and measurement over the accounts and regions of the scope and returns the assessment. Accounts
 * start as the organization's account list arrives; their regions run in parallel, bounded by calls in flight per
 * service and per account (`CallLimits`), earlier regions first. An account whose role cannot be assumed, or a region
 * that fails, is recorded with its error and the run goes on (`complete: false`). Calls grow with pages, not
 * instances: DescribeInstances 1000 a page, GetMetricData 500 series a call (started while later pages are still
 * arriving), launch template versions for all templates at once, images 200 a call.
 */
export async function assess(opts: AssessOptions): Promise<Assessment> {
  const reporter = opts.reporter ?? silentReporter;
  const { clients } = opts;
  const limits =
    opts.limits ??
    new CallLimits({
      ...(opts.concurrency === undefined ? {} : { perService: opts.concurrency }),
      ...(opts.accountConcurrency === undefined ? {} : { perAccount: opts.accountConcurrency }),
    });
  const previousLimits = clients.limits;
  clients.limits = limits;
  try {
    return await assessWithin(opts, reporter, limits);
  } finally {
    clients.limits = previousLimits;
  }
}

async function assessWithin(opts: AssessOptions, reporter: Reporter, limits: CallLimits): Promise<Assessment> {
  const { clients } = opts;
  const scopeError = (e: unknown): CutoverError => {
    if (e instanceof CutoverError) return e;
    const { code, message } = awsErrorInfo(e);
    return new CutoverError(
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
  };
  reporter.emit({ type: 'phase', phase: 'scope', message: 'Resolving accounts and regions' });
  let partition: string;
  try {
    // Every ARN the tool builds (roles to assume, the plan's SCP) is in the partition of the caller's identity.
    partition = (await clients.callerIdentity()).partition;
  } catch (e) {
    throw scopeError(e);
  }
  const now = opts.now ? opts.now() : clients.serviceNow();
  const window = metricWindow(now, opts.lookbackDays, opts.detailedMonitoring);
  const accounts: AccountResult[] = [];
  const outputs: RegionOutput[] = [];
  const targets: TargetAccount[] = [];
  const regionLimit = pLimit(limits.perService * REGIONS_PER_SERVICE_SLOT);
  const progress = new ScopeProgress(reporter);
  const work: Promise<void>[] = [];

  const assessAccount = async (account: TargetAccount): Promise<void> => {
    const regions = await reachAccount(opts, account);
    if ('error' in regions) {
      accounts.push({ accountId: account.accountId, ...nameOf(account), status: 'failed', error: regions.error });
      reporter.emit({
        type: 'warning',
        code: 'ACCOUNT_FAILED',
        message: `Account ${account.accountId} was not assessed: ${regions.error.code}: ${regions.error.message}`,
        scope: { account: account.accountId },
      });
      progress.account(account.accountId, 0);
      return;
    }
    accounts.push({
      accountId: account.accountId,
      ...nameOf(account),
      status: 'ok',
      // From the AssumeRole answer for an account reached through a role, else the caller's identity.
      partition: clients.partitionOf(account.accountId) ?? partition,
    });
    progress.account(account.accountId, regions.list.length);
    for (const region of regions.list) limits.register(account.viaRole ? account.accountId : undefined, region);
    await Promise.all(
      regions.list.map((region) =>
        regionLimit(async () => {
          const out = await assessRegion(opts, account, region, window, reporter);
          outputs.push(out);
          progress.region(account.accountId);
        }),
      ),
    );
  };

  try {
    for await (const account of accountsOf(clients, opts)) {
      targets.push(account);
      work.push(assessAccount(account));
    }
  } catch (e) {
    // Let the accounts already started finish their calls before reporting: nothing runs after assess returns.
    await Promise.allSettled(work);
    throw scopeError(e);
  }
  progress.allListed();
  await Promise.all(work);

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
      accounts: targets.map((t) => t.accountId).sort(),
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

/**
 * Discovery and measurement of one account and region, pipelined: the account defaults, launch templates and Auto
 * Scaling groups are asked for at once, beside the first DescribeInstances page, and each page's instances go to
 * GetMetricData in batches of 500 while the next page is fetched; images follow the last page. Failures become the
 * region's status, never exceptions. The region's clients are released when it is done.
 */
async function assessRegion(
  opts: AssessOptions,
  account: TargetAccount,
  region: string,
  window: MetricWindow,
  reporter: Reporter,
): Promise<RegionOutput> {
  const clientScope = { accountId: account.viaRole ? account.accountId : undefined, region };
  try {
    return await discoverAndMeasure(opts, account, region, window, reporter);
  } finally {
    opts.clients.release(clientScope);
  }
}

async function discoverAndMeasure(
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
  // Failures of the calls made beside discovery are told once discovery has succeeded: when it fails, the region is
  // reported failed as a whole and they add nothing.
  let discovery: 'running' | 'done' | 'failed' = 'running';
  const held: EngineEvent[] = [];
  const partial = (what: string) => (e: unknown) => {
    if (discovery === 'failed') return undefined;
    const info = awsErrorInfo(e);
    problems.push({ code: info.code, message: `${what}: ${info.message}` });
    const warning: EngineEvent = {
      type: 'warning',
      code: 'REGION_PARTIAL',
      message: `${what} failed: ${info.code}: ${info.message}`,
      scope,
    };
    if (discovery === 'done') reporter.emit(warning);
    else held.push(warning);
    return undefined;
  };

  reporter.emit({ type: 'debug', message: 'Discovering instances, launch templates and Auto Scaling groups', scope });
  const evidence = new Map<string, Partial<Record<MetricTarget['metric'], MetricEvidence>>>();
  const metrics = new MetricBatcher(opts.clients.cloudwatch(clientScope), window, {
    onBatch: (done, total) => reporter.emit({ type: 'progress', phase: 'measure', done, total, unit: 'series', scope }),
    onError: partial('GetMetricData'),
  });

  // The pages first: they are the region's critical path; the short calls go beside them.
  const discoveryCall = discoverInstances(ec2, accountId, region, (found, page) => {
    metrics.add(planQueries(page, window, evidence));
    reporter.emit({ type: 'progress', phase: 'discover', done: found, unit: 'instances', scope });
  });
  const defaultsCall = getAccountDefaults(ec2).catch(partial('GetInstanceMetadataDefaults'));
  const templatesCall = discoverTemplateVersions(ec2).catch(partial('DescribeLaunchTemplateVersions'));
  const groupsCall = discoverGroups(opts.clients.autoScaling(clientScope)).catch(partial('DescribeAutoScalingGroups'));
  const pinnedCall = Promise.all([templatesCall, groupsCall]).then(([templates, groups]) =>
    templates && groups
      ? fetchPinnedVersions(ec2, templates, pinnedVersions(groups, templates)).catch(
          partial('DescribeLaunchTemplateVersions (pinned versions)'),
        )
      : undefined,
  );
  const launchConfigurationsCall = groupsCall.then((groups) => {
    const names = (groups ?? []).flatMap((g) => (g.launchConfigurationName ? [g.launchConfigurationName] : []));
    return names.length > 0
      ? discoverLaunchConfigurations(opts.clients.autoScaling(clientScope), names).catch(
          partial('DescribeLaunchConfigurations'),
        )
      : undefined;
  });
  let discovered: DiscoveredInstance[];
  try {
    discovered = await discoveryCall;
  } catch (e) {
    discovery = 'failed';
    await Promise.allSettled([
      defaultsCall,
      templatesCall,
      groupsCall,
      pinnedCall,
      launchConfigurationsCall,
      metrics.finish(),
    ]);
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
  discovery = 'done';
  for (const w of held) reporter.emit(w);
  const seriesCall = metrics.finish();
  const [defaults, templates, groups] = await Promise.all([defaultsCall, templatesCall, groupsCall]);
  await pinnedCall;
  const launchConfigurations = await launchConfigurationsCall;
  const imageIds = [
    ...discovered.map((i) => i.imageId),
    ...[...(templates?.values() ?? [])].map((t) => t.defaultVersion.imageId),
  ].filter((x): x is string => x !== undefined && x.startsWith('ami-'));
  const images = (await discoverImages(ec2, imageIds).catch(partial('DescribeImages'))) ?? new Map<string, ImageInfo>();
  const series = await seriesCall;

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
    type: 'debug',
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
 * Which series to query, for a page of instances; the evidence of those not queried goes into `evidence`.
 * MetadataNoToken for instances that accept IMDSv1, MetadataNoTokenRejected for enforced ones (calls failing now);
 * nothing for a disabled endpoint, an instance stopped since before the window, or one launched less than 15 minutes
 * before its end (no metric can exist yet). Both metrics share batches.
 */
function planQueries(
  instances: DiscoveredInstance[],
  window: MetricWindow,
  evidence: Map<string, Partial<Record<MetricTarget['metric'], MetricEvidence>>>,
): MetricTarget[] {
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
  return targets;
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
