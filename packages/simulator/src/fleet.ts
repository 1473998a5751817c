import type { Scenario, ScenarioCaller, ScenarioInstanceGroup, ScenarioPackage } from '@imdsv2-cutover/core';
import { partitionOfRegion } from '@imdsv2-cutover/core';
import { resolveTimeRef } from './clock.js';
import { hexId, unit } from './random.js';
import { type CronSchedule, parseCron, scheduleToCron } from './schedule.js';

export type HttpTokensValue = 'optional' | 'required';
export type EnabledDisabledValue = 'enabled' | 'disabled';

/** The metadata option values of an instance (the `state` is derived from the clock). */
export interface MetadataOptionValues {
  httpTokens: HttpTokensValue;
  httpPutResponseHopLimit: number;
  httpEndpoint: EnabledDisabledValue;
  httpProtocolIpv6: EnabledDisabledValue;
  instanceMetadataTags: EnabledDisabledValue;
}

/** From `at` (simulated epoch ms) on, the instance ran (or not) with these effective settings. */
export interface StateSegment {
  at: number;
  running: boolean;
  httpTokens: HttpTokensValue;
  httpEndpoint: EnabledDisabledValue;
  /** The PUT response hop limit: below 2, a container's token response never arrives. */
  httpPutResponseHopLimit: number;
}

/**
 * How a caller really calls IMDS on a host with `hopLimit`: a caller in a container (bridge networking, one hop more)
 * whose SDK uses IMDSv2 gets no token response at hop limit 1 and falls back to IMDSv1 (EC2 User Guide, "Configure
 * the instance metadata options": containers need hop limit 2); everything else as the scenario says.
 */
export function effectiveImds(c: Pick<SimCaller, 'imds' | 'container'>, hopLimit: number): 'v1' | 'v2' {
  return c.imds === 'v2' && c.container && hopLimit < 2 ? 'v1' : c.imds;
}

/** A process that calls IMDS, resolved against the scenario's `now`. Shared by the instances of a group. */
export interface SimCaller {
  comm: string;
  exe?: string;
  argv?: string;
  user: string;
  container: boolean;
  imds: 'v1' | 'v2';
  /** Null for continuous callers. */
  cron: CronSchedule | null;
  callsPerHour: number;
  callsPerRun: number;
  /** Explicit first call; when absent the instance's launch time. */
  sinceMs?: number;
  untilMs: number;
}

export interface SimInstance {
  id: string;
  account: string;
  region: string;
  group: string;
  reservationId: string;
  tags: Record<string, string>;
  platform: 'linux' | 'windows';
  instanceType: string;
  imageId: string;
  launchTimeMs: number;
  availabilityZone: string;
  privateIp: string;
  running: boolean;
  /** Terminated: still listed by DescribeInstances with state `terminated`; SSM and Modify calls refuse it. */
  terminated: boolean;
  /** Values shown by DescribeInstances (the latest requested ones while `pending`). */
  options: MetadataOptionValues;
  /** When the latest modification applies (simulated ms); Infinity while a stopped instance waits for its start. */
  appliesAtMs: number;
  /** Effective settings over time, ascending by `at`; the metrics follow it. */
  history: StateSegment[];
  callers: SimCaller[];
  ssm: {
    managed: boolean;
    agentVersion: string;
    pingStatus: 'Online' | 'ConnectionLost' | 'Inactive';
    /** false: the caller may not send commands to it (SendCommand answers InvalidInstanceId). */
    permitted: boolean;
    /** Every command fails with exit code 1. */
    failCommands: boolean;
  };
  containerHost: boolean;
  detailedMonitoring: boolean;
  packages: ScenarioPackage[];
  autoScalingGroup?: string;
  launchTemplate?: { id: string; name: string; version: string };
}

export interface SimLaunchTemplateVersion {
  versionNumber: number;
  description?: string;
  createTimeMs: number;
  imageId?: string;
  instanceType?: string;
  metadataOptions?: Partial<MetadataOptionValues>;
  /** The ClientToken of the CreateLaunchTemplateVersion call that made it (EC2's idempotency). */
  clientToken?: string;
  /** The version it was copied from (SourceVersion), to tell a retry from a reuse of the token. */
  sourceVersion?: number;
}

