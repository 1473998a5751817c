import type {
  AwsStructure,
  Scenario,
  ScenarioCaller,
  ScenarioInstanceGroup,
  ScenarioPackage,
} from '@imdsv2-cutover/core';
import { partitionOfRegion } from '@imdsv2-cutover/core';
import type { ScalingActivity, InstanceRefresh } from './auto-scaling.js';
import { resolveTimeRef } from './clock.js';
import { type ResolvedLaunch, resolveLaunchOptions } from './launch.js';
import { type LaunchTemplateData, structureMember, textMember } from './launch-template-data.js';
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
  /** Terminated (by the scenario, a test or Auto Scaling): listed by DescribeInstances as `terminated`; SSM and Modify calls refuse it. */
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
  /** The launch configuration an Auto Scaling group launched it with. */
  launchConfigurationName?: string;
}

/**
 * One launch template version. Versions are immutable (EC2 API reference, CreateLaunchTemplateVersion: "Launch
 * templates are immutable"): `data` is the whole LaunchTemplateData by API member name, and `imageId`, `instanceType`
 * and `metadataOptions` are views of it made once, when the version is created (`templateVersion`).
 */
export interface SimLaunchTemplateVersion {
  versionNumber: number;
  description?: string;
  createTimeMs: number;
  data: LaunchTemplateData;
  /** An AMI id or a `resolve:ssm:` parameter, as given. */
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
  /** The template's own tags (CreateLaunchTemplate TagSpecification, resource type `launch-template`). */
  tags?: Record<string, string>;
}

/** A launch template as an Auto Scaling group names it: the id and name resolved, the version as given. */
export interface LaunchTemplateRef {
  id: string;
  name: string;
  version: string;
}

/** A mixed instances policy with its launch templates resolved. */
export interface SimMixedInstancesPolicy {
  launchTemplate: LaunchTemplateRef;
  overrides: { instanceType?: string; weightedCapacity?: string; launchTemplate?: LaunchTemplateRef }[];
  instancesDistribution?: AwsStructure;
}

/** A launch configuration: its members by API member name (DescribeLaunchConfigurations), immutable. */
export interface SimLaunchConfiguration {
  name: string;
  account: string;
  region: string;
  arn: string;
  createdMs: number;
  /** ImageId, InstanceType, MetadataOptions, KeyName, SecurityGroups, UserData, BlockDeviceMappings, ... */
  data: LaunchTemplateData;
}

/** What the instances of an Auto Scaling group run: new instances the group launches run the same. */
export interface SimWorkload {
  group: string;
  tags: Record<string, string>;
  platform: 'linux' | 'windows';
  callers: SimCaller[];
  packages: ScenarioPackage[];
  ssm: SimInstance['ssm'];
  containerHost: boolean;
  detailedMonitoring: boolean;
}

/** An Auto Scaling group. It launches from one of `launchTemplate`, `launchConfigurationName`, `mixedInstancesPolicy`. */
export interface SimAutoScalingGroup {
  name: string;
  account: string;
  region: string;
  arn: string;
  launchTemplate?: LaunchTemplateRef;
  launchConfigurationName?: string;
  mixedInstancesPolicy?: SimMixedInstancesPolicy;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  createdMs: number;
  tags: Record<string, string>;
  healthCheckGracePeriod: number;
  defaultInstanceWarmup?: number;
  availabilityZones: string[];
  workload?: SimWorkload;
  /** Newest last. */
  activities: ScalingActivity[];
  /** Newest last. */
  refreshes: InstanceRefresh[];
  /** When a launch failed, the simulated time of the next attempt to reach the desired capacity. */
  retryAtMs?: number;
}