export interface SimLaunchTemplate {
  id: string;
  name: string;
  account: string;
  region: string;
  createTimeMs: number;
  defaultVersion: number;
  versions: SimLaunchTemplateVersion[];
}

export interface SimAutoScalingGroup {
  name: string;
  account: string;
  region: string;
  launchTemplate: { id: string; name: string; version: string };
  minSize: number;
  maxSize: number;
  createdMs: number;
  tags: Record<string, string>;
}

export interface SimImage {
  id: string;
  account: string;
  region: string;
  name: string;
  platform: 'linux' | 'windows';
  imdsSupport?: 'v2.0';
}

export interface SimAccountDefaults {
  httpTokens?: HttpTokensValue;
  httpPutResponseHopLimit?: number;
  httpEndpoint?: EnabledDisabledValue;
  instanceMetadataTags?: EnabledDisabledValue;
  httpTokensEnforced?: EnabledDisabledValue;
  managedBy: 'account' | 'declarative-policy';
  managedExceptionMessage?: string;
}

/** What one account holds in one region. */
export interface RegionState {
  account: string;
  region: string;
  /** In a stable order (generation order); DescribeInstances pages over it. */
  instances: SimInstance[];
  launchTemplates: SimLaunchTemplate[];
  autoScalingGroups: SimAutoScalingGroup[];
  images: SimImage[];
  defaults: SimAccountDefaults;
}

export interface SimAccount {
  id: string;
  name: string;
  /** The partition of the account's regions (`aws`, `aws-cn`, `aws-us-gov`): every ARN of the account uses it. */
  partition: string;
  email: string;
  regions: string[];
  accessKeys: string[];
  deniedRoles: string[];
}

const awsDefaultOptions: MetadataOptionValues = {
  httpTokens: 'optional',
  httpPutResponseHopLimit: 1,
  httpEndpoint: 'enabled',
  httpProtocolIpv6: 'disabled',
  instanceMetadataTags: 'disabled',
};

/**
 * The simulated fleet: every account, region and instance, in memory. Services read and change it; tests reach it through
 * `Simulator.fleet`.
 */
export class Fleet {
  readonly scenario: Scenario;
  readonly startMs: number;
  readonly accounts: SimAccount[];
  readonly organizationMaster: string;
  private readonly regionStates = new Map<string, RegionState>();
  private readonly byId = new Map<string, SimInstance>();

  constructor(scenario: Scenario) {
    this.scenario = scenario;
    this.startMs = Date.parse(scenario.now);
    this.accounts = scenario.accounts.map((a) => ({
      id: a.id,
      name: a.name,
      partition: accountPartition(a.id, a.regions ?? scenario.regions),
      email: a.email ?? `${a.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@example.com`,
      regions: a.regions ?? scenario.regions,
      accessKeys: a.accessKeys,
      deniedRoles: a.deniedRoles,
    }));
    this.organizationMaster = scenario.organizationMaster ?? this.accounts[0]!.id;
    for (const a of scenario.accounts) {
      for (const r of a.regions ?? scenario.regions) {
        const d = a.defaults[r];
        this.regionStates.set(`${a.id}/${r}`, {
          account: a.id,
          region: r,
          instances: [],
          launchTemplates: [],
          autoScalingGroups: [],
          images: [],
          defaults: d ? { ...d } : { managedBy: 'account' },
        });
      }
    }
    this.loadResources();
    for (const g of scenario.instanceGroups) this.generateGroup(g);
  }

  /** The account and region, or undefined when the account does not have that region. */
  region(account: string, region: string): RegionState | undefined {
    return this.regionStates.get(`${account}/${region}`);
  }

  /** Like `region`, but throws for an unknown pair (scenario errors). */
  private mustRegion(account: string, region: string, what: string): RegionState {
    const r = this.region(account, region);
    if (!r) throw new RangeError(`${what}: account ${account} has no region ${region} in this scenario`);
    return r;
  }

  instance(id: string): SimInstance | undefined {
    return this.byId.get(id);
  }

  get instanceCount(): number {
    return this.byId.size;
  }

  allInstances(): IterableIterator<SimInstance> {
    return this.byId.values();
  }

  account(id: string): SimAccount | undefined {
    return this.accounts.find((a) => a.id === id);
  }

  /** The state of an instance's metadata options at `nowMs`. */
  optionsState(inst: SimInstance, nowMs: number): 'pending' | 'applied' {
    return nowMs < inst.appliesAtMs ? 'pending' : 'applied';
  }

  /**
   * Records new metadata options: visible at once (state `pending`), effective from `appliesAtMs` on. A stopped instance
   * keeps them pending until it starts.
   */
  setOptions(inst: SimInstance, next: MetadataOptionValues, nowMs: number, applyDelayMs: number): void {
    inst.options = next;
    if (!inst.running) {
      inst.appliesAtMs = Number.POSITIVE_INFINITY;
      return;
    }
    inst.appliesAtMs = nowMs + applyDelayMs;
    this.pushSegment(inst, {
      at: inst.appliesAtMs,
      running: true,
      httpTokens: next.httpTokens,
      httpEndpoint: next.httpEndpoint,
      httpPutResponseHopLimit: next.httpPutResponseHopLimit,
    });
  }

  /** Starts a stopped instance at `nowMs`; pending options apply with the start. */
  start(inst: SimInstance, nowMs: number): void {
    if (inst.running) return;
    inst.running = true;
    if (inst.appliesAtMs === Number.POSITIVE_INFINITY) inst.appliesAtMs = nowMs;
    this.pushSegment(inst, {
      at: nowMs,
      running: true,
      httpTokens: inst.options.httpTokens,
      httpEndpoint: inst.options.httpEndpoint,
      httpPutResponseHopLimit: inst.options.httpPutResponseHopLimit,
    });
  }

  /** Terminates an instance at `nowMs`: it stops running and stays listed as `terminated`. */
  terminate(inst: SimInstance, nowMs: number): void {
    this.stop(inst, nowMs);
    inst.terminated = true;
  }

  /** The partition of an account (`aws` for an unknown one). */
  partition(accountId: string): string {
    return this.account(accountId)?.partition ?? 'aws';
  }

  stop(inst: SimInstance, nowMs: number): void {
    if (!inst.running) return;
    inst.running = false;
    const last = inst.history[inst.history.length - 1]!;
    this.pushSegment(inst, { ...last, at: nowMs, running: false });
  }

  private pushSegment(inst: SimInstance, seg: StateSegment): void {
    // Modifications arrive in clock order; a segment never starts before the last one.
    while (inst.history.length > 1 && inst.history[inst.history.length - 1]!.at >= seg.at) inst.history.pop();
    inst.history.push(seg);
  }

  private loadResources(): void {
    const s = this.scenario;
    for (const img of s.images) {
      this.mustRegion(img.account, img.region, `image ${img.id}`).images.push({ ...img });
    }
    for (const lt of s.launchTemplates) {
      const rs = this.mustRegion(lt.account, lt.region, `launch template ${lt.name}`);
      const created = this.startMs - 200 * 86_400_000;
      rs.launchTemplates.push({
        id: lt.id ?? `lt-${hexId(`lt/${lt.account}/${lt.region}/${lt.name}`, s.seed, 17)}`,
        name: lt.name,
        account: lt.account,
        region: lt.region,
        createTimeMs: created,
        defaultVersion: lt.defaultVersion,
        versions: lt.versions.map((v, i) => ({
          versionNumber: i + 1,
          description: v.description,
          createTimeMs: created + i * 86_400_000,
          imageId: v.imageId,
          instanceType: v.instanceType,
          metadataOptions: v.metadataOptions,
        })),
      });
    }
    for (const g of s.autoScalingGroups) {
      const rs = this.mustRegion(g.account, g.region, `auto scaling group ${g.name}`);
      const lt = rs.launchTemplates.find((t) => t.name === g.launchTemplate.name);
      if (!lt)
        throw new RangeError(
          `auto scaling group ${g.name}: no launch template ${g.launchTemplate.name} in ${g.account}/${g.region}`,
        );
      rs.autoScalingGroups.push({
        name: g.name,
        account: g.account,
        region: g.region,
        launchTemplate: { id: lt.id, name: lt.name, version: g.launchTemplate.version },
        minSize: g.minSize,
        maxSize: g.maxSize,
        createdMs: this.startMs - 190 * 86_400_000,
        tags: { ...g.tags },
      });
    }
  }