export interface SimImage {
  id: string;
  /** The account that sees the image in `region` (its owner, or an account it is shared with). */
  account: string;
  region: string;
  name: string;
  platform: 'linux' | 'windows';
  imdsSupport?: 'v2.0';
  /** OwnerId. */
  owner: string;
  public: boolean;
  ownerAlias?: string;
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
  launchConfigurations: SimLaunchConfiguration[];
  autoScalingGroups: SimAutoScalingGroup[];
  images: SimImage[];
  /** Systems Manager parameters this account sees here (name -> value), for `resolve:ssm:` image ids. */
  ssmParameters: Map<string, string>;
  defaults: SimAccountDefaults;
  /** How many instances were launched here after the scenario was loaded (for ids and addresses). */
  launched: number;
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
          launchConfigurations: [],
          autoScalingGroups: [],
          images: [],
          ssmParameters: new Map(),
          defaults: d ? { ...d } : { managedBy: 'account' },
          launched: 0,
        });
      }
    }
    this.loadResources();
    for (const g of scenario.instanceGroups) this.generateGroup(g);
    this.settleDesiredCapacities();
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

  /**
   * An image the account can see in the region: one listed for it (its own, or shared with it), one it owns wherever
   * the scenario lists it, or a public image of any account of the scenario in that region.
   */
  visibleImage(account: string, region: string, id: string): SimImage | undefined {
    return this.visibleImages(account, region).find((i) => i.id === id);
  }

  /** Images the account can see in the region (DescribeImages without ids), each once, its own listing first. */
  visibleImages(account: string, region: string): SimImage[] {
    const out = new Map<string, SimImage>();
    for (const i of this.region(account, region)?.images ?? []) out.set(i.id, i);
    for (const rs of this.regionStates.values()) {
      if (rs.region !== region || rs.account === account) continue;
      for (const i of rs.images) if ((i.public || i.owner === account) && !out.has(i.id)) out.set(i.id, i);
    }
    return [...out.values()];
  }

  /** A Systems Manager parameter's value as the account sees it in the region (leading `/` optional). */
  ssmParameter(account: string, region: string, name: string): string | undefined {
    const params = this.region(account, region)?.ssmParameters;
    return params?.get(name) ?? params?.get(name.startsWith('/') ? name.slice(1) : `/${name}`);
  }

  /** The state EC2 reports: `running`, `stopped` or `terminated`. */
  stateName(inst: SimInstance): 'running' | 'stopped' | 'terminated' {
    return inst.terminated ? 'terminated' : inst.running ? 'running' : 'stopped';
  }

  /** Terminates an instance at `nowMs`: it stops for good and stays listed as `terminated`. */
  terminate(inst: SimInstance, nowMs: number): void {
    this.stop(inst, nowMs);
    inst.terminated = true;
  }

  /**
   * Creates `count` running instances from a resolved launch, in account/region `rs`, launched at `nowMs`. Ids,
   * reservation and addresses follow the scenario's seed; `workload` gives them the callers and software of the
   * instances they join (an Auto Scaling group's).
   */
  launchInstances(
    rs: RegionState,
    launch: ResolvedLaunch,
    count: number,
    nowMs: number,
    extra: {
      tags: Record<string, string>;
      workload?: SimWorkload;
      autoScalingGroup?: string;
      launchTemplate?: LaunchTemplateRef & { versionNumber: number };
      launchConfigurationName?: string;
      availabilityZones?: string[];
      detailedMonitoring?: boolean;
      ssmManaged?: boolean;
    },
  ): SimInstance[] {
    const seed = this.scenario.seed;
    const reservationId = `r-${hexId(`r/launch/${rs.account}/${rs.region}/${rs.launched}`, seed, 17)}`;
    const w = extra.workload;
    const azs = extra.availabilityZones?.length ? extra.availabilityZones : ['a', 'b', 'c'].map((z) => rs.region + z);
    const out: SimInstance[] = [];
    for (let k = 0; k < count; k++) {
      const key = `launch/${rs.account}/${rs.region}/${rs.launched++}`;
      let id = `i-${hexId(key, seed, 17)}`;
      for (let n = 1; this.byId.has(id); n++) id = `i-${hexId(`${key}~${n}`, seed, 17)}`;
      const tags: Record<string, string> = { ...w?.tags, ...extra.tags };
      if (extra.autoScalingGroup) tags['aws:autoscaling:groupName'] = extra.autoScalingGroup;
      if (extra.launchTemplate) {
        tags['aws:ec2launchtemplate:id'] = extra.launchTemplate.id;
        tags['aws:ec2launchtemplate:version'] = String(extra.launchTemplate.versionNumber);
      }
      const n = this.byId.size;
      const o = launch.options;
      const inst: SimInstance = {
        id,
        account: rs.account,
        region: rs.region,
        group: w?.group ?? 'launched',
        reservationId,
        tags,
        platform: launch.image.platform,
        instanceType: launch.instanceType,
        imageId: launch.image.id,
        launchTimeMs: nowMs,
        availabilityZone: azs[(rs.launched + k) % azs.length]!,
        privateIp: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        running: true,
        terminated: false,
        options: { ...o },
        appliesAtMs: Number.NEGATIVE_INFINITY,
        history: [
          {
            at: Number.NEGATIVE_INFINITY,
            running: true,
            httpTokens: o.httpTokens,
            httpEndpoint: o.httpEndpoint,
            httpPutResponseHopLimit: o.httpPutResponseHopLimit,
          },
        ],
        callers: w?.callers ?? [],
        ssm: w
          ? { ...w.ssm }
          : {
              managed: extra.ssmManaged ?? false,
              agentVersion: '3.3.1142.0',
              pingStatus: 'Online',
              permitted: true,
              failCommands: false,
            },
        containerHost: w?.containerHost ?? false,
        detailedMonitoring: extra.detailedMonitoring ?? w?.detailedMonitoring ?? false,
        packages: w?.packages ?? [],
        autoScalingGroup: extra.autoScalingGroup,
        launchTemplate: extra.launchTemplate
          ? { id: extra.launchTemplate.id, name: extra.launchTemplate.name, version: extra.launchTemplate.version }
          : undefined,
        launchConfigurationName: extra.launchConfigurationName,
      };
      if (!tags.Name && w) tags.Name = `${w.group}-${id.slice(-6)}`;
      rs.instances.push(inst);
      this.byId.set(id, inst);
      out.push(inst);
    }
    return out;
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
    if (inst.running || inst.terminated) return;
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
      this.mustRegion(img.account, img.region, `image ${img.id}`).images.push({
        id: img.id,
        account: img.account,
        region: img.region,
        name: img.name,
        platform: img.platform,
        imdsSupport: img.imdsSupport,
        owner: img.owner ?? img.account,
        public: img.public,
        ownerAlias: img.ownerAlias,
      });
    }
    for (const p of s.ssmParameters) {
      for (const rs of this.regionStates.values()) {
        if (p.account !== undefined && rs.account !== p.account) continue;
        if (p.regions !== undefined && !p.regions.includes(rs.region)) continue;
        rs.ssmParameters.set(p.name, p.value);
      }
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
        versions: lt.versions.map((v, i) => {
          const data: LaunchTemplateData = { ...v.launchTemplateData };
          if (v.imageId !== undefined) data.ImageId = v.imageId;
          if (v.instanceType !== undefined) data.InstanceType = v.instanceType;
          if (v.metadataOptions) data.MetadataOptions = metadataOptionsData(v.metadataOptions);
          return templateVersion(i + 1, created + i * 86_400_000, data, { description: v.description });
        }),
      });
    }
    for (const lc of s.launchConfigurations) {
      const rs = this.mustRegion(lc.account, lc.region, `launch configuration ${lc.name}`);
      const data: LaunchTemplateData = { ...lc.data, ImageId: lc.imageId, InstanceType: lc.instanceType };
      if (lc.metadataOptions) data.MetadataOptions = metadataOptionsData(lc.metadataOptions);
      rs.launchConfigurations.push(
        launchConfiguration(lc.name, lc.account, lc.region, this.startMs - 400 * 86_400_000, data, s.seed),
      );
    }
    for (const g of s.autoScalingGroups) {
      const rs = this.mustRegion(g.account, g.region, `auto scaling group ${g.name}`);
      const ref = (r: { name: string; version: string }): LaunchTemplateRef => {
        const lt = rs.launchTemplates.find((t) => t.name === r.name);
        if (!lt)
          throw new RangeError(
            `auto scaling group ${g.name}: no launch template ${r.name} in ${g.account}/${g.region}`,
          );
        return { id: lt.id, name: lt.name, version: r.version };
      };
      if (g.launchConfiguration && !rs.launchConfigurations.some((c) => c.name === g.launchConfiguration))
        throw new RangeError(`auto scaling group ${g.name}: no launch configuration ${g.launchConfiguration}`);
      const mip = g.mixedInstancesPolicy;
      rs.autoScalingGroups.push({
        name: g.name,
        account: g.account,
        region: g.region,
        arn: autoScalingGroupArn(g.account, g.region, g.name, s.seed),
        launchTemplate: g.launchTemplate ? ref(g.launchTemplate) : undefined,
        launchConfigurationName: g.launchConfiguration,
        mixedInstancesPolicy: mip
          ? {
              launchTemplate: ref(mip.launchTemplate),
              overrides: mip.overrides.map((o) => ({
                instanceType: o.instanceType,
                weightedCapacity: o.weightedCapacity,
                launchTemplate: o.launchTemplate ? ref(o.launchTemplate) : undefined,
              })),
              instancesDistribution: mip.instancesDistribution,
            }
          : undefined,
        minSize: g.minSize,
        maxSize: g.maxSize,
        desiredCapacity: g.desiredCapacity ?? -1,
        createdMs: this.startMs - 190 * 86_400_000,
        tags: { ...g.tags },
        healthCheckGracePeriod: g.healthCheckGracePeriod,
        defaultInstanceWarmup: g.defaultInstanceWarmup,
        availabilityZones: ['a', 'b', 'c'].map((z) => g.region + z),
        activities: [],
        refreshes: [],
      });
    }
  }

  /** Groups without a scenario `desiredCapacity` keep the number of their running instances. */
  private settleDesiredCapacities(): void {
    for (const rs of this.regionStates.values()) {
      for (const g of rs.autoScalingGroups) {
        if (g.desiredCapacity >= 0) continue;
        g.desiredCapacity = rs.instances.filter((i) => i.autoScalingGroup === g.name && i.running).length;
      }
    }
  }

  private generateGroup(g: ScenarioInstanceGroup): void {
    const s = this.scenario;
    const rs = this.mustRegion(g.account, g.region, `instance group ${g.name}`);
    const asg = g.autoScalingGroup ? rs.autoScalingGroups.find((a) => a.name === g.autoScalingGroup) : undefined;
    if (g.autoScalingGroup && !asg)
      throw new RangeError(`instance group ${g.name}: no auto scaling group ${g.autoScalingGroup}`);
    // The instances' launch source: the group's own template, else their Auto Scaling group's source.
    const ltName =
      g.launchTemplate?.name ?? asg?.launchTemplate?.name ?? asg?.mixedInstancesPolicy?.launchTemplate.name;
    const lt = ltName !== undefined ? rs.launchTemplates.find((t) => t.name === ltName) : undefined;
    if (ltName !== undefined && !lt) throw new RangeError(`instance group ${g.name}: no launch template ${ltName}`);
    const asgRef = asg?.launchTemplate ?? asg?.mixedInstancesPolicy?.launchTemplate;
    const version = asgRef?.name === ltName && asgRef ? asgRef.version : (g.launchTemplate?.version ?? '$Default');
    const ltRef = lt ? { id: lt.id, name: lt.name, version } : undefined;
    const ltVersion = lt ? resolveLaunchTemplateVersion(lt, version) : undefined;
    const lc =
      !lt && asg?.launchConfigurationName
        ? rs.launchConfigurations.find((c) => c.name === asg.launchConfigurationName)
        : undefined;
    const lcView = lc ? launchConfigurationView(lc) : undefined;
    const templateImage = lcView?.imageId ?? ltVersion?.imageId;
    const imageId =
      g.imageId ??
      (templateImage !== undefined && !templateImage.startsWith('resolve:ssm:')
        ? templateImage
        : templateImage !== undefined
          ? this.ssmParameter(g.account, g.region, templateImage.replace(/^resolve:ssm:/, ''))
          : undefined) ??
      rs.images.find((i) => i.platform === g.platform)?.id ??
      `ami-${hexId(`ami/${g.platform}`, s.seed, 17)}`;
    const image = this.visibleImage(g.account, g.region, imageId);
    const { options } = resolveLaunchOptions({
      request: stripUndefined(g.metadataOptions),
      template: lcView ? lcView.metadataOptions : ltVersion?.metadataOptions,
      templateSource: lcView ? 'launch-configuration' : 'launch-template',
      defaults: rs.defaults,
      image,
    });
    const instanceType = ltVersion?.instanceType ?? lcView?.instanceType ?? g.instanceType;
    const callers = g.callers.map((c) => toSimCaller(c, this.startMs));
    const subsets = new Map<string, SimCaller[]>();
    const launchTimeMs = resolveTimeRef(g.launchedAt, this.startMs);
    const tags = { ...g.tags };
    if (asg) tags['aws:autoscaling:groupName'] = asg.name;
    if (ltRef) {
      tags['aws:ec2launchtemplate:id'] = ltRef.id;
      tags['aws:ec2launchtemplate:version'] = String(ltVersion?.versionNumber ?? 1);
    }
    if (asg && !asg.workload)
      asg.workload = {
        group: g.name,
        tags: { ...g.tags },
        platform: g.platform,
        callers,
        packages: g.packages,
        ssm: { ...g.ssm },
        containerHost: g.containerHost,
        detailedMonitoring: g.detailedMonitoring,
      };
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
        launchConfigurationName: lc?.name,
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

/** Scenario metadata options (camelCase) as the API members of MetadataOptions. */
function metadataOptionsData(o: Partial<MetadataOptionValues>): LaunchTemplateData {
  const out: LaunchTemplateData = {};
  if (o.httpTokens !== undefined) out.HttpTokens = o.httpTokens;
  if (o.httpPutResponseHopLimit !== undefined) out.HttpPutResponseHopLimit = o.httpPutResponseHopLimit;
  if (o.httpEndpoint !== undefined) out.HttpEndpoint = o.httpEndpoint;
  if (o.httpProtocolIpv6 !== undefined) out.HttpProtocolIpv6 = o.httpProtocolIpv6;
  if (o.instanceMetadataTags !== undefined) out.InstanceMetadataTags = o.instanceMetadataTags;
  return out;
}

/** The MetadataOptions members of a LaunchTemplateData (or launch configuration) as typed values; absent ones left out. */
export function metadataOptionsOf(data: LaunchTemplateData | undefined): Partial<MetadataOptionValues> | undefined {
  const m = structureMember(data, 'MetadataOptions');
  if (!m) return undefined;
  const out: Partial<MetadataOptionValues> = {};
  const tokens = textMember(m, 'HttpTokens');
  if (tokens === 'optional' || tokens === 'required') out.httpTokens = tokens;
  const hop = textMember(m, 'HttpPutResponseHopLimit');
  if (hop !== undefined && /^\d+$/.test(hop)) out.httpPutResponseHopLimit = Number(hop);
  const ed = (x: string | undefined) => (x === 'enabled' || x === 'disabled' ? x : undefined);
  const endpoint = ed(textMember(m, 'HttpEndpoint'));
  if (endpoint) out.httpEndpoint = endpoint;
  const ipv6 = ed(textMember(m, 'HttpProtocolIpv6'));
  if (ipv6) out.httpProtocolIpv6 = ipv6;
  const mdTags = ed(textMember(m, 'InstanceMetadataTags'));
  if (mdTags) out.instanceMetadataTags = mdTags;
  return out;
}

/** A launch template version from its LaunchTemplateData, with the views the simulator reads made once. */
export function templateVersion(
  versionNumber: number,
  createTimeMs: number,
  data: LaunchTemplateData,
  extra: { description?: string; clientToken?: string; sourceVersion?: number } = {},
): SimLaunchTemplateVersion {
  return {
    versionNumber,
    description: extra.description,
    createTimeMs,
    data,
    imageId: textMember(data, 'ImageId'),
    instanceType: textMember(data, 'InstanceType'),
    metadataOptions: metadataOptionsOf(data),
    clientToken: extra.clientToken,
    sourceVersion: extra.sourceVersion,
  };
}

/**
 * A launch configuration from its members (by API member name), created at `createdMs` (simulated epoch ms), with the
 * ARN DescribeLaunchConfigurations shows (its UUID derived from the seed).
 */
export function launchConfiguration(
  name: string,
  account: string,
  region: string,
  createdMs: number,
  data: LaunchTemplateData,
  seed: number,
): SimLaunchConfiguration {
  const uuid = uuidFrom(`lc/${account}/${region}/${name}/${createdMs}`, seed);
  return {
    name,
    account,
    region,
    arn: `arn:${partitionOfRegion(region) ?? 'aws'}:autoscaling:${region}:${account}:launchConfiguration:${uuid}:launchConfigurationName/${name}`,
    createdMs,
    data,
  };
}

/** The launch parameters of a launch configuration that a launch uses. */
export function launchConfigurationView(lc: SimLaunchConfiguration): {
  imageId: string;
  instanceType?: string;
  metadataOptions?: Partial<MetadataOptionValues>;
} {
  return {
    imageId: textMember(lc.data, 'ImageId') ?? '',
    instanceType: textMember(lc.data, 'InstanceType'),
    metadataOptions: metadataOptionsOf(lc.data),
  };
}

/** An Auto Scaling group's ARN (the UUID derived from the seed). */
export function autoScalingGroupArn(account: string, region: string, name: string, seed: number): string {
  return `arn:${partitionOfRegion(region) ?? 'aws'}:autoscaling:${region}:${account}:autoScalingGroup:${uuidFrom(`asg/${account}/${region}/${name}`, seed)}:autoScalingGroupName/${name}`;
}

/** A UUID-shaped id derived from a key. */
export function uuidFrom(key: string, seed: number): string {
  const h = hexId(key, seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
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