  private generateGroup(g: ScenarioInstanceGroup): void {
    const s = this.scenario;
    const rs = this.mustRegion(g.account, g.region, `instance group ${g.name}`);
    const lt = g.launchTemplate ? rs.launchTemplates.find((t) => t.name === g.launchTemplate!.name) : undefined;
    if (g.launchTemplate && !lt)
      throw new RangeError(`instance group ${g.name}: no launch template ${g.launchTemplate.name}`);
    const asg = g.autoScalingGroup ? rs.autoScalingGroups.find((a) => a.name === g.autoScalingGroup) : undefined;
    if (g.autoScalingGroup && !asg)
      throw new RangeError(`instance group ${g.name}: no auto scaling group ${g.autoScalingGroup}`);
    const ltRef = lt
      ? { id: lt.id, name: lt.name, version: asg ? asg.launchTemplate.version : g.launchTemplate!.version }
      : undefined;
    const ltVersion = lt ? resolveLaunchTemplateVersion(lt, ltRef!.version) : undefined;
    const imageId =
      g.imageId ??
      ltVersion?.imageId ??
      rs.images.find((i) => i.platform === g.platform)?.id ??
      `ami-${hexId(`ami/${g.platform}`, s.seed, 17)}`;
    const image = rs.images.find((i) => i.id === imageId);
    const options = resolveLaunchOptions(g.metadataOptions, ltVersion?.metadataOptions, rs.defaults, image);
    const instanceType = ltVersion?.instanceType ?? g.instanceType;
    const callers = g.callers.map((c) => toSimCaller(c, this.startMs));
    const subsets = new Map<string, SimCaller[]>();
    const launchTimeMs = resolveTimeRef(g.launchedAt, this.startMs);
    const tags = { ...g.tags };
    if (asg) tags['aws:autoscaling:groupName'] = asg.name;
    if (ltRef) {
      tags['aws:ec2launchtemplate:id'] = ltRef.id;
      tags['aws:ec2launchtemplate:version'] = String(ltVersion?.versionNumber ?? 1);
    }
    const azs = ['a', 'b', 'c'];
    for (let i = 0; i < g.count; i++) {
      const key = `${g.account}/${g.region}/${g.name}/${i}`;
      let id = g.ids?.[i] ?? `i-${hexId(key, s.seed, 17)}`;
      for (let n = 1; this.byId.has(id); n++) {
        if (g.ids) throw new RangeError(`instance group ${g.name}: instance id ${id} is used twice`);
        id = `i-${hexId(`${key}~${n}`, s.seed, 17)}`;
      }
      const running = g.state === 'running' && !(g.stoppedShare > 0 && unit(`stopped/${key}`, s.seed) < g.stoppedShare);
      const terminated = g.state === 'terminated';
      let mine = callers;
      if (g.callers.some((c) => c.share < 1)) {
        const mask = g.callers
          .map((c, ci) => (c.share >= 1 || unit(`caller/${ci}/${key}`, s.seed) < c.share ? '1' : '0'))
          .join('');
        let subset = subsets.get(mask);
        if (!subset) {
          subset = callers.filter((_, ci) => mask[ci] === '1');
          subsets.set(mask, subset);
        }
        mine = subset;
      }
      const n = this.byId.size;
      const inst: SimInstance = {
        id,
        account: g.account,
        region: g.region,
        group: g.name,
        reservationId: `r-${hexId(`r/${key}`, s.seed, 17)}`,
        tags: g.count > 1 ? { ...tags, Name: `${g.name}-${i + 1}` } : { Name: g.name, ...tags },
        platform: g.platform,
        instanceType,
        imageId,
        launchTimeMs,
        availabilityZone: `${g.region}${azs[i % 3]}`,
        privateIp: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        running,
        terminated,
        options: { ...options },
        appliesAtMs: Number.NEGATIVE_INFINITY,
        history: [
          {
            at: Number.NEGATIVE_INFINITY,
            running,
            httpTokens: options.httpTokens,
            httpEndpoint: options.httpEndpoint,
            httpPutResponseHopLimit: options.httpPutResponseHopLimit,
          },
        ],
        callers: mine,
        ssm: { ...g.ssm },
        containerHost: g.containerHost,
        detailedMonitoring: g.detailedMonitoring,
        packages: g.packages,
        autoScalingGroup: asg?.name,
        launchTemplate: ltRef,
      };
      rs.instances.push(inst);
      this.byId.set(id, inst);
    }
  }
}

/**
 * The partition of an account, from its regions (an AWS account lives in one partition: General Reference, "Amazon
 * Resource Names": "Each AWS account is scoped to one partition"). Regions of two partitions are a scenario error.
 */
function accountPartition(accountId: string, regions: readonly string[]): string {
  const found = new Set(regions.map((r) => partitionOfRegion(r) ?? 'aws'));
  if (found.size > 1)
    throw new RangeError(`account ${accountId} has regions in several partitions (${[...found].join(', ')})`);
  return [...found][0] ?? 'aws';
}

/** Resolves `$Default`, `$Latest` or a version number. */
export function resolveLaunchTemplateVersion(
  lt: SimLaunchTemplate,
  version: string,
): SimLaunchTemplateVersion | undefined {
  const n = version === '$Latest' ? lt.versions.length : version === '$Default' ? lt.defaultVersion : Number(version);
  return lt.versions.find((v) => v.versionNumber === n);
}

/** Launch precedence per option: launch parameters > launch template > account default > AMI > AWS default. */
function resolveLaunchOptions(
  explicit: Partial<MetadataOptionValues>,
  template: Partial<MetadataOptionValues> | undefined,
  defaults: SimAccountDefaults,
  image: SimImage | undefined,
): MetadataOptionValues {
  const fromImage: Partial<MetadataOptionValues> =
    image?.imdsSupport === 'v2.0' ? { httpTokens: 'required', httpPutResponseHopLimit: 2 } : {};
  const fromDefaults: Partial<MetadataOptionValues> = {};
  if (defaults.httpTokens) fromDefaults.httpTokens = defaults.httpTokens;
  if (defaults.httpPutResponseHopLimit !== undefined && defaults.httpPutResponseHopLimit > 0)
    fromDefaults.httpPutResponseHopLimit = defaults.httpPutResponseHopLimit;
  if (defaults.httpEndpoint) fromDefaults.httpEndpoint = defaults.httpEndpoint;
  if (defaults.instanceMetadataTags) fromDefaults.instanceMetadataTags = defaults.instanceMetadataTags;
  return {
    ...awsDefaultOptions,
    ...fromImage,
    ...fromDefaults,
    ...stripUndefined(template ?? {}),
    ...stripUndefined(explicit),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function toSimCaller(c: ScenarioCaller, nowMs: number): SimCaller {
  const cron = scheduleToCron(c.schedule);
  return {
    comm: c.process.comm,
    exe: c.process.exe,
    argv: c.process.argv,
    user: c.process.user,
    container: c.process.container,
    imds: c.imds,
    cron: cron === null ? null : parseCron(cron),
    callsPerHour: c.callsPerHour,
    callsPerRun: c.callsPerRun,
    sinceMs: c.since === undefined ? undefined : resolveTimeRef(c.since, nowMs),
    untilMs: c.until === undefined ? Number.POSITIVE_INFINITY : resolveTimeRef(c.until, nowMs),
  };
}
